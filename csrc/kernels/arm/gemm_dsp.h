// Arm DSP-extension GEMM + output stage (Cortex-M4 / Cortex-M7), the backend
// of conv_detail::gemm_requant when TINYOPS_ARM_DSP: 1x1 convolutions, im2col
// convolutions and FULLY_CONNECTED. Private to csrc/kernels.
//
// outs[p][i] = requant(bias_eff[i] + x_p . w_i) for pixels p < npix and tile
// channels i < nch (weight rows w + i * K), as the portable backend computes.
//
// Why it is fast (guest instructions per multiply-accumulate, see
// benchmarks/cortex_m_kernels.py): SMLAD does two 16x16 MACs, and an int8
// word needs two SXTB16 to become its two SMLAD operands (arm_dsp.h). Here
// the activations are unpacked ONCE per pixel into a scratch buffer
// (expand_pixels: int16 pairs, zero past K), so they cost loads only, and are
// reused across every output channel; each weight word is unpacked once per
// block of P pixels:
//  * P pixels x 1 channel (P = 2..6, PxDot): per 4 depths one LDR + two
//    SXTB16 of the weight word, then per two pixels one LDM of their four
//    unpacked words and four SMLAD -- 18 instructions per 24 MACs at P = 6
//    (where K % 4 == 0, the whole channel loop is assembly: px6_*);
//  * 1 pixel x 3 channels (FULLY_CONNECTED and single-pixel 1x1
//    convolutions with K % 8 == 0 and aligned rows, fc3_*): per 8 depths one
//    LDM of the pixel's four unpacked words and per channel one LDRD + four
//    SXTB16 + four SMLAD, the output stage in the same assembly loop; other
//    depths, and the last channel or two of a block, 1 pixel x 2 channels
//    (fc_pair) the same way.
// The accumulators start at the channel's bias_eff (the first SMLAD adds it),
// and the output stage is output_stage.h's from per-channel constants
// prepared once per block of 64 channels (63 for one pixel: whole triples).
//
// Exactness: the products are pure int8 dot products accumulated in wrapping
// int32 exactly like the portable backend (see conv_common.h: fewer than 2^17
// terms of |x * w| <= 2^14 cannot overflow; bias_eff is added first, which
// changes nothing mod 2^32). Depths past K are zero in the unpacked
// activations, so the weight bytes they meet (the next row's, or a partial
// word built from the row's last bytes) contribute nothing. The output stage
// is arm_dsp.h's exact form, or TFLM's generic one for channels it refuses.
//
// The inner loops are inline assembly: GCC spills the 13-14 live registers
// they need and never forms LDRD/LDM from the unpacked-activation loads.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"
#include "kernels/quant.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))

using GemmOut = OutParams;

// Channels whose fast output-stage constants are prepared together.
constexpr int32_t kGemmChannelBlock = 64;
// Pixels unpacked together at most.
constexpr int32_t kGemmMaxPixels = 6;
// Unpacked-pixel bytes gemm() keeps on the stack (the scratch's size,
// gemm_layout.h's kUnpackedBytes).
constexpr uint32_t kGemmStackUnpackedBytes = 6144;

// Bytes of one pixel's unpacked activations: ceil(K / 4) groups of two words.
TINYOPS_ARM_INLINE int32_t unpacked_pixel_bytes(int32_t K) { return ((K + 3) / 4) * 8; }

// Unpacks P pixels of K int8 activations into int16 pairs, interleaved by
// depth group: buf[(g * P + p) * 2] = even16(x_p[4g .. 4g + 3]) (depths 4g and
// 4g + 2), buf[(g * P + p) * 2 + 1] = odd16(...) (4g + 1, 4g + 3); depths at or
// past K are zero.
inline void expand_pixels_strided(const int8_t* const* xs, int32_t P, int32_t K, int32_t* buf,
                                  int32_t step);
inline void expand_pixels(const int8_t* const* xs, int32_t P, int32_t K, int32_t* buf) {
  expand_pixels_strided(xs, P, K, buf, 2 * P);
}

// The same with `step` words between a pixel's depth groups (pixel p's first
// words at buf + 2p).
inline void expand_pixels_strided(const int8_t* const* xs, int32_t P, int32_t K, int32_t* buf,
                                  int32_t step) {
  using namespace arm_dsp;
  const int32_t full = K >> 2, rem = K & 3;
  for (int32_t p = 0; p < P; ++p) {
    const int8_t* x = xs[p];
    int32_t* d = buf + 2 * p;
    for (int32_t g = 0; g < full; ++g, x += 4, d += step) {
      const uint32_t v = load4(x);
      d[0] = even16(v);
      d[1] = odd16(v);
    }
    if (rem) {
      uint32_t v = static_cast<uint8_t>(x[0]);
      if (rem > 1) v |= static_cast<uint32_t>(static_cast<uint8_t>(x[1])) << 8;
      if (rem > 2) v |= static_cast<uint32_t>(static_cast<uint8_t>(x[2])) << 16;
      d[0] = even16(v);
      d[1] = odd16(v);
    }
  }
}

