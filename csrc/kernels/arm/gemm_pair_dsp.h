// Arm DSP GEMM, Cortex-M4: 3 pixels x 2 channels over weights unpacked per
// channel pair (pair3_*). Part of gemm_dsp.h (see there for the design and
// the exactness argument); include that, not this.
//
// Why: the P-pixel x 1-channel blocks (gemm_pxn_dsp.h) load one unpacked
// activation word per SMLAD -- at 1.25 cycles a word (LDM) the M4 spends 31
// cycles per 24 MACs. Two channels share every activation word, but holding
// two channels' weight words and their four unpacked halves leaves the M4's
// 14 registers one short for two weight-row pointers. So the pair's two rows
// are unpacked ONCE into int16 words (we0, wo0, we1, wo1 per depth group, in
// the plan's unpacking scratch, free while the pixels sit in the stack
// buffer) and then read with one LDM per group for every 3-pixel block of
// many pixels: per 4 depths one LDM of the 4 weight words, three LDRD of the
// pixels' words and 12 SMLAD -- 26 cycles per 24 MACs, the output stage per
// 6 outputs. Unpacking a pair costs about 7 cycles a depth group, so the
// path pays when a block holds at least kPairMinPixels pixels (the M4's
// 24 KiB stack buffer holds 12 at K = 960, kGemmStackUnpackedBytes).
//
// The Cortex-M7 keeps the P-pixel blocks: its LDR-per-SMLAD schedule is
// already bound by its one MAC pipe (13 cycles per 24 MACs), and LDM / LDRD
// issue alone there.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/gemm_px_dsp.h"
#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"

