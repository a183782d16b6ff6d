// Arm DSP GEMM, 1 pixel x 2 or 3 channels (fc_pair, fc3_*): FULLY_CONNECTED
// and single-pixel 1x1 convolutions. Part of gemm_dsp.h (see there for the
// design and the exactness argument); include that, not this.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/gemm_px_dsp.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#ifndef TINYOPS_ARM_INLINE
#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))
#endif

// ---------------------------------------------------------------------------
// 1 pixel x 2 channels (rows w0, w1), 8 depths a step: the pixel's four
// unpacked words with one LDM (fixed registers r0-r3, as LDM needs ascending
// registers), each row's two weight words with one LDRD (kAligned: rows
// word-aligned) or two LDR.
#define TINYOPS_FC_ROW_LD_A(w) "ldrd   %[wa], %[wb], [%[" #w "]], #8\n\t"
#define TINYOPS_FC_ROW_LD_U(w) \
  "ldr    %[wb], [%[" #w "], #4]\n\t" \
  "ldr    %[wa], [%[" #w "]], #8\n\t"
#define TINYOPS_FC_ROW_MAC(acc)                      \
  "sxtb16 %[t], %[wa]\n\t"                           \
  "smlad  %[" #acc "], %[x0], %[t], %[" #acc "]\n\t" \
  "sxtb16 %[wa], %[wa], ror #8\n\t"                  \
  "smlad  %[" #acc "], %[x1], %[wa], %[" #acc "]\n\t" \
  "sxtb16 %[t], %[wb]\n\t"                           \
  "smlad  %[" #acc "], %[x2], %[t], %[" #acc "]\n\t" \
  "sxtb16 %[wb], %[wb], ror #8\n\t"                  \
  "smlad  %[" #acc "], %[x3], %[wb], %[" #acc "]\n\t"
#define TINYOPS_FC_STEP(LD)                      \
  "ldmia  %[xp]!, {%[x0], %[x1], %[x2], %[x3]}\n\t" \
  LD(w0) TINYOPS_FC_ROW_MAC(a0) LD(w1) TINYOPS_FC_ROW_MAC(a1)

#define TINYOPS_FC_OPERANDS                                                                   \
  [a0] "+r"(a0), [a1] "+r"(a1), [xp] "+r"(xp), [w0] "+r"(w0), [w1] "+r"(w1), [x0] "=&r"(x0), \
      [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [wa] "=&r"(wa), [wb] "=&r"(wb),       \
      [t] "=&r"(t)

// r[0] += x . w0, r[1] += x . w1 over `pairs` pairs of depth groups from xp,
// 64 depths a loop iteration. Out of line: its 13 live registers (4 of them
// fixed) leave the allocator no room inside a caller.
#define TINYOPS_FC_LOOP(LD)                                                                    \
  __asm__ volatile(".p2align 2\n\t"                                                            \
                   "1:\n\t" TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD)        \
                       TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD)             \
                           TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD)                             \
                   "cmp    %[xp], %[xend]\n\t"                                                \
                   "bne    1b\n\t"                                                            \
                   : TINYOPS_FC_OPERANDS                                                       \
                   : [xend] "r"(xend8)                                                         \
                   : "cc", "memory")
template <bool kAligned>
__attribute__((noinline)) void fc_pair(const int32_t* xp, const int8_t* w0, const int8_t* w1,
                                       int32_t pairs, int32_t* r) {
  register int32_t x0 __asm__("r0");
  register int32_t x1 __asm__("r1");
  register int32_t x2 __asm__("r2");
  register int32_t x3 __asm__("r3");
  int32_t a0 = r[0], a1 = r[1];
  int32_t wa, wb, t;
  const int32_t* xend8 = xp + 32 * (pairs >> 3);
  if (xp != xend8) {
    if (kAligned) {
      TINYOPS_FC_LOOP(TINYOPS_FC_ROW_LD_A);
    } else {
      TINYOPS_FC_LOOP(TINYOPS_FC_ROW_LD_U);
    }
  }
  for (int32_t k = pairs & 7; k > 0; --k) {
    if (kAligned) {
      __asm__ volatile(TINYOPS_FC_STEP(TINYOPS_FC_ROW_LD_A) : TINYOPS_FC_OPERANDS : : "memory");
    } else {
      __asm__ volatile(TINYOPS_FC_STEP(TINYOPS_FC_ROW_LD_U) : TINYOPS_FC_OPERANDS : : "memory");
    }
  }
  r[0] = a0;
  r[1] = a1;
}