// The weight word of a row's last, partial depth group (K % 4 bytes at w,
// the rest zero), read without touching bytes past the row.
TINYOPS_ARM_INLINE uint32_t partial_word(const int8_t* w, int32_t rem) {
  uint32_t v = static_cast<uint8_t>(w[0]);
  if (rem > 1) v |= static_cast<uint32_t>(static_cast<uint8_t>(w[1])) << 8;
  if (rem > 2) v |= static_cast<uint32_t>(static_cast<uint8_t>(w[2])) << 16;
  return v;
}

// ---------------------------------------------------------------------------
// P pixels x 1 channel. One depth group (4 depths): the weight word is loaded
// and unpacked (we, wo), then two pixels' four unpacked words at a time are
// loaded with one LDM into r0-r3 (LDM needs fixed ascending registers) and
// multiplied in; an odd last pixel takes an LDRD. Per 4 depths at P = 6: one
// LDR, two SXTB16, three LDM and 12 SMLAD -- 18 instructions for 24 MACs.
// The first group starts every accumulator from the bias in a0.
#define TINYOPS_PX_WEIGHT                  \
  "ldr    %[wo], [%[wp]], #4\n\t"          \
  "sxtb16 %[we], %[wo]\n\t"                \
  "sxtb16 %[wo], %[wo], ror #8\n\t"
#define TINYOPS_PX_PAIR(i, j)                          \
  "ldmia  %[xp]!, {%[r0], %[r1], %[r2], %[r3]}\n\t"    \
  "smlad  %[a" #i "], %[r0], %[we], %[a" #i "]\n\t"    \
  "smlad  %[a" #i "], %[r1], %[wo], %[a" #i "]\n\t"    \
  "smlad  %[a" #j "], %[r2], %[we], %[a" #j "]\n\t"    \
  "smlad  %[a" #j "], %[r3], %[wo], %[a" #j "]\n\t"
#define TINYOPS_PX_SINGLE(i)                           \
  "ldrd   %[r0], %[r1], [%[xp]], #8\n\t"               \
  "smlad  %[a" #i "], %[r0], %[we], %[a" #i "]\n\t"    \
  "smlad  %[a" #i "], %[r1], %[wo], %[a" #i "]\n\t"
// First pair: pixel 1 starts from a0 (the bias) before pixel 0 adds to it.
#define TINYOPS_PX_PAIR_FIRST                          \
  "ldmia  %[xp]!, {%[r0], %[r1], %[r2], %[r3]}\n\t"    \
  "smlad  %[a1], %[r2], %[we], %[a0]\n\t"              \
  "smlad  %[a1], %[r3], %[wo], %[a1]\n\t"              \
  "smlad  %[a0], %[r0], %[we], %[a0]\n\t"              \
  "smlad  %[a0], %[r1], %[wo], %[a0]\n\t"
#define TINYOPS_PX_GROUP2 TINYOPS_PX_WEIGHT TINYOPS_PX_PAIR(0, 1)
#define TINYOPS_PX_GROUP3 TINYOPS_PX_GROUP2 TINYOPS_PX_SINGLE(2)
#define TINYOPS_PX_GROUP4 TINYOPS_PX_GROUP2 TINYOPS_PX_PAIR(2, 3)
#define TINYOPS_PX_GROUP5 TINYOPS_PX_GROUP4 TINYOPS_PX_SINGLE(4)
#define TINYOPS_PX_GROUP6 TINYOPS_PX_GROUP4 TINYOPS_PX_PAIR(4, 5)
#define TINYOPS_PX_GROUP(P) TINYOPS_PX_GROUP##P
#define TINYOPS_PX_FIRST2 TINYOPS_PX_WEIGHT TINYOPS_PX_PAIR_FIRST
#define TINYOPS_PX_FIRST3 "mov %[a2], %[a0]\n\t" TINYOPS_PX_FIRST2 TINYOPS_PX_SINGLE(2)
#define TINYOPS_PX_FIRST4 "mov %[a2], %[a0]\n\tmov %[a3], %[a0]\n\t" TINYOPS_PX_FIRST2 \
  TINYOPS_PX_PAIR(2, 3)
#define TINYOPS_PX_FIRST5 "mov %[a4], %[a0]\n\t" TINYOPS_PX_FIRST4 TINYOPS_PX_SINGLE(4)
#define TINYOPS_PX_FIRST6 "mov %[a4], %[a0]\n\tmov %[a5], %[a0]\n\t" TINYOPS_PX_FIRST4 \
  TINYOPS_PX_PAIR(4, 5)
#define TINYOPS_PX_FIRST(P) TINYOPS_PX_FIRST##P

