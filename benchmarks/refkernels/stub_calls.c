/* Kernel layer of the harness's self-test (no CMSIS-NN needed): plain C
 * kernels of our own, a dot-product "fully connected" and an int8 add, so a
 * test can check the build, the markers, the kernel trampolines and the fit
 * without a CMSIS-NN checkout. stub_kernels.c holds the kernels themselves
 * (a separate object, so the link-time trampolines see the calls). */
#include "bench.h"

int32_t stub_fc_s8(const int8_t* in, const int8_t* w, const int32_t* bias, int8_t* out,
                   int32_t depth, int32_t units);
int32_t stub_add_s8(const int8_t* a, const int8_t* b, int8_t* out, int32_t n);

int32_t bench_scratch_bytes(const bench_shape* s) {
  (void)s;
  return 0;
}

int32_t bench_run(uint32_t index, const bench_shape* s, const bench_buffers* b) {
  int32_t st = -1;
  const int32_t n = (int32_t)s->ih * s->iw * s->ic;
  switch (s->kind) {
    case BENCH_FC:
      tinyops_op_marker(2 * index);
      st = stub_fc_s8(b->in, b->filter, b->bias, b->out, s->ic, s->oc);
      tinyops_op_marker(2 * index + 1);
      break;
    case BENCH_ADD:
      tinyops_op_marker(2 * index);
      st = stub_add_s8(b->in, b->in2, b->out, n);
      tinyops_op_marker(2 * index + 1);
      break;
    default: break;
  }
  return st;
}