#if TINYOPS_ARM_DSP && !defined(TINYOPS_CORTEX_M7)
#define TINYOPS_ARM_GEMM_PAIRS 1
namespace tinyops {
namespace arm_kernels {

// Pixels a block of the pair path needs at least (multiples of 3).
constexpr int32_t kPairMinPixels = 9;

// The pair's two weight rows (K int8 at r0 and r1) as int16 words, 4 a depth
// group: even16 / odd16 of row 0's word, then of row 1's; depths past K zero.
// Two depth groups a step: LDR (any alignment), SXTB16 and one STM of the
// four words each (GCC's loop stored them one by one).
inline void unpack_pair_groups(const int8_t* r0, const int8_t* r1, int32_t* pw, int32_t steps) {
  // STM stores in register-number order: the four words in r0-r3.
  register int32_t t0 __asm__("r0");
  register int32_t t1 __asm__("r1");
  register int32_t t2 __asm__("r2");
  register int32_t t3 __asm__("r3");
  int32_t a, b;
  __asm__ volatile(
      "1:\n\t"
      "ldr    %[a], [%[r0]], #4\n\t"
      "ldr    %[b], [%[r1]], #4\n\t"
      "sxtb16 %[t0], %[a]\n\t"
      "sxtb16 %[t1], %[a], ror #8\n\t"
      "sxtb16 %[t2], %[b]\n\t"
      "sxtb16 %[t3], %[b], ror #8\n\t"
      "ldr    %[a], [%[r0]], #4\n\t"
      "ldr    %[b], [%[r1]], #4\n\t"
      "stmia  %[pw]!, {r0-r3}\n\t"
      "sxtb16 %[t0], %[a]\n\t"
      "sxtb16 %[t1], %[a], ror #8\n\t"
      "sxtb16 %[t2], %[b]\n\t"
      "sxtb16 %[t3], %[b], ror #8\n\t"
      "stmia  %[pw]!, {r0-r3}\n\t"
      "subs   %[n], %[n], #1\n\t"
      "bne    1b\n\t"
      : [r0] "+r"(r0), [r1] "+r"(r1), [pw] "+r"(pw), [n] "+r"(steps), [a] "=&r"(a), [b] "=&r"(b),
        [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
      :
      : "cc", "memory");
}

// One depth group's four words from the two rows' int8 words a and b.
TINYOPS_ARM_INLINE void store_pair_group(int32_t* pw, uint32_t a, uint32_t b) {
  pw[0] = arm_dsp::even16(a);
  pw[1] = arm_dsp::odd16(a);
  pw[2] = arm_dsp::even16(b);
  pw[3] = arm_dsp::odd16(b);
}

inline void unpack_pair(const int8_t* r0, const int8_t* r1, int32_t K, int32_t* pw) {
  const int32_t full = K >> 2, rem = K & 3;
  int32_t g = 0;
  if (full >= 2) {
    g = full & ~1;
    unpack_pair_groups(r0, r1, pw, g >> 1);
    pw += 4 * g;
  }
  for (; g < full; ++g, pw += 4) {
    store_pair_group(pw, arm_dsp::load4(r0 + 4 * g), arm_dsp::load4(r1 + 4 * g));
  }
  if (rem) store_pair_group(pw, partial_word(r0 + 4 * full, rem), partial_word(r1 + 4 * full, rem));
}

// One call: every 3-pixel block of a pixel block x one channel pair. The
// assembly copies it to its stack frame (the same offsets from sp).
struct PairFrame {
  const int32_t* xb;     // +0: the first 3-pixel block (expand_pixels, P = 3); the rest follow
  const int32_t* xend;   // +4: end of the last 3-pixel block
  const int32_t* pw;     // +8: the pair's unpacked weights (unpack_pair)
  const int32_t* pwend;  // +12: pw + 4 words a depth group
  const OutConst* oc;    // +16: the pair's first channel's constants (the second's follow)
  int32_t be0;           // +20: the pair's biases
  int32_t be1;           // +24
  int8_t* const* ob;     // +28: the block's pixels' outputs, 3 a 3-pixel block (a cursor)
  int32_t ch;            // +32: the pair's first channel, as an offset from ob[p]
  int32_t add;           // +36: act_min + 128 (kOutRange)
};
static_assert(sizeof(PairFrame) == 40, "offsets in TINYOPS_PAIR_FN");

// Registers: r0-r2 channel 0's pixels 0-2, r3-r5 channel 1's, r6 / r7 a
// pixel's two words, r8-r11 the group's weight words, ip the pixels, lr the
// weights.
#define TINYOPS_PAIR_PIXEL(a, b)            \
  "ldrd   r6, r7, [ip], #8\n\t"             \
  "smlad  " a ", r6, r8, " a "\n\t"         \
  "smlad  " a ", r7, r9, " a "\n\t"         \
  "smlad  " b ", r6, r10, " b "\n\t"        \
  "smlad  " b ", r7, r11, " b "\n\t"
#define TINYOPS_PAIR_GROUP                                                       \
  "ldmia  lr!, {r8-r11}\n\t" TINYOPS_PAIR_PIXEL("r0", "r3") TINYOPS_PAIR_PIXEL( \
      "r1", "r4") TINYOPS_PAIR_PIXEL("r2", "r5")
// The first group starts pixels 2 and 1 from the biases in r0 / r3, then
// pixel 0 adds to them: no copies of the biases.
#define TINYOPS_PAIR_FROM_BIAS(X, a, b)       \
  "ldrd   r6, r7, [ip, #" X "]\n\t"           \
  "smlad  " a ", r6, r8, r0\n\t"              \
  "smlad  " a ", r7, r9, " a "\n\t"           \
  "smlad  " b ", r6, r10, r3\n\t"             \
  "smlad  " b ", r7, r11, " b "\n\t"
#define TINYOPS_PAIR_FIRST                                                       \
  "ldmia  lr!, {r8-r11}\n\t" TINYOPS_PAIR_FROM_BIAS("16", "r2", "r5")            \
      TINYOPS_PAIR_FROM_BIAS("8", "r1", "r4") "ldrd   r6, r7, [ip], #24\n\t"      \
  "smlad  r0, r6, r8, r0\n\t"                                                    \
  "smlad  r0, r7, r9, r0\n\t"                                                    \
  "smlad  r3, r6, r10, r3\n\t"                                                   \
  "smlad  r3, r7, r11, r3\n\t"
#define TINYOPS_PAIR_GROUP4 TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP
#define TINYOPS_PAIR_PRE0 ""
#define TINYOPS_PAIR_PRE1 TINYOPS_PAIR_GROUP
#define TINYOPS_PAIR_PRE2 TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP
#define TINYOPS_PAIR_PRE3 TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP TINYOPS_PAIR_GROUP
// Output stage (output_stage.h's out_apply) of three accumulators with the
// constants in r6 (m2), r7 (round), r8 (shift), r9 (sub) and add in r11.
#define TINYOPS_PAIR_EACH3(OP, a, b, c) OP(a) OP(b) OP(c)
#define TINYOPS_PAIR_SMMLAR(a) "smmlar " a ", " a ", r6, " a "\n\t"
#define TINYOPS_PAIR_SIGN(a) "add    " a ", " a ", " a ", asr #31\n\t"
#define TINYOPS_PAIR_QADD(a) "qadd   " a ", " a ", r7\n\t"
#define TINYOPS_PAIR_SHIFT(a) "asr    " a ", " a ", r8\n\t"
#define TINYOPS_PAIR_SUB(a) "sub    " a ", " a ", r9\n\t"
#define TINYOPS_PAIR_SSAT(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_PAIR_ADD(a) "add    " a ", " a ", r11\n\t"
#define TINYOPS_PAIR_REQ(a, b, c)                                                   \
  TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SMMLAR, a, b, c)                                  \
  TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SIGN, a, b, c)                                    \
  TINYOPS_PAIR_EACH3(TINYOPS_PAIR_QADD, a, b, c) TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SHIFT, a, b, c)
#define TINYOPS_PAIR_OUT_HIGH(a, b, c) \
  TINYOPS_PAIR_REQ(a, b, c)            \
  TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SUB, a, b, c) TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SSAT, a, b, c)
#define TINYOPS_PAIR_OUT_RANGE(a, b, c) \
  TINYOPS_PAIR_OUT_HIGH(a, b, c) TINYOPS_PAIR_EACH3(TINYOPS_PAIR_ADD, a, b, c)