#define TINYOPS_PX_LIST2(M) M(0) M(1)
#define TINYOPS_PX_LIST3(M) TINYOPS_PX_LIST2(M) M(2)
#define TINYOPS_PX_LIST4(M) TINYOPS_PX_LIST3(M) M(3)
#define TINYOPS_PX_LIST5(M) TINYOPS_PX_LIST4(M) M(4)
#define TINYOPS_PX_LIST6(M) TINYOPS_PX_LIST5(M) M(5)
#define TINYOPS_PX_OPS2 [a0] "+r"(a0), [a1] "=&r"(a1)
#define TINYOPS_PX_OPS3 TINYOPS_PX_OPS2, [a2] "=&r"(a2)
#define TINYOPS_PX_OPS4 TINYOPS_PX_OPS3, [a3] "=&r"(a3)
#define TINYOPS_PX_OPS5 TINYOPS_PX_OPS4, [a4] "=&r"(a4)
#define TINYOPS_PX_OPS6 TINYOPS_PX_OPS5, [a5] "=&r"(a5)
#define TINYOPS_PX_VARS2 int32_t a0 = bias, a1;
#define TINYOPS_PX_VARS3 TINYOPS_PX_VARS2 int32_t a2;
#define TINYOPS_PX_VARS4 TINYOPS_PX_VARS3 int32_t a3;
#define TINYOPS_PX_VARS5 TINYOPS_PX_VARS4 int32_t a4;
#define TINYOPS_PX_VARS6 TINYOPS_PX_VARS5 int32_t a5;
#define TINYOPS_PX_COPY(i) a[i] = a##i;
#define TINYOPS_PX_TAILOPS2 [a0] "+r"(a0), [a1] "+r"(a1)
#define TINYOPS_PX_TAILOPS3 TINYOPS_PX_TAILOPS2, [a2] "+r"(a2)
#define TINYOPS_PX_TAILOPS4 TINYOPS_PX_TAILOPS3, [a3] "+r"(a3)
#define TINYOPS_PX_TAILOPS5 TINYOPS_PX_TAILOPS4, [a4] "+r"(a4)
#define TINYOPS_PX_TAILOPS6 TINYOPS_PX_TAILOPS5, [a5] "+r"(a5)
#define TINYOPS_PX_TAILVAR(i) int32_t a##i = a[i];
#define TINYOPS_PX_TAILVARS2 TINYOPS_PX_TAILVAR(0) TINYOPS_PX_TAILVAR(1)
#define TINYOPS_PX_TAILVARS3 TINYOPS_PX_TAILVARS2 TINYOPS_PX_TAILVAR(2)
#define TINYOPS_PX_TAILVARS4 TINYOPS_PX_TAILVARS3 TINYOPS_PX_TAILVAR(3)
#define TINYOPS_PX_TAILVARS5 TINYOPS_PX_TAILVARS4 TINYOPS_PX_TAILVAR(4)
#define TINYOPS_PX_TAILVARS6 TINYOPS_PX_TAILVARS5 TINYOPS_PX_TAILVAR(5)
#define TINYOPS_PX_FIXED                        \
  register int32_t r0 __asm__("r0");            \
  register int32_t r1 __asm__("r1");            \
  register int32_t r2 __asm__("r2");            \
  register int32_t r3 __asm__("r3");
#define TINYOPS_PX_FIXED_OPS \
  [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3)

template <int P>
struct PxDot;

// a[p] = bias + x_p . w over the `full` complete depth groups (full >= 1):
// the first group (two when full is even), then pairs of groups. With 6
// pixels every register is taken (6 accumulators, r0-r3, 2 pointers, the
// unpacked weight word), so the loop end is compared from memory.
#define TINYOPS_PX_END_REG "cmp    %[wp], %[wend]\n\t"
#define TINYOPS_PX_END_MEM "ldr    %[r0], %[wend]\n\tcmp    %[wp], %[r0]\n\t"
#define TINYOPS_PX_ASM(P, FIRST, END, WEND)                                                    \
  __asm__ volatile(FIRST END                                                                   \
                   "beq    2f\n\t"                                                             \
                   "1:\n\t" TINYOPS_PX_GROUP(P) TINYOPS_PX_GROUP(P) END                        \
                   "bne    1b\n\t"                                                             \
                   "2:\n\t"                                                                    \
                   : TINYOPS_PX_OPS##P, [xp] "+r"(xp), [wp] "+r"(wp), [we] "=&r"(we),          \
                     [wo] "=&r"(wo), TINYOPS_PX_FIXED_OPS                                      \
                   : [wend] WEND(wend)                                                         \
                   : "cc", "memory")
#define TINYOPS_PX_DEFINE(P, END, WEND)                                                        \
  template <>                                                                                  \
  struct PxDot<P> {                                                                            \
    static TINYOPS_ARM_INLINE void run(const int32_t* xp, const int8_t* wp, int32_t full,      \
                                       int32_t bias, int32_t (&a)[P]) {                        \
      TINYOPS_PX_VARS##P                                                                       \
      TINYOPS_PX_FIXED                                                                         \
      int32_t we, wo;                                                                          \
      const int8_t* wend = wp + 4 * full;                                                      \
      if (full & 1) {                                                                          \
        TINYOPS_PX_ASM(P, TINYOPS_PX_FIRST(P), END, WEND);                                     \
      } else {                                                                                 \
        TINYOPS_PX_ASM(P, TINYOPS_PX_FIRST(P) TINYOPS_PX_GROUP(P), END, WEND);                 \
      }                                                                                        \
      TINYOPS_PX_LIST##P(TINYOPS_PX_COPY)                                                      \
    }                                                                                          \
    /* a[p] += x_p . v for one more depth group at xp (weight word v). */                     \
    static TINYOPS_ARM_INLINE void tail(const int32_t* xp, uint32_t v, int32_t (&a)[P]) {      \
      TINYOPS_PX_TAILVARS##P                                                                   \
      TINYOPS_PX_FIXED                                                                         \
      int32_t we, wo = static_cast<int32_t>(v);                                                \
      __asm__ volatile("sxtb16 %[we], %[wo]\n\t"                                              \
                       "sxtb16 %[wo], %[wo], ror #8\n\t" TINYOPS_PX_TAIL_BODY##P               \
                       : TINYOPS_PX_TAILOPS##P, [xp] "+r"(xp), [we] "=&r"(we), [wo] "+r"(wo),  \
                         TINYOPS_PX_FIXED_OPS                                                  \
                       :                                                                       \
                       : "memory");                                                            \
      TINYOPS_PX_LIST##P(TINYOPS_PX_COPY)                                                      \
    }                                                                                          \
  };