// ---------------------------------------------------------------------------
// 1 pixel x 3 channels with the output stage, K a multiple of 8 and rows
// word-aligned: the whole channel loop of a block in one naked assembly
// function (as pxN_*). Per 8 depths one LDM of the pixel's four unpacked words
// serves three rows (LDRD + 4 SXTB16 + 4 SMLAD each): 28 instructions for 24
// MACs, against 19 for 16 with two rows; the three output stages, the bias
// LDM and the pointer updates cost about 13 instructions a channel, where the
// C++ loop around fc_pair took about 60. Registers: r0-r3 the LDM targets
// (then a channel's 4 output-stage constants), r4-r6 the accumulators, r7-r9
// the three rows, r10/r11 the row's two weight words, ip a temporary, lr the
// activations; the rest lives in a stack copy of Fc3Frame.
struct Fc3Frame {
  const int32_t* xb;     // +0: the unpacked pixel
  const int32_t* xend8;  // +4: end of its whole 64-depth iterations
  const int32_t* xend;   // +8: end of the pixel (K / 8 steps of 4 words)
  const int8_t* w;       // +12: channel 0's row
  int32_t K;             // +16: bytes between rows
  const int32_t* be;     // +20: channel 0's bias
  const OutConst* oc;    // +24: channel 0's output-stage constants
  int8_t* o;             // +28: channel 0's output
  int8_t* oend;          // +32: o + the channels (a multiple of 3)
  int32_t add;           // +36: act_min + 128 (kOutRange)
};
// Each SXTB16 but the first is followed by an SMLAD of an earlier result: the
// M7 issues the two together.
#define TINYOPS_FC3_ROW(W, A)        \
  "ldrd   r10, r11, [" W "], #8\n\t" \
  "sxtb16 ip, r10\n\t"               \
  "sxtb16 r10, r10, ror #8\n\t"      \
  "smlad  " A ", r0, ip, " A "\n\t"  \
  "sxtb16 ip, r11\n\t"               \
  "smlad  " A ", r1, r10, " A "\n\t" \
  "sxtb16 r11, r11, ror #8\n\t"      \
  "smlad  " A ", r2, ip, " A "\n\t"  \
  "smlad  " A ", r3, r11, " A "\n\t"
#define TINYOPS_FC3_STEP                                                        \
  "ldmia  lr!, {r0-r3}\n\t" TINYOPS_FC3_ROW("r7", "r4") TINYOPS_FC3_ROW("r8", "r5") \
      TINYOPS_FC3_ROW("r9", "r6")
#define TINYOPS_FC3_STEP2 TINYOPS_FC3_STEP TINYOPS_FC3_STEP
#define TINYOPS_FC3_STEP8 TINYOPS_FC3_STEP2 TINYOPS_FC3_STEP2 TINYOPS_FC3_STEP2 TINYOPS_FC3_STEP2
// Output stage (output_stage.h's out_apply) of accumulator a from r0-r3.
#define TINYOPS_FC3_REQ(a)          \
  "smmlar " a ", " a ", r0, " a "\n\t" \
  "add    " a ", " a ", " a ", asr #31\n\t" \
  "qadd   " a ", " a ", r1\n\t"     \
  "asr    " a ", " a ", r2\n\t"
