// Arm DSP-extension DEPTHWISE_CONV_2D (Cortex-M4 / Cortex-M7) for square
// KH = KW in {3, 5, 7} windows, horizontal stride 1 or 2, any vertical
// stride, no dilation, any channel count and depth multiplier. Private to
// csrc/kernels; depthwise_conv.cc dispatches here (dw_dsp_supported).
//
// Why it is fast: SMLAD multiplies two int16 pairs, so a depthwise tap pair
// needs one channel's inputs at two neighbouring columns in one word. Each
// input row is rearranged ONCE per group of 4 input channels ("unpacked",
// about 1.5 instructions per byte) into column pairs: for padded columns
// (2j, 2j + 1), word c holds channel c's (x[2j], x[2j+1]) as int16. Then,
// for two neighbouring output pixels x, x + 1 of one channel and a kernel
// row w0 .. w(2H) (KW = 2H + 1), stride 1, with P(k) the pair k pairs right:
//   out(x)   = sum_k<H SMLAD(P(k), (w2k, w2k+1))  + SMLABT(P(H), (w2H-1, w2H))
//   out(x+1) = SMLATB(P(0), (w0, w1)) + sum_1<=k<=H SMLAD(P(k), (w2k-1, w2k))
// -- KW + 1 instructions for 2 KW MACs, KW - 1 weight words a row, each input
// word loaded once for both pixels (the overlapping columns are shared).
// Stride 2 pairs columns (2x, 2x + 1):
//   out(x) = sum_k<H SMLAD(P(x + k), (w2k, w2k+1)) + SMLABT(P(x + H), (., w2H)).
// A channel group's weights are packed once per tile; an output row reads KH
// unpacked rows from a ring of KH slots, so an input row is unpacked once
// however many output rows read it.
//
// Exactness (as conv_common.h): taps outside the image read the input zero
// point (x + input_offset = 0), so every pixel accumulates all KH * KW taps:
// acc = bias + input_offset * sum(all weights) + pure int8 products (at most
// 49 of |x * w| <= 2^14), equal to TFLM's sum mod 2^32. The output stage is
// arm/output_stage.h's exact form, or TFLM's generic one.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/depthwise_ring_dsp.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#ifndef TINYOPS_ARM_INLINE
#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))
#endif

// ---------------------------------------------------------------------------
// 3x3 windows (the common case): the 4-pixel channel step in assembly, the
// whole channel loop of one step in one call. Per channel at stride 1: the
// bias, per kernel row three pair words, the row's two weight words (LDRD)
// and 8 MACs, then the output stage of the 4 pixels and 4 byte stores -- 72
// instructions for 36 MACs. Stride 2 streams the row's five pair words
// through two registers. The compiler allocates the 14 registers only out of
// line; a lone call per 4 pixels x up to 16 channels.
// Ring word offsets past q, which the first load (pair 0, slot 0) has
// already moved to the next channel (post-indexed): one ADD a channel fewer.
#define TINYOPS_DW_OFF(j, s) "#((" #j "*3+" #s ")*64-4)"
#define TINYOPS_DW_LDQ0_0 "ldr    %[x0], [%[q]], #4\n\t"
#define TINYOPS_DW_LDQ0_1 "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, 1) "]\n\t"
#define TINYOPS_DW_LDQ0_2 "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, 2) "]\n\t"
#define TINYOPS_DW_LDQ0(s) TINYOPS_DW_LDQ0_##s
// A kernel row's first loads: pair 0 (the post-indexed load in row 0), the
// row's weights (WLD) and the other pairs (LOADS). The M4 chains its LDRs
// (an LDR after an LDR takes a cycle), the M7 puts the weights between the
// post-indexed load and the next load from its updated pointer.
#if defined(TINYOPS_CORTEX_M7)
#define TINYOPS_DW_ROW_LOADS(s, WLD, LOADS) TINYOPS_DW_LDQ0(s) WLD LOADS
#else
#define TINYOPS_DW_ROW_LOADS(s, WLD, LOADS) TINYOPS_DW_LDQ0(s) LOADS WLD
#endif
// Stride 1, kernel row s: pixels x (pairs 0, 1), x + 1, x + 2 (1, 2), x + 3.
#define TINYOPS_DW3_S1_ROW(s, WLD, A1, A3, A2, A0)                               \
  TINYOPS_DW_ROW_LOADS(s, WLD,                                                   \
                       "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"     \
                       "ldr    %[x2], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t")    \
  "smlatb %[a1], %[x0], %[w0], %[" A1 "]\n\t"                                   \
  "smlatb %[a3], %[x1], %[w0], %[" A3 "]\n\t"                                   \
  "smlad  %[a2], %[x1], %[w0], %[" A2 "]\n\t"                                   \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlad  %[a1], %[x1], %[w1], %[a1]\n\t"                                       \
  "smlad  %[a3], %[x2], %[w1], %[a3]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "smlabt %[a2], %[x2], %[w1], %[a2]\n\t"