#define TINYOPS_PX_TAIL_BODY2 TINYOPS_PX_PAIR(0, 1)
#define TINYOPS_PX_TAIL_BODY3 TINYOPS_PX_TAIL_BODY2 TINYOPS_PX_SINGLE(2)
#define TINYOPS_PX_TAIL_BODY4 TINYOPS_PX_TAIL_BODY2 TINYOPS_PX_PAIR(2, 3)
#define TINYOPS_PX_TAIL_BODY5 TINYOPS_PX_TAIL_BODY4 TINYOPS_PX_SINGLE(4)
#define TINYOPS_PX_TAIL_BODY6 TINYOPS_PX_TAIL_BODY4 TINYOPS_PX_PAIR(4, 5)
#define TINYOPS_PX_IN_REG(x) "r"(x)
#define TINYOPS_PX_IN_MEM(x) "m"(x)
TINYOPS_PX_DEFINE(2, TINYOPS_PX_END_REG, TINYOPS_PX_IN_REG)
TINYOPS_PX_DEFINE(3, TINYOPS_PX_END_REG, TINYOPS_PX_IN_REG)
TINYOPS_PX_DEFINE(4, TINYOPS_PX_END_REG, TINYOPS_PX_IN_REG)
TINYOPS_PX_DEFINE(5, TINYOPS_PX_END_REG, TINYOPS_PX_IN_REG)
TINYOPS_PX_DEFINE(6, TINYOPS_PX_END_MEM, TINYOPS_PX_IN_MEM)

// ---------------------------------------------------------------------------
// 6 pixels x the block's channels, K a multiple of 4: the whole channel loop
// in one assembly function, as PxDot<6> + the output stage leave GCC no
// registers for the loop's own state (it spills and reloads about 25 words a
// channel). Here the 14 registers are fixed -- r4-r9 the accumulators, r0-r3
// the LDM targets, r10/r11 the unpacked weight word, ip the activations, lr
// the weights -- and the rest lives in a stack copy of Px6Frame: a channel
// costs its MACs, the 6 output stages, one LDM / STM of the output pointers
// and 12 more instructions; four depth groups a loop iteration (the rest
// before the loop). Naked (the body is all assembly): the frame pointer
// arrives in r0 (AAPCS).
struct Px6Frame {
  int8_t* ob[6];        // +0: the pixels' outputs at the block's channel 0
  const int32_t* xend;  // +24: end of the unpacked pixels
  const int32_t* xb;    // +28: the unpacked pixels (expand_pixels, P = 6)
  const OutConst* oc;   // +32: channel 0's output-stage constants
  const int32_t* be;    // +36: channel 0's bias
  int32_t add;          // +40: act_min + 128 (kOutRange)
  const int8_t* w;      // +44: channel 0's weight row (rows K bytes apart)
  const int8_t* wend;   // +48: end of the block's rows
};
// The odd half of the weight word is unpacked after the first LDM, where the
// M7 issues it together with the first SMLAD (an SXTB16 pairs only as the
// older instruction, an LDM with nothing).
#define TINYOPS_PX6_MACS(a, b)        \
  "smlad  " a ", r0, r10, " a "\n\t"  \
  "smlad  " a ", r1, r11, " a "\n\t"  \
  "smlad  " b ", r2, r10, " b "\n\t"  \
  "smlad  " b ", r3, r11, " b "\n\t"
#define TINYOPS_PX6_PAIR(a, b) "ldmia  ip!, {r0-r3}\n\t" TINYOPS_PX6_MACS(a, b)
#define TINYOPS_PX6_W_LDM          \
  "ldr    r11, [lr], #4\n\t"       \
  "sxtb16 r10, r11\n\t"            \
  "ldmia  ip!, {r0-r3}\n\t"        \
  "sxtb16 r11, r11, ror #8\n\t"
#define TINYOPS_PX6_GROUP                                                        \
  TINYOPS_PX6_W_LDM TINYOPS_PX6_MACS("r4", "r5") TINYOPS_PX6_PAIR("r6", "r7")    \
      TINYOPS_PX6_PAIR("r8", "r9")
#define TINYOPS_PX6_GROUP2 TINYOPS_PX6_GROUP TINYOPS_PX6_GROUP
#define TINYOPS_PX6_GROUP3 TINYOPS_PX6_GROUP2 TINYOPS_PX6_GROUP
#define TINYOPS_PX6_GROUP4 TINYOPS_PX6_GROUP2 TINYOPS_PX6_GROUP2
// The first group starts pixels 1-5 from the bias in r4 before pixel 0 adds to it.
#define TINYOPS_PX6_FIRST                                                        \
  "mov    r6, r4\n\t"                                                            \
  "mov    r7, r4\n\t"                                                            \
  "mov    r8, r4\n\t"                                                            \
  "mov    r9, r4\n\t" TINYOPS_PX6_W_LDM                                          \
  "smlad  r5, r2, r10, r4\n\t"                                                   \
  "smlad  r5, r3, r11, r5\n\t"                                                   \
  "smlad  r4, r0, r10, r4\n\t"                                                   \
  "smlad  r4, r1, r11, r4\n\t" TINYOPS_PX6_PAIR("r6", "r7") TINYOPS_PX6_PAIR("r8", "r9")
#define TINYOPS_PX6_EACH(OP) OP("r4") OP("r5") OP("r6") OP("r7") OP("r8") OP("r9")
#define TINYOPS_PX6_SMMLAR(a) "smmlar " a ", " a ", r0, " a "\n\t"
#define TINYOPS_PX6_SIGN(a) "add    " a ", " a ", " a ", asr #31\n\t"
#define TINYOPS_PX6_QADD(a) "qadd   " a ", " a ", r1\n\t"
#define TINYOPS_PX6_SHIFT(a) "asr    " a ", " a ", r2\n\t"
#define TINYOPS_PX6_SUB(a) "sub    " a ", " a ", r3\n\t"
#define TINYOPS_PX6_SSAT(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_PX6_ADD(a) "add    " a ", " a ", r0\n\t"
// Output stages (output_stage.h's out_apply) by kind.
#define TINYOPS_PX6_OUT_HIGH TINYOPS_PX6_EACH(TINYOPS_PX6_SUB) TINYOPS_PX6_EACH(TINYOPS_PX6_SSAT)
#define TINYOPS_PX6_OUT_RANGE \
  TINYOPS_PX6_OUT_HIGH "ldr    r0, [sp, #40]\n\t" TINYOPS_PX6_EACH(TINYOPS_PX6_ADD)
#define TINYOPS_PX6_OUT_PLAIN TINYOPS_PX6_EACH(TINYOPS_PX6_SSAT)
// PRE: (groups - 1) % 4 more groups before the loop of four groups.
#define TINYOPS_PX6_FN(NAME, PRE, OUT)                                           \
  __attribute__((naked, noinline)) inline void NAME(const Px6Frame*) {          \
    __asm__ volatile(                                                            \
        "push   {r4-r11, lr}\n\t"                                                \
        "sub    sp, sp, #52\n\t"                                                 \
        "ldmia  r0!, {r1-r7}\n\t"                                                \
        "stmia  sp, {r1-r7}\n\t"                                                 \
        "ldmia  r0, {r1-r6}\n\t"                                                 \
        "add    r7, sp, #28\n\t"                                                 \
        "stmia  r7, {r1-r6}\n\t"                                                 \
        "mov    lr, r5\n\t"                                                      \
        "3:\n\t"                                                                 \
        "ldr    r0, [sp, #36]\n\t"                                               \
        "ldr    r4, [r0], #4\n\t"                                                \
        "str    r0, [sp, #36]\n\t"                                               \
        "ldr    ip, [sp, #28]\n\t" TINYOPS_PX6_FIRST PRE                         \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "beq    2f\n\t"                                                          \
        "1:\n\t" TINYOPS_PX6_GROUP4                                              \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "bne    1b\n\t"                                                          \
        "2:\n\t"                                                                 \
        "ldr    ip, [sp, #32]\n\t"                                               \
        "ldmia  ip!, {r0-r3}\n\t"                                                \
        "str    ip, [sp, #32]\n\t" TINYOPS_PX6_EACH(TINYOPS_PX6_SMMLAR)          \
        TINYOPS_PX6_EACH(TINYOPS_PX6_SIGN) TINYOPS_PX6_EACH(TINYOPS_PX6_QADD)    \
        TINYOPS_PX6_EACH(TINYOPS_PX6_SHIFT) OUT                                  \
        "ldmia  sp, {r0-r3, r10, r11}\n\t"                                       \
        "strb   r4, [r0], #1\n\t"                                                \
        "strb   r5, [r1], #1\n\t"                                                \
        "strb   r6, [r2], #1\n\t"                                                \
        "strb   r7, [r3], #1\n\t"                                                \
        "strb   r8, [r10], #1\n\t"                                               \
        "strb   r9, [r11], #1\n\t"                                               \
        "stmia  sp, {r0-r3, r10, r11}\n\t"                                       \
        "ldr    r0, [sp, #48]\n\t"                                               \
        "cmp    lr, r0\n\t"                                                      \
        "bne    3b\n\t"                                                          \
        "add    sp, sp, #52\n\t"                                                 \
        "pop    {r4-r11, pc}\n\t");                                              \
  }
#define TINYOPS_PX6_FNS(KIND, OUT)                                 \
  TINYOPS_PX6_FN(px6_##KIND##_0, "", OUT)                          \
  TINYOPS_PX6_FN(px6_##KIND##_1, TINYOPS_PX6_GROUP, OUT)           \
  TINYOPS_PX6_FN(px6_##KIND##_2, TINYOPS_PX6_GROUP2, OUT)          \
  TINYOPS_PX6_FN(px6_##KIND##_3, TINYOPS_PX6_GROUP3, OUT)          \
  /* By (groups - 1) % 4. */                                       \
  inline void px6_##KIND(int32_t pre, const Px6Frame* f) {         \
    switch (pre) {                                                 \
      case 0: px6_##KIND##_0(f); break;                            \
      case 1: px6_##KIND##_1(f); break;                            \
      case 2: px6_##KIND##_2(f); break;                            \
      default: px6_##KIND##_3(f); break;                           \
    }                                                              \
  }
TINYOPS_PX6_FNS(high, TINYOPS_PX6_OUT_HIGH)
TINYOPS_PX6_FNS(range, TINYOPS_PX6_OUT_RANGE)
TINYOPS_PX6_FNS(plain, TINYOPS_PX6_OUT_PLAIN)
static_assert(sizeof(Px6Frame) == 52 && sizeof(OutConst) == 16, "offsets in TINYOPS_PX6_FN");

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
  __asm__ volatile("1:\n\t" TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD) TINYOPS_FC_STEP(LD)        \
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
// function (as px6_*). Per 8 depths one LDM of the pixel's four unpacked words
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
        "3:\n\t"                                                                \
        "ldr    r10, [sp, #20]\n\t"                                             \
        "ldmia  r10!, {r4-r6}\n\t"                                              \
        "str    r10, [sp, #20]\n\t"                                             \
        "ldr    lr, [sp, #0]\n\t"                                               \
        "ldr    ip, [sp, #4]\n\t"                                               \
        "cmp    lr, ip\n\t"                                                     \
        "beq    2f\n\t"                                                         \
        "1:\n\t" TINYOPS_FC3_STEP8                                              \
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


// ---------------------------------------------------------------------------
// Output stage (arm/output_stage.h): the block's channel constants.

struct OutStage {
  const OutConst* oc;  // block constants
  int32_t add;         // act_min + 128
  const int8_t* wend;  // end of the weight rows (partial last words may read up to it)
};

template <int kKind>
TINYOPS_ARM_INLINE int8_t out_value(int32_t acc, const OutStage& s, int32_t i) {
  const OutConst& c = s.oc[i];
  return static_cast<int8_t>(
      out_apply<arm_dsp::Prims, kKind>(acc, c.m2, c.round, c.shift, c.sub, s.add));
}

// ---------------------------------------------------------------------------
// Block drivers.

// P (2..6) unpacked pixels at xb x the block's nc channels (rows w + i * K,
// bias be[i]); outputs ob[p][i].
template <int P, bool kTail, int kKind>
void px_channels(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
                 const OutStage& s, int8_t* const* obp) {
  int8_t* ob[P];  // in this frame: one load per store
  for (int p = 0; p < P; ++p) ob[p] = obp[p];
  const int32_t full = K >> 2, rem = K & 3;
  const int32_t* xtail = xb + 2 * P * full;
  for (int32_t i = 0; i < nc; ++i) {
    const int8_t* row = w + static_cast<ptrdiff_t>(i) * K;
    int32_t a[P];
    if (full > 0) {
      PxDot<P>::run(xb, row, full, be[i], a);
    } else {
      for (int p = 0; p < P; ++p) a[p] = be[i];
    }
    if (kTail) {
      // The row's last partial word: the bytes past the row are the next
      // row's, met by zero activations; only the very last row reads bytes.
      const int8_t* last = row + 4 * full;
      const uint32_t v = last + 4 <= s.wend ? arm_dsp::load4(last) : partial_word(last, rem);
      PxDot<P>::tail(xtail, v, a);
    }
    int8_t v[P];
#pragma GCC unroll 6
    for (int p = 0; p < P; ++p) v[p] = out_value<kKind>(a[p], s, i);
#pragma GCC unroll 6
    for (int p = 0; p < P; ++p) ob[p][i] = v[p];
  }
}

// Separate loops with and without a partial last depth group: one shared
// loop keeps the accumulators in memory around the branch.
template <int P, int kKind>
void px_block(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
              const OutStage& s, int8_t* const* ob) {
  if (P == 6 && (K & 3) == 0) {
    const int32_t full = K >> 2;
    const Px6Frame f{{ob[0], ob[P > 1 ? 1 : 0], ob[P > 2 ? 2 : 0], ob[P > 3 ? 3 : 0],
                      ob[P > 4 ? 4 : 0], ob[P > 5 ? 5 : 0]},
                     xb + 12 * full, xb, s.oc, be, s.add, w, w + static_cast<ptrdiff_t>(nc) * K};
    const int32_t pre = (full - 1) & 3;
    if (kKind == kOutHigh) {
      px6_high(pre, &f);
    } else if (kKind == kOutRange) {
      px6_range(pre, &f);
    } else {
      px6_plain(pre, &f);
    }
    return;
  }
  if (K & 3) {
    px_channels<P, true, kKind>(xb, w, K, nc, be, s, ob);
  } else {
    px_channels<P, false, kKind>(xb, w, K, nc, be, s, ob);
  }
}

// One unpacked pixel at xb x the block's nc channels, two channels at a time.
template <bool kAligned, int kKind>
void fc_block(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
              const OutStage& s, int8_t* o) {
  int32_t done = 0;
  if (kAligned && (K & 7) == 0 && nc >= 3) {
    done = nc - nc % 3;
    const int32_t steps = K >> 3;
    const Fc3Frame f{xb, xb + 32 * (steps >> 3), xb + 4 * steps, w, K, be, s.oc, o, o + done,
                     s.add};
    if (kKind == kOutHigh) {
      fc3_high(&f);
    } else if (kKind == kOutRange) {
      fc3_range(&f);
    } else {
      fc3_plain(&f);
    }
    if (done == nc) return;
  }
  int32_t acc[kGemmChannelBlock];
  fc_rows<kAligned>(xb, w + static_cast<ptrdiff_t>(done) * K, K, nc - done, be + done, acc);
  for (int32_t i = done; i < nc; ++i) o[i] = out_value<kKind>(acc[i - done], s, i);
}

// The block's nc channels for the P unpacked pixels at xbuf (P = 1 reads
// the rows 2 at a time), outputs ob[p][i].
template <int kKind>
void block_channels(const int32_t* xbuf, int32_t P, const int8_t* w, int32_t K, int32_t nc,
                    const int32_t* be, const OutStage& s, int8_t* const* ob) {
  switch (P) {
    case 1:
      if (((reinterpret_cast<uintptr_t>(w) | static_cast<uintptr_t>(K)) & 3u) == 0) {
        fc_block<true, kKind>(xbuf, w, K, nc, be, s, ob[0]);
      } else {
        fc_block<false, kKind>(xbuf, w, K, nc, be, s, ob[0]);
      }
      break;
    case 2: px_block<2, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 3: px_block<3, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 4: px_block<4, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 5: px_block<5, kKind>(xbuf, w, K, nc, be, s, ob); break;
    default: px_block<6, kKind>(xbuf, w, K, nc, be, s, ob); break;
  }
}

// Prepares the output-stage constants of tile channels [cb, cb + nc); false
// when one of them needs TFLM's generic stage.
// (out_const_setup with the op-wide parts hoisted: it runs for every channel
// of every invoke, which a 1-pixel layer notices.)
inline bool block_constants(const GemmOut& o, const OutOp& op, int32_t cb, int32_t nc,
                            OutConst* oc) {
  if (!op.ok) return false;
  const int32_t* mult = o.multiplier + cb;
  const int32_t* lsh = o.left_shift + cb;
  const int32_t* rsh = o.right_shift + cb;
  const bool plain = op.kind == kOutPlain;
  const uint32_t off = static_cast<uint32_t>(op.off_term);
  const uint32_t top = plain ? 0u : 0x80000000u;
  const uint32_t sub_term = static_cast<uint32_t>(op.sub_term);
  const uint32_t sub_mask = plain ? 0u : ~0u;
  for (int32_t i = 0; i < nc; ++i) {
    const int32_t m = mult[i], e = rsh[i];
    if (lsh[i] != 0 || static_cast<uint32_t>(e - 1) > 22u || m < (1 << 30)) return false;
    // As out_const_setup: R = 2^(e-1) + off_term * 2^e (+ 2^31), S = 2^(31-e) + sub_term.
    oc[i].m2 = static_cast<int32_t>(static_cast<uint32_t>(m) << 1);
    oc[i].round = static_cast<int32_t>((1u << (e - 1)) + (off << e) + top);
    oc[i].shift = e;
    oc[i].sub = static_cast<int32_t>(((0x80000000u >> e) + sub_term) & sub_mask);
  }
  return true;
}

inline void dispatch_block(OutKind kind, const int32_t* xbuf, int32_t P, const int8_t* w,
                           int32_t K, int32_t nc, const int32_t* be, const OutStage& s,
                           int8_t* const* ob) {
  if (kind == kOutHigh) {
    block_channels<kOutHigh>(xbuf, P, w, K, nc, be, s, ob);
  } else if (kind == kOutRange) {
    block_channels<kOutRange>(xbuf, P, w, K, nc, be, s, ob);
  } else {
    block_channels<kOutPlain>(xbuf, P, w, K, nc, be, s, ob);
  }
}

// Where the GEMM's pixels come from: pointers to K contiguous int8 each
// (1x1 convolutions, FULLY_CONNECTED), or gathered on the fly (im2col).
struct GemmSource {
  // Unpacks pixels [p0, p0 + P) into buf (the expand_pixels layout).
  void (*unpack)(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf);
  // Pointers to pixels [p0, p0 + P) as K contiguous int8, P <= kGemmRawPixels.
  void (*raw)(const void* ctx, int32_t p0, int32_t P, const int8_t** xs);
  const void* ctx;
};
constexpr int32_t kGemmRawPixels = 8;

inline void pointer_unpack(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf) {
  expand_pixels(static_cast<const int8_t* const*>(ctx) + p0, P, K, buf);
}
inline void pointer_raw(const void* ctx, int32_t p0, int32_t P, const int8_t** xs) {
  for (int32_t p = 0; p < P; ++p) xs[p] = static_cast<const int8_t* const*>(ctx)[p0 + p];
}

// Neither operand unpacked, TFLM's generic output stage where needed: channel
// blocks with a multiplier out of the fast stage's range, and pixels too deep
// for the unpacking scratch (K > 3072). Plain SMLAD loops; such layers are rare.
inline void raw_block(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K,
                      int32_t cb, int32_t nc, const int32_t* be, const GemmOut& o,
                      const OutConst* oc, bool fast, OutKind kind, int32_t add,
                      int8_t* const* outs) {
  using namespace arm_dsp;
  const int8_t* xs[kGemmRawPixels];
  for (int32_t p0 = 0; p0 < npix; p0 += kGemmRawPixels) {
    const int32_t np = npix - p0 < kGemmRawPixels ? npix - p0 : kGemmRawPixels;
    src.raw(src.ctx, p0, np, xs);
    for (int32_t p = 0; p < np; ++p) {
      const int8_t* x = xs[p];
      for (int32_t i = 0; i < nc; ++i) {
        const int8_t* row = w + static_cast<ptrdiff_t>(cb + i) * K;
        int32_t a = be[cb + i];
        int32_t k = 0;
        for (; k + 4 <= K; k += 4) {
          const uint32_t xv = load4(x + k), wv = load4(row + k);
          a = __smlad(even16(xv), even16(wv), a);
          a = __smlad(odd16(xv), odd16(wv), a);
        }
        for (; k < K; ++k) {
          a = static_cast<int32_t>(static_cast<uint32_t>(a) +
                                   static_cast<uint32_t>(static_cast<int32_t>(x[k]) * row[k]));
        }
        int32_t v;
        if (fast) {
          const OutConst& c = oc[i];
          v = kind == kOutRange  ? out_apply<Prims, kOutRange>(a, c.m2, c.round, c.shift, c.sub, add)
              : kind == kOutHigh ? out_apply<Prims, kOutHigh>(a, c.m2, c.round, c.shift, c.sub, add)
                                 : out_apply<Prims, kOutPlain>(a, c.m2, c.round, c.shift, c.sub, add);
        } else {
          v = out_generic(a, o, cb + i);
        }
        outs[p0 + p][cb + i] = static_cast<int8_t>(v);
      }
    }
  }
}

// The whole GEMM + output stage: npix pixels from src (K int8 each), the nch
// weight rows at w, bias_eff[nch], outputs outs[p][0 .. nch). oc: scratch for
// kGemmChannelBlock OutConst; xbuf / xbuf_bytes: scratch for the unpacked
// pixels (16-byte aligned).
inline void gemm(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K, int32_t nch,
                 const int32_t* bias_eff, const GemmOut& o, int8_t* const* outs, OutConst* oc,
                 int32_t* xbuf, uint32_t xbuf_bytes) {
  // The unpacked pixels are read again for every channel. The firmware ports
  // keep the stack in tightly coupled RAM (DTCM on the Cortex-M7, CCM on the
  // M4): there the M7 reads them without its 4 KB D-cache, which they and
  // the weight rows streaming past would overflow (every line a miss, about
  // as many stall cycles as MACs at K = 960). The scratch stays reserved, so
  // plans do not depend on this.
  alignas(16) int32_t local[kGemmStackUnpackedBytes / 4];
  if (xbuf_bytes <= sizeof(local)) xbuf = local;
  const uint32_t fit = xbuf_bytes / static_cast<uint32_t>(unpacked_pixel_bytes(K));
  const int32_t max_pixels = fit > kGemmMaxPixels ? kGemmMaxPixels : static_cast<int32_t>(fit);
  const OutOp op = out_op(o.output_offset, o.act_min, o.act_max, /*plain=*/true);
  const int32_t add = o.act_min + 128;
  // Blocks of nearly equal size, so no block is left with a single pixel.
  const int32_t nblocks = max_pixels > 0 ? (npix + max_pixels - 1) / max_pixels : 0;
  const int32_t base = nblocks ? npix / nblocks : 0, extra = nblocks ? npix % nblocks : 0;
  int8_t* ob[kGemmMaxPixels];
  // One pixel block: unpack it once for all channel blocks.
  if (nblocks == 1) src.unpack(src.ctx, 0, npix, K, xbuf);
  // One pixel: blocks of whole channel triples (fc3_*).
  const int32_t cblock = npix == 1 ? kGemmChannelBlock - kGemmChannelBlock % 3 : kGemmChannelBlock;
  for (int32_t cb = 0; cb < nch; cb += cblock) {
    const int32_t nc = nch - cb < cblock ? nch - cb : cblock;
    const bool fast = block_constants(o, op, cb, nc, oc);
    if (!fast || nblocks == 0) {
      raw_block(src, npix, w, K, cb, nc, bias_eff, o, oc, fast, op.kind, add, outs);
      continue;
    }
    const OutStage s{oc, add, w + static_cast<ptrdiff_t>(nch) * K};
    const int8_t* wb = w + static_cast<ptrdiff_t>(cb) * K;
    int32_t p0 = 0;
    for (int32_t b = 0; b < nblocks; ++b) {
      const int32_t P = base + (b < extra ? 1 : 0);
      if (nblocks > 1) src.unpack(src.ctx, p0, P, K, xbuf);
      for (int32_t p = 0; p < P; ++p) ob[p] = outs[p0 + p] + cb;
      dispatch_block(op.kind, xbuf, P, wb, K, nc, bias_eff + cb, s, ob);
      p0 += P;
    }
  }
}

inline void gemm(const int8_t* const* xs, int32_t npix, const int8_t* w, int32_t K, int32_t nch,
                 const int32_t* bias_eff, const GemmOut& o, int8_t* const* outs, OutConst* oc,
                 int32_t* xbuf, uint32_t xbuf_bytes) {
  const GemmSource src{pointer_unpack, pointer_raw, xs};
  gemm(src, npix, w, K, nch, bias_eff, o, outs, oc, xbuf, xbuf_bytes);
}

#undef TINYOPS_ARM_INLINE

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