#define TINYOPS_PAIR_OUT_PLAIN(a, b, c) \
  TINYOPS_PAIR_REQ(a, b, c) TINYOPS_PAIR_EACH3(TINYOPS_PAIR_SSAT, a, b, c)
// kOutRange's act_min + 128, into r11.
#define TINYOPS_PAIR_ADDLD_high ""
#define TINYOPS_PAIR_ADDLD_plain ""
#define TINYOPS_PAIR_ADDLD_range "ldr    r11, [sp, #36]\n\t"
// PRE: (groups - 1) % 4 groups after the first, before the loop of four
// groups. Naked (the body is all assembly): the frame pointer arrives in r0
// (AAPCS) and is copied to the stack frame, whose ob is the cursor.
#define TINYOPS_PAIR_FN(NAME, PRE, KIND, OUT)                                    \
  __attribute__((naked, noinline)) inline void NAME(const PairFrame*) {         \
    __asm__ volatile(                                                            \
        "push   {r4-r11, lr}\n\t"                                                \
        "sub    sp, sp, #40\n\t"                                                 \
        "ldmia  r0, {r1-r10}\n\t"                                                \
        "stmia  sp, {r1-r10}\n\t"                                                \
        "mov    ip, r1\n\t"                                                      \
        "3:\n\t"                                                                 \
        "ldr    lr, [sp, #8]\n\t"                                                \
        "ldrd   r0, r3, [sp, #20]\n\t" TINYOPS_PAIR_FIRST PRE                    \
        "ldr    r6, [sp, #12]\n\t"                                               \
        "cmp    lr, r6\n\t"                                                      \
        "beq    2f\n\t"                                                          \
        "1:\n\t" TINYOPS_PAIR_GROUP4                                             \
        "ldr    r6, [sp, #12]\n\t"                                               \
        "cmp    lr, r6\n\t"                                                      \
        "bne    1b\n\t"                                                          \
        "2:\n\t"                                                                 \
        "ldr    lr, [sp, #16]\n\t" TINYOPS_PAIR_ADDLD_##KIND                     \
        "ldmia  lr!, {r6-r9}\n\t" OUT("r0", "r1", "r2")                          \
        "ldmia  lr, {r6-r9}\n\t" OUT("r3", "r4", "r5")                           \
        "ldr    lr, [sp, #28]\n\t"                                               \
        "ldmia  lr!, {r6-r8}\n\t"                                                \
        "str    lr, [sp, #28]\n\t"                                               \
        "ldr    r9, [sp, #32]\n\t"                                               \
        "add    r6, r6, r9\n\t"                                                  \
        "add    r7, r7, r9\n\t"                                                  \
        "add    r8, r8, r9\n\t"                                                  \
        "strb   r0, [r6]\n\t"                                                    \
        "strb   r3, [r6, #1]\n\t"                                                \
        "strb   r1, [r7]\n\t"                                                    \
        "strb   r4, [r7, #1]\n\t"                                                \
        "strb   r2, [r8]\n\t"                                                    \
        "strb   r5, [r8, #1]\n\t"                                                \
        "ldr    r6, [sp, #4]\n\t"                                                \
        "cmp    ip, r6\n\t"                                                      \
        "bne    3b\n\t"                                                          \
        "add    sp, sp, #40\n\t"                                                 \
        "pop    {r4-r11, pc}\n\t");                                              \
  }
#define TINYOPS_PAIR_FNS(KIND, OUT)                                   \
  TINYOPS_PAIR_FN(pair3_##KIND##_0, TINYOPS_PAIR_PRE0, KIND, OUT)     \
  TINYOPS_PAIR_FN(pair3_##KIND##_1, TINYOPS_PAIR_PRE1, KIND, OUT)     \
  TINYOPS_PAIR_FN(pair3_##KIND##_2, TINYOPS_PAIR_PRE2, KIND, OUT)     \
  TINYOPS_PAIR_FN(pair3_##KIND##_3, TINYOPS_PAIR_PRE3, KIND, OUT)     \
  /* By (groups - 1) % 4. */                                          \
  inline void pair3_##KIND(int32_t pre, const PairFrame* f) {         \
    switch (pre) {                                                    \
      case 0: pair3_##KIND##_0(f); break;                             \
      case 1: pair3_##KIND##_1(f); break;                             \
      case 2: pair3_##KIND##_2(f); break;                             \
      default: pair3_##KIND##_3(f); break;                            \
    }                                                                 \
  }
TINYOPS_PAIR_FNS(high, TINYOPS_PAIR_OUT_HIGH)
TINYOPS_PAIR_FNS(range, TINYOPS_PAIR_OUT_RANGE)
TINYOPS_PAIR_FNS(plain, TINYOPS_PAIR_OUT_PLAIN)

template <int kKind>
inline void pair3(int32_t pre, const PairFrame* f) {
  if (kKind == kOutHigh) {
    pair3_high(pre, f);
  } else if (kKind == kOutRange) {
    pair3_range(pre, f);
  } else {
    pair3_plain(pre, f);
  }
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP && !TINYOPS_CORTEX_M7
