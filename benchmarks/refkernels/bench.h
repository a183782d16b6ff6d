/* Kernel-cost harness (benchmarks/refkernel_costs.py): what the generic driver
 * (bench_main.c) and a kernel layer (cmsis_calls.c against a user's CMSIS-NN
 * checkout, or stub_calls.c for the self-test) share. Our own code; no
 * CMSIS-NN source is part of this repository. */
#ifndef TINYOPS_BENCH_H
#define TINYOPS_BENCH_H

#include <stdint.h>

enum {
  BENCH_CONV = 0,    /* CONV_2D: arm_convolve_wrapper_s8 */
  BENCH_DW = 1,      /* DEPTHWISE_CONV_2D: arm_depthwise_conv_wrapper_s8 */
  BENCH_FC = 2,      /* FULLY_CONNECTED: arm_fully_connected_s8 */
  BENCH_ADD = 3,     /* ADD, same shapes: arm_elementwise_add_s8 */
  BENCH_MUL = 4,     /* MUL, same shapes: arm_elementwise_mul_s8 */
  BENCH_AVGPOOL = 5, /* AVERAGE_POOL_2D: arm_avgpool_s8 */
};

/* One kernel call. NHWC, batch 1. FC: ic = input features, oc = units.
 * ADD / MUL: ih * iw * ic elements. Padding = the top/left pad TFLM computes
 * for TF 'SAME' (the generator fills it in). */
typedef struct {
  uint8_t kind, kh, kw, sh, sw, ph, pw, pad_;
  uint16_t ih, iw, ic, oh, ow, oc;
} bench_shape;

typedef struct {
  int8_t* in;
  int8_t* in2;
  int8_t* filter;
  int32_t* bias;
  int8_t* out;
  void* scratch;
  int32_t scratch_bytes;
  int32_t* mult; /* per-channel requantization, >= oc entries */
  int32_t* shift;
} bench_buffers;

/* Kernel layer. */
int32_t bench_scratch_bytes(const bench_shape* s);
/* Runs one call; must bracket exactly the kernel call with
 * tinyops_op_marker(2 * index) and tinyops_op_marker(2 * index + 1). */
int32_t bench_run(uint32_t index, const bench_shape* s, const bench_buffers* b);

/* Driver. */
void tinyops_op_marker(uint32_t marker);
/* Bit i set = kernel i of the build's kernel list ran (set by the generated
 * link-time trampolines, cleared before each shape). */
extern volatile uint32_t g_bench_kernels;

#endif