#define TINYOPS_FC3_HIGH(a) TINYOPS_FC3_REQ(a) "sub    " a ", " a ", r3\n\t" \
  "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_FC3_PLAIN(a) TINYOPS_FC3_REQ(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_FC3_OUT(OP)                                   \
  "ldr    lr, [sp, #24]\n\t"                                  \
  "ldmia  lr!, {r0-r3}\n\t" OP("r4")                          \
  "ldmia  lr!, {r0-r3}\n\t" OP("r5")                          \
  "ldmia  lr!, {r0-r3}\n\t" OP("r6")                          \
  "str    lr, [sp, #24]\n\t"
#define TINYOPS_FC3_OUT_HIGH TINYOPS_FC3_OUT(TINYOPS_FC3_HIGH)
#define TINYOPS_FC3_OUT_PLAIN TINYOPS_FC3_OUT(TINYOPS_FC3_PLAIN)
#define TINYOPS_FC3_OUT_RANGE                                                  \
  TINYOPS_FC3_OUT(TINYOPS_FC3_HIGH)                                            \
  "ldr    r0, [sp, #36]\n\t"                                                  \
  "add    r4, r4, r0\n\t"                                                     \
  "add    r5, r5, r0\n\t"                                                     \
  "add    r6, r6, r0\n\t"
#define TINYOPS_FC3_FN(NAME, OUT)                                               \
  __attribute__((naked, noinline)) inline void NAME(const Fc3Frame*) {         \
    __asm__ volatile(                                                           \
        "push   {r4-r11, lr}\n\t"                                               \
        "sub    sp, sp, #40\n\t"                                                \
        "ldmia  r0!, {r1-r5}\n\t"                                               \
        "stmia  sp, {r1-r5}\n\t"                                                \
        "ldmia  r0, {r1-r5}\n\t"                                                \
        "add    r6, sp, #20\n\t"                                                \
        "stmia  r6, {r1-r5}\n\t"                                                \
        "ldr    r7, [sp, #12]\n\t"                                              \
        "ldr    ip, [sp, #16]\n\t"                                              \
        "add    r8, r7, ip\n\t"                                                 \
        "add    r9, r8, ip\n\t"                                                 \
        ".p2align 2\n\t3:\n\t"                                                  \
        "ldr    r10, [sp, #20]\n\t"                                             \
        "ldmia  r10!, {r4-r6}\n\t"                                              \
        "str    r10, [sp, #20]\n\t"                                             \
        "ldr    lr, [sp, #0]\n\t"                                               \
        "ldr    ip, [sp, #4]\n\t"                                               \
        "cmp    lr, ip\n\t"                                                     \
        "beq    2f\n\t"                                                         \
        ".p2align 2\n\t1:\n\t" TINYOPS_FC3_STEP8                                \
        "ldr    ip, [sp, #4]\n\t"                                               \
        "cmp    lr, ip\n\t"                                                     \
        "bne    1b\n\t"                                                         \
        "2:\n\t"                                                                \
        "ldr    ip, [sp, #8]\n\t"                                               \
        "cmp    lr, ip\n\t"                                                     \
        "beq    4f\n\t"                                                         \
        "5:\n\t" TINYOPS_FC3_STEP                                               \
        "ldr    ip, [sp, #8]\n\t"                                               \
        "cmp    lr, ip\n\t"                                                     \
        "bne    5b\n\t"                                                         \
        "4:\n\t" OUT                                                            \
        "ldr    r10, [sp, #28]\n\t"                                             \
        "strb   r4, [r10], #1\n\t"                                              \
        "strb   r5, [r10], #1\n\t"                                              \
        "strb   r6, [r10], #1\n\t"                                              \
        "str    r10, [sp, #28]\n\t"                                             \
        /* the rows advanced K bytes: r9 is the next triple's first */          \
        "ldr    ip, [sp, #16]\n\t"                                              \
        "mov    r7, r9\n\t"                                                     \
        "add    r8, r9, ip\n\t"                                                 \
        "add    r9, r8, ip\n\t"                                                 \
        "ldr    ip, [sp, #32]\n\t"                                              \
        "cmp    r10, ip\n\t"                                                    \
        "bne    3b\n\t"                                                         \
        "add    sp, sp, #40\n\t"                                                \
        "pop    {r4-r11, pc}\n\t");                                             \
  }
TINYOPS_FC3_FN(fc3_high, TINYOPS_FC3_OUT_HIGH)
TINYOPS_FC3_FN(fc3_range, TINYOPS_FC3_OUT_RANGE)
TINYOPS_FC3_FN(fc3_plain, TINYOPS_FC3_OUT_PLAIN)
static_assert(sizeof(Fc3Frame) == 40, "offsets in TINYOPS_FC3_FN");

// One depth group of unpacked activations (xp[0], xp[1]) against weight word
// v: acc + the four products.
TINYOPS_ARM_INLINE int32_t group_mac(const int32_t* xp, uint32_t v, int32_t acc) {
  using namespace arm_dsp;
  acc = __smlad(xp[0], even16(v), acc);
  return __smlad(xp[1], odd16(v), acc);
}

// acc[i] = be[i] + x . w_i for the nc rows w_i = w + i * K, two rows at a
// time (a lone last row is paired with itself).
template <bool kAligned>
void fc_rows(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
             int32_t* acc) {
  const int32_t full = K >> 2, rem = K & 3, pairs = full >> 1;
  const int32_t* xt = xb + 4 * pairs;  // the odd group, then the partial one
  for (int32_t i = 0; i < nc; i += 2) {
    const bool pair = i + 1 < nc;
    const int8_t* w0 = w + static_cast<ptrdiff_t>(i) * K;
    const int8_t* w1 = pair ? w0 + K : w0;
    int32_t r[2] = {be[i], pair ? be[i + 1] : 0};
    fc_pair<kAligned>(xb, w0, w1, pairs, r);
    int32_t a0 = r[0], a1 = r[1];
    const int32_t* xp = xt;
    const int8_t* t0 = w0 + 8 * pairs;
    const int8_t* t1 = w1 + 8 * pairs;
    if (full & 1) {
      a0 = group_mac(xp, arm_dsp::load4(t0), a0);
      a1 = group_mac(xp, arm_dsp::load4(t1), a1);
      xp += 2;
      t0 += 4;
      t1 += 4;
    }
    if (rem) {
      a0 = group_mac(xp, partial_word(t0, rem), a0);
      a1 = group_mac(xp, partial_word(t1, rem), a1);
    }
    acc[i] = a0;
    if (pair) acc[i + 1] = a1;
  }
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP

