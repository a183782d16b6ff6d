/* Driver of the kernel-cost harness: a bare-metal, semihosted program for
 * QEMU mps2-an386 / mps2-an500. It fills one arena with pseudo-random bytes,
 * then runs every shape of the generated table (bench_shapes.h) once through
 * the kernel layer, which brackets the kernel call with tinyops_op_marker()
 * (the function the project's QEMU plugin records counters at). Prints one
 * line per shape:  "shape <i> status=<s> kernels=<mask hex>"  and exits with
 * status 0 through semihosting (1 if any call failed).
 *
 * Everything (code excepted) lives in the data RAM at 0x20000000: arena,
 * quantization arrays and the stack, i.e. the boards' internal SRAM. */
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "bench_shapes.h" /* generated: BENCH_NUM_SHAPES, BENCH_ARENA_BYTES, BENCH_MAX_CH, g_shapes */

volatile uint32_t g_bench_kernels;

static uint8_t g_arena[BENCH_ARENA_BYTES] __attribute__((aligned(32)));
static int32_t g_mult[BENCH_MAX_CH];
static int32_t g_shift[BENCH_MAX_CH];

/* ---- semihosting ---------------------------------------------------------- */
static uint32_t semihost(uint32_t op, const void* arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void* r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void put(const char* s) { semihost(0x04 /* SYS_WRITE0 */, s); }

static void put_u32(uint32_t v, int hex) {
  char buf[12];
  char* p = buf + sizeof(buf) - 1;
  *p = 0;
  do {
    uint32_t d = hex ? (v & 15u) : (v % 10u);
    *--p = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v = hex ? (v >> 4) : (v / 10u);
  } while (v);
  put(p);
}

static void put_i32(int32_t v) {
  if (v < 0) {
    put("-");
    put_u32((uint32_t)(-(v + 1)) + 1u, 0);
  } else {
    put_u32((uint32_t)v, 0);
  }
}

static void __attribute__((noreturn)) bench_exit(uint32_t code) {
  const uint32_t args[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, code};
  semihost(0x20 /* SYS_EXIT_EXTENDED */, args);
  for (;;) {
  }
}

/* ---- the marker the QEMU plugin watches ------------------------------------- */
/* A real call the plugin recognises by address: noinline + the asm keep it
 * from being merged or removed (as ports/common/src/op_timing.cc). */
__attribute__((noinline, used)) void tinyops_op_marker(uint32_t marker) {
  __asm volatile("" : : "r"(marker) : "memory");
}

/* ---- buffers ----------------------------------------------------------------- */
static uint32_t align32(uint32_t n) { return (n + 31u) & ~31u; }

/* Carves the shape's tensors out of the arena in TFLM-like order. Returns 0
 * when they do not fit (the generator sizes the arena, so only on a bug). */
static int carve(const bench_shape* s, bench_buffers* b) {
  uint32_t in = 0, in2 = 0, filt = 0, bias = 0, out = 0;
  const uint32_t hw_in = (uint32_t)s->ih * s->iw;
  const uint32_t hw_out = (uint32_t)s->oh * s->ow;
  switch (s->kind) {
    case BENCH_CONV:
      in = hw_in * s->ic;
      filt = (uint32_t)s->oc * s->kh * s->kw * s->ic;
      bias = 4u * s->oc;
      out = hw_out * s->oc;
      break;
    case BENCH_DW:
      in = hw_in * s->ic;
      filt = (uint32_t)s->kh * s->kw * s->oc;
      bias = 4u * s->oc;
      out = hw_out * s->oc;
      break;
    case BENCH_FC:
      in = s->ic;
      filt = (uint32_t)s->ic * s->oc;
      bias = 4u * s->oc;
      out = s->oc;
      break;
    case BENCH_ADD:
    case BENCH_MUL: in = in2 = out = hw_in * s->ic; break;
    case BENCH_AVGPOOL:
      in = hw_in * s->ic;
      out = hw_out * s->oc;
      break;
    default: return 0;
  }
  const int32_t scratch = bench_scratch_bytes(s);
  if (scratch < 0) return 0;
  uint32_t off = 0;
  uint8_t* base = g_arena;
  b->in = (int8_t*)(base + off);
  off += align32(in);
  b->in2 = in2 ? (int8_t*)(base + off) : 0;
  off += align32(in2);
  b->filter = filt ? (int8_t*)(base + off) : 0;
  off += align32(filt);
  b->bias = bias ? (int32_t*)(base + off) : 0;
  off += align32(bias);
  b->out = (int8_t*)(base + off);
  off += align32(out);
  b->scratch = scratch ? (void*)(base + off) : 0;
  off += align32((uint32_t)scratch);
  b->scratch_bytes = scratch;
  b->mult = g_mult;
  b->shift = g_shift;
  return off <= sizeof(g_arena);
}

int main(void) {
  /* Deterministic contents; the kernels' costs do not depend on the values
   * except through rare saturation branches. */
  uint32_t x = 0x12345678u;
  for (uint32_t i = 0; i < sizeof(g_arena); ++i) {
    x = x * 1664525u + 1013904223u;
    g_arena[i] = (uint8_t)(x >> 24);
  }
  for (uint32_t c = 0; c < BENCH_MAX_CH; ++c) {
    g_mult[c] = 1200000000 + (int32_t)(c * 7919u % 800000000u); /* [2^30, 2^31): typical */
    g_shift[c] = -6 - (int32_t)(c % 4u);
  }
  /* Baseline: a marker pair around nothing (the driver subtracts it). */
  tinyops_op_marker(0xFFFFFFF0u);
  tinyops_op_marker(0xFFFFFFF1u);

  uint32_t failed = 0;
  for (uint32_t i = 0; i < BENCH_NUM_SHAPES; ++i) {
    bench_buffers b;
    int32_t status = -100;
    g_bench_kernels = 0;
    if (carve(&g_shapes[i], &b)) status = bench_run(i, &g_shapes[i], &b);
    failed |= (status != 0);
    put("shape ");
    put_u32(i, 0);
    put(" status=");
    put_i32(status);
    put(" kernels=");
    put_u32(g_bench_kernels, 1);
    put("\n");
  }
  put(failed ? "DONE status=1\n" : "DONE status=0\n");
  bench_exit(failed);
}

/* ---- startup ------------------------------------------------------------------ */
extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
void bench_reset(void);

static void bench_fault(void) {
  put("FAULT\n");
  bench_exit(3);
}

__attribute__((section(".vectors"), used)) void (*const g_vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    bench_reset,
    bench_fault,
    bench_fault,
    bench_fault,
    bench_fault,
    bench_fault,
    0,
    0,
    0,
    0,
    bench_fault,
    bench_fault,
    0,
    bench_fault,
    bench_fault,
};

void bench_reset(void) {
  /* FPU on (CPACR CP10/CP11 full access): the hard-float ABI may use it. */
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20;
  __asm volatile("dsb\n isb" ::: "memory");
  uint32_t* src = &__data_load;
  for (uint32_t* dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  bench_exit((uint32_t)main());
}