// Stride 2, kernel row s: pixel k reads pairs k (E) and k + 1 (bottom x O).
#define TINYOPS_DW3_S2_ROW(s, WLD, A0, A1, A2, A3)                               \
  TINYOPS_DW_ROW_LOADS(s, WLD, "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t") \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t"                          \
  "smlad  %[a1], %[x1], %[w0], %[" A1 "]\n\t"                                   \
  "smlabt %[a1], %[x0], %[w1], %[a1]\n\t"                                       \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(3, s) "]\n\t"                          \
  "smlad  %[a2], %[x0], %[w0], %[" A2 "]\n\t"                                   \
  "smlabt %[a2], %[x1], %[w1], %[a2]\n\t"                                       \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(4, s) "]\n\t"                          \
  "smlad  %[a3], %[x1], %[w0], %[" A3 "]\n\t"                                   \
  "smlabt %[a3], %[x0], %[w1], %[a3]\n\t"
// Row 0 loads the channel's weights with post-increment to the next channel
// (12 words on), rows 1 and 2 relative to that.
#define TINYOPS_DW3_W0 "ldrd   %[w0], %[w1], [%[w]], #48\n\t"
#define TINYOPS_DW3_W1 "ldrd   %[w0], %[w1], [%[w], #-40]\n\t"
#define TINYOPS_DW3_W2 "ldrd   %[w0], %[w1], [%[w], #-32]\n\t"
#define TINYOPS_DW3_BODY_S1                                                      \
  "ldr    %[a0], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S1_ROW(0, TINYOPS_DW3_W0, "a0", "a0", "a0", "a0")                  \
  TINYOPS_DW3_S1_ROW(1, TINYOPS_DW3_W1, "a1", "a3", "a2", "a0")                  \
  TINYOPS_DW3_S1_ROW(2, TINYOPS_DW3_W2, "a1", "a3", "a2", "a0")
// Stride 2: the bias in x2 (the rows use x0 and x1 only), where kernel row
// 0 starts every pixel from it.
#define TINYOPS_DW3_BODY_S2                                                      \
  "ldr    %[x2], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S2_ROW(0, TINYOPS_DW3_W0, "x2", "x2", "x2", "x2")                  \
  TINYOPS_DW3_S2_ROW(1, TINYOPS_DW3_W1, "a0", "a1", "a2", "a3")                  \
  TINYOPS_DW3_S2_ROW(2, TINYOPS_DW3_W2, "a0", "a1", "a2", "a3")
// The output stage (arm/output_stage.h) of the 4 accumulators, stage by
// stage so independent instructions follow each other, then the stores.
#define TINYOPS_DW_REQ4(OP) OP("a0") OP("a1") OP("a2") OP("a3")
#define TINYOPS_DW_SMMLAR(a) "smmlar %[" a "], %[" a "], %[x0], %[" a "]\n\t"
#define TINYOPS_DW_SIGN(a) "add    %[" a "], %[" a "], %[" a "], asr #31\n\t"
#define TINYOPS_DW_QADD(a) "qadd   %[" a "], %[" a "], %[x1]\n\t"
#define TINYOPS_DW_SHIFT(a) "asr    %[" a "], %[" a "], %[x2]\n\t"
#define TINYOPS_DW_SUB(a) "sub    %[" a "], %[" a "], %[w0]\n\t"
#define TINYOPS_DW_SSAT(a) "ssat   %[" a "], #8, %[" a "]\n\t"
#define TINYOPS_DW_ADDLO(a) "add    %[" a "], %[" a "], %[w1]\n\t"
#define TINYOPS_DW3_OUT(RANGE)                                                   \
  "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                                        \
  "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                                         \
  TINYOPS_DW_REQ4(TINYOPS_DW_SMMLAR) TINYOPS_DW_REQ4(TINYOPS_DW_SIGN)            \
  TINYOPS_DW_REQ4(TINYOPS_DW_QADD) TINYOPS_DW_REQ4(TINYOPS_DW_SHIFT)             \
  TINYOPS_DW_REQ4(TINYOPS_DW_SUB) TINYOPS_DW_REQ4(TINYOPS_DW_SSAT) RANGE         \
  "add    %[w1], %[o], %[ps], lsl #1\n\t"                                        \
  "strb   %[a2], [%[w1]]\n\t"                                                    \
  "strb   %[a3], [%[w1], %[ps]]\n\t"                                             \
  "strb   %[a1], [%[o], %[ps]]\n\t"                                              \
  "strb   %[a0], [%[o]], #1\n\t"
#define TINYOPS_DW3_RANGE "ldr    %[w1], %[addv]\n\t" TINYOPS_DW_REQ4(TINYOPS_DW_ADDLO)
#define TINYOPS_DW3_ASM(BODY, RANGE)                                             \
  __asm__ volatile("1:\n\t"                                                      \
                   BODY                                                          \
                   TINYOPS_DW3_OUT(RANGE)            \
                   "ldr    %[x0], %[oend]\n\t"                                   \
                   "cmp    %[o], %[x0]\n\t"                                      \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),      \
                     [x1] "=&r"(x1), [x2] "=&r"(x2), [w0] "=&r"(w0), [w1] "=&r"(w1)       \
                   : [ps] "r"(ps), [oend] "m"(oend), [addv] "m"(add)                      \
                   : "cc", "memory")

// Two pixels (the step after the 4-pixel ones when 2 or 3 columns remain).
#define TINYOPS_DW3_S1_ROW2(s, WLD, A1, A0)                                      \
  TINYOPS_DW_ROW_LOADS(s, WLD, "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t") \
  "smlatb %[a1], %[x0], %[w0], %[" A1 "]\n\t"                                   \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlad  %[a1], %[x1], %[w1], %[a1]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"
#define TINYOPS_DW3_S2_ROW2(s, WLD, A0, A1)                                      \
  TINYOPS_DW_ROW_LOADS(s, WLD, "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t") \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t"                          \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "smlad  %[a1], %[x1], %[w0], %[" A1 "]\n\t"                                   \
  "smlabt %[a1], %[x0], %[w1], %[a1]\n\t"
#define TINYOPS_DW3_BODY2_S1                                                     \
  "ldr    %[a0], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S1_ROW2(0, TINYOPS_DW3_W0, "a0", "a0")                             \
  TINYOPS_DW3_S1_ROW2(1, TINYOPS_DW3_W1, "a1", "a0")                             \
  TINYOPS_DW3_S1_ROW2(2, TINYOPS_DW3_W2, "a1", "a0")
#define TINYOPS_DW3_BODY2_S2                                                     \
  "ldr    %[x2], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S2_ROW2(0, TINYOPS_DW3_W0, "x2", "x2")                             \
  TINYOPS_DW3_S2_ROW2(1, TINYOPS_DW3_W1, "a0", "a1")                             \
  TINYOPS_DW3_S2_ROW2(2, TINYOPS_DW3_W2, "a0", "a1")
#define TINYOPS_DW_REQ2(OP) OP("a0") OP("a1")
#define TINYOPS_DW3_OUT2(RANGE)                                                  \
  "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                                        \
  "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                                         \
  TINYOPS_DW_REQ2(TINYOPS_DW_SMMLAR) TINYOPS_DW_REQ2(TINYOPS_DW_SIGN)            \
  TINYOPS_DW_REQ2(TINYOPS_DW_QADD) TINYOPS_DW_REQ2(TINYOPS_DW_SHIFT)             \
  TINYOPS_DW_REQ2(TINYOPS_DW_SUB) TINYOPS_DW_REQ2(TINYOPS_DW_SSAT) RANGE         \
  "strb   %[a1], [%[o], %[ps]]\n\t"                                              \
  "strb   %[a0], [%[o]], #1\n\t"
#define TINYOPS_DW3_RANGE2 "ldr    %[w1], %[addv]\n\t" TINYOPS_DW_REQ2(TINYOPS_DW_ADDLO)
#define TINYOPS_DW3_ASM2(BODY, RANGE)                                            \
  __asm__ volatile("1:\n\t"                                                      \
                   BODY                                                          \
                   TINYOPS_DW3_OUT2(RANGE)           \
                   "cmp    %[o], %[oend]\n\t"                                    \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [a1] "=&r"(a1), [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2),      \
                     [w0] "=&r"(w0), [w1] "=&r"(w1)                                       \
                   : [ps] "r"(ps), [oend] "r"(oend), [addv] "m"(add)                      \
                   : "cc", "memory")

// One pixel (the last column of an odd-width row), either stride: pairs 0
// and 1 of each kernel row, SMLAD (w0, w1) + SMLABT (., w2) -- the packed
// weights are (w0, w1), (w1, w2) at stride 1 and (w0, w1), (0, w2) at
// stride 2, the top half read either way. 28 instructions for 9 MACs, where
// the C++ loop took about 60.
#define TINYOPS_DW3_ROW1(s, WLD)                                                 \
  TINYOPS_DW_ROW_LOADS(s, WLD, "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t") \
  "smlad  %[a0], %[x0], %[w0], %[a0]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"
#define TINYOPS_DW3_RANGE1 "ldr    %[w1], %[addv]\n\tadd    %[a0], %[a0], %[w1]\n\t"
#define TINYOPS_DW3_ASM1(RANGE)                                                  \
  __asm__ volatile("1:\n\t"                                                      \
                   "ldr    %[a0], [%[k]], #20\n\t"                               \
                   TINYOPS_DW3_ROW1(0, TINYOPS_DW3_W0)                           \
                   TINYOPS_DW3_ROW1(1, TINYOPS_DW3_W1)                           \
                   TINYOPS_DW3_ROW1(2, TINYOPS_DW3_W2)                           \
                   "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                       \
                   "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                        \
                   TINYOPS_DW_SMMLAR("a0") TINYOPS_DW_SIGN("a0")                 \
                   TINYOPS_DW_QADD("a0") TINYOPS_DW_SHIFT("a0")                  \
                   TINYOPS_DW_SUB("a0") TINYOPS_DW_SSAT("a0") RANGE              \
                   "strb   %[a0], [%[o]], #1\n\t"                                \
                   "cmp    %[o], %[oend]\n\t"                                    \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [w0] "=&r"(w0),      \
                     [w1] "=&r"(w1)                                                       \
                   : [oend] "r"(oend), [addv] "m"(add)                                    \
                   : "cc", "memory")

// Channels [0, ng) of a 1-pixel step; arguments as dw3_step4.
template <int kKind>
__attribute__((noinline)) void dw3_step1(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ng, int32_t add) {
  int8_t* const oend = o + ng;
  int32_t a0, x0, x1, x2, w0, w1;
  if (kKind == kOutRange) {
    TINYOPS_DW3_ASM1(TINYOPS_DW3_RANGE1);
  } else {
    TINYOPS_DW3_ASM1("");
  }
}

// Channels [0, ng) of a 2-pixel step; arguments as dw3_step4.
template <int SW, int kKind>
__attribute__((noinline)) void dw3_step2(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ps, int32_t ng, int32_t add) {
  int8_t* const oend = o + ng;
  int32_t a0, a1, x0, x1, x2, w0, w1;
  if (SW == 1) {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S1, TINYOPS_DW3_RANGE2);
    } else {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S1, "");
    }
  } else {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S2, TINYOPS_DW3_RANGE2);
    } else {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S2, "");
    }
  }
}

// Channels [0, ng) of one 4-pixel step (depth multiplier 1, ng >= 1): q the
// ring word of channel 0 (pair 0, slot 0), w its slot-ordered weights
// (channels 2 KH NW = 12 words apart), k its constants, o its pixel-0 output.
template <int SW, int kKind>
__attribute__((noinline)) void dw3_step4(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ps, int32_t ng, int32_t add) {
  static_assert(dw_group(3) == 16 && sizeof(DwConst) == 20, "offsets above");
  int8_t* const oend = o + ng;
  int32_t a0, a1, a2, a3, x0, x1, x2, w0, w1;
  if (SW == 1) {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S1, TINYOPS_DW3_RANGE);
    } else {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S1, "");
    }
  } else {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S2, TINYOPS_DW3_RANGE);
    } else {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S2, "");
    }
  }
}

// All output rows of the tile for output columns [xa, xb), input channels
// [ci, ci + nc), tile channels [g0, g0 + ng); cidx[i]: tile channel g0 + i's
// input channel - ci (kMult; without, depth_multiplier is 1 and it is i: the
// table costs a load and a register, whose spills cost more, in the hot loop).
template <int KH, int KW, int SW, bool kMult, int kKind>
void dw_chunk(const DwTile& t, int32_t ci, int32_t nc, int32_t g0, int32_t ng,
              const int8_t* cidx, int32_t xa, int32_t xb) {
  constexpr int G = dw_group(KH);
  using Ch = DwChannel<KH, KW, SW, G>;
  constexpr int NW = Ch::NW;
  constexpr int32_t wstride = 2 * KH * NW;            // words between channels' weights
  constexpr int32_t pair_words = (SW == 1 ? 1 : 2) * KH * G;  // ring words a 2-pixel step
  const int32_t nx = xb - xa;
  const int32_t npairs = dw_row_pairs(KW, SW, nx);
  const int32_t q0 = xa * SW;
  const int32_t ps = t.pixel_stride;
  const DwRowPairs inside = dw_row_pairs_inside(t, q0, npairs);
  if ((nc & 3) == 0) dw_fill_padding_pairs<KH, G>(t, inside);
  // The ring holds image rows [next - KH, next); row iy sits in slot iy mod KH.
  int32_t next = INT32_MIN, next_slot = 0;
  const int32_t iy_first = t.row_begin * t.sh - t.pad_top;
  int32_t rho = ((iy_first % KH) + KH) % KH;  // slot of kernel row 0
  for (int32_t y = t.row_begin; y < t.row_end; ++y) {
    const int32_t iy0 = y * t.sh - t.pad_top;
    if (next < iy0) {
      next = iy0;
      next_slot = rho;
    }
    for (; next < iy0 + KH; ++next) {
      if ((nc & 3) == 0 && next >= 0 && next < t.in_h) {
        dw_unpack_row_inside<KH, G>(t, next, ci, nc, inside, next_slot);
      } else {
        dw_unpack_row<KH, G>(t, next, ci, nc, q0, npairs, next_slot);
      }
      next_slot = next_slot + 1 == KH ? 0 : next_slot + 1;
    }
    // Slot s holds kernel row (s - rho) mod KH: row t0 + s of the doubled
    // weights, t0 = (KH - rho) mod KH.
    const int32_t* wrow = t.wext + (rho == 0 ? 0 : KH - rho) * NW;
    rho += t.sh;
    while (rho >= KH) rho -= KH;
    int8_t* orow = t.out + static_cast<ptrdiff_t>(y - t.row_begin) * t.row_stride +
                   static_cast<ptrdiff_t>(xa) * ps + g0;
    const int32_t* qrow = t.ring;
    const DwConst* cst_g = t.cst + g0;
    int32_t x = 0;
    // Four pixels a step (2 pairs at stride 1, 4 at stride 2). Running
    // pointers let the compiler use immediate offsets throughout.
    for (; x + 4 <= nx; x += 4, qrow += 2 * pair_words, orow += 4 * ps) {
      if (KH == 3 && !kMult) {
        dw3_step4<SW, kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ps, ng,
                             t.add);
        continue;
      }
      const int32_t* w = wrow;
      const DwConst* k = cst_g;
      int8_t* o0 = orow;
      int8_t* const o_end = orow + ng;
      for (int32_t i = 0; o0 != o_end; ++i, w += wstride, ++k, ++o0) {
        int32_t a[4];
        Ch::four(qrow + (kMult ? cidx[i] : i), w, k->bias, a);
        int8_t v[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) v[j] = dw_out<kKind>(a[j], k->out, t.add);
        int8_t* o2 = o0 + 2 * ps;
        o0[ps] = v[1];
        o0[0] = v[0];
        o2[ps] = v[3];
        o2[0] = v[2];
      }
    }
    for (; x + 2 <= nx; x += 2, qrow += pair_words, orow += 2 * ps) {
      if (KH == 3 && !kMult) {
        dw3_step2<SW, kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ps, ng,
                             t.add);
        continue;
      }
      const int32_t* w = wrow;
      const DwConst* k = cst_g;
      int8_t* o0 = orow;
      int8_t* const o_end = orow + ng;
      for (int32_t i = 0; o0 != o_end; ++i, w += wstride, ++k, ++o0) {
        int32_t a0, a1;
        Ch::two(qrow + (kMult ? cidx[i] : i), w, k->bias, a0, a1);
        const int8_t v0 = dw_out<kKind>(a0, k->out, t.add);
        const int8_t v1 = dw_out<kKind>(a1, k->out, t.add);
        o0[ps] = v1;
        o0[0] = v0;
      }
    }
    if (x < nx && KH == 3 && !kMult) {
      dw3_step1<kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ng, t.add);
    } else if (x < nx) {
      const int32_t* w = wrow;
      for (int32_t i = 0; i < ng; ++i, w += wstride) {
        const int32_t a0 = Ch::one(qrow + (kMult ? cidx[i] : i), w, cst_g[i].bias);
        orow[i] = dw_out<kKind>(a0, cst_g[i].out, t.add);
      }
    }
  }
}

template <int KH, int KW, int SW, int kKind>
void dw_tile_t(const DwTile& t) {
  constexpr int32_t G = dw_group(KH);
  constexpr int32_t H = KW / 2;
  const int32_t M = t.mult;
  // Output columns per chunk so that KH slots of its pairs fit the ring.
  const int32_t max_pairs = static_cast<int32_t>(t.ring_bytes / (4u * KH * G));
  const int32_t chunk = SW == 1 ? 2 * (max_pairs - H) : max_pairs - H;
  const int32_t ic_first = t.oc0 / M, ic_last = (t.oc0 + t.noc - 1) / M;
  int8_t cidx[G * 16];  // tile channel -> input channel of the group (multipliers <= 16)
  for (int32_t ci = ic_first; ci <= ic_last; ci += G) {
    const int32_t nc = ic_last + 1 - ci < G ? ic_last + 1 - ci : G;
    // Tile channels of these input channels: [g0, g1).
    int32_t g0 = ci * M - t.oc0, g1 = (ci + nc) * M - t.oc0;
    if (g0 < 0) g0 = 0;
    if (g1 > t.noc) g1 = t.noc;
    for (int32_t i = g0; i < g1 && M > 1; ++i) {
      cidx[i - g0] = static_cast<int8_t>((t.oc0 + i) / M - ci);
    }
    dw_pack_weights<KH, KW, SW>(t, g0, g1 - g0);
    for (int32_t xa = 0; xa < t.out_w; xa += chunk) {
      const int32_t xb = t.out_w - xa < chunk ? t.out_w : xa + chunk;
      if (M > 1) {
        dw_chunk<KH, KW, SW, true, kKind>(t, ci, nc, g0, g1 - g0, cidx, xa, xb);
      } else {
        dw_chunk<KH, KW, SW, false, kKind>(t, ci, nc, g0, g1 - g0, cidx, xa, xb);
      }
    }
  }
}

template <int KH, int KW, int SW>
void dw_tile_kind(const DwTile& t, OutKind kind) {
  if (kind == kOutHigh) {
    dw_tile_t<KH, KW, SW, kOutHigh>(t);
  } else {
    dw_tile_t<KH, KW, SW, kOutRange>(t);
  }
}

// Runs the tile (dw_dsp_supported geometry, ring_bytes = dw_ring_bytes, every
// channel's constants set up).
inline void dw_tile(const DwTile& tile, OutKind kind) {
  // The ring on the stack, which the firmware ports keep in tightly coupled
  // RAM: the M7 reads it without its 4 KB D-cache (as gemm()'s unpacked
  // pixels); twice the scratch's, so rows up to 80 pixels at 3x3 (the
  // paper model's widest) need no column chunks, which re-unpack the rows
  // per chunk. The scratch stays reserved, so plans do not depend on this.
  alignas(16) int32_t ring[2 * kDwRingBytes / 4];
  DwTile t = tile;
  const uint32_t need = static_cast<uint32_t>(t.kh * dw_group(t.kh)) * 4u *
                        static_cast<uint32_t>(dw_row_pairs(t.kw, t.sw, t.out_w));
  t.ring = ring;
  t.ring_bytes = need < sizeof(ring) ? need : static_cast<uint32_t>(sizeof(ring));
  switch (t.kw * 2 + t.sw) {
    case 3 * 2 + 1: dw_tile_kind<3, 3, 1>(t, kind); break;
    case 3 * 2 + 2: dw_tile_kind<3, 3, 2>(t, kind); break;
    case 5 * 2 + 1: dw_tile_kind<5, 5, 1>(t, kind); break;
    case 5 * 2 + 2: dw_tile_kind<5, 5, 2>(t, kind); break;
    case 7 * 2 + 1: dw_tile_kind<7, 7, 1>(t, kind); break;
    default: dw_tile_kind<7, 7, 2>(t, kind); break;
  }
}

#undef TINYOPS_ARM_INLINE

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
