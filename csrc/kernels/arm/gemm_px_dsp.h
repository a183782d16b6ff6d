// Arm DSP GEMM, P pixels x 1 channel: the unpacked-pixel layout (expand_pixels)
// and the PxDot / pxN_* (N = 2 .. 6) assembly loops. Part of gemm_dsp.h (see there for the
// design and the exactness argument); include that, not this.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"
#include "kernels/quant.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#ifndef TINYOPS_ARM_INLINE
#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))
#endif

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

// Four depth groups a step of a word-aligned pixel (n steps): one LDM of
// the 16 bytes, then per group its two unpacked words and the move to the
// next group (`stride` bytes on): 19 instructions for 4 groups where the C++
// loop took 32. The M7 stores both words with one STRD (single-issue, as the
// two STRs it replaces would be on its one store port); the M4 with two STRs
// (STRD costs 3 cycles there).
#if defined(TINYOPS_CORTEX_M7)
#define TINYOPS_XP_STORE(R) \
  "sxtb16 %[t], " R "\n\tsxtb16 " R ", " R ", ror #8\n\tstrd   %[t], " R ", [%[d]]\n\t" \
  "add    %[d], %[d], %[stride]\n\t"
#else
#define TINYOPS_XP_STORE(R)                                                                  \
  "sxtb16 %[t], " R "\n\tsxtb16 " R ", " R ", ror #8\n\tstr    %[t], [%[d]]\n\t"            \
  "str    " R ", [%[d], #4]\n\tadd    %[d], %[d], %[stride]\n\t"
#endif
inline void expand_aligned_groups(const int8_t* x, int32_t* d, int32_t n, int32_t stride) {
  register int32_t r0 __asm__("r0");
  register int32_t r1 __asm__("r1");
  register int32_t r2 __asm__("r2");
  register int32_t r3 __asm__("r3");
  int32_t t;
  __asm__ volatile("1:\n\t"
                   "ldmia  %[x]!, {r0-r3}\n\t" TINYOPS_XP_STORE("r0") TINYOPS_XP_STORE("r1")
                       TINYOPS_XP_STORE("r2") TINYOPS_XP_STORE("r3")
                   "subs   %[n], %[n], #1\n\t"
                   "bne    1b\n\t"
                   : [x] "+r"(x), [d] "+r"(d), [n] "+r"(n), [t] "=&r"(t), "=&r"(r0), "=&r"(r1),
                     "=&r"(r2), "=&r"(r3)
                   : [stride] "r"(stride)
                   : "cc", "memory");
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
    int32_t g = 0;
    if ((reinterpret_cast<uintptr_t>(x) & 3u) == 0 && full >= 4) {
      g = full & ~3;
      expand_aligned_groups(x, d, g >> 2, step * 4);
      x += 4 * g;
      d += g * step;
    }
    for (; g < full; ++g, x += 4, d += step) {
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
#if defined(TINYOPS_CORTEX_M7)
// Cortex-M7: single LDRs at fixed offsets (they pair with the SMLADs, an LDM
// issues alone), and the pointer moves once a group (TINYOPS_PX_ADV).
#define TINYOPS_PX_PAIR(i, j)                          \
  "ldr    %[r0], [%[xp], #(8*" #i ")]\n\t"             \
  "ldr    %[r1], [%[xp], #(8*" #i "+4)]\n\t"           \
  "smlad  %[a" #i "], %[r0], %[we], %[a" #i "]\n\t"    \
  "ldr    %[r2], [%[xp], #(8*" #j ")]\n\t"             \
  "smlad  %[a" #i "], %[r1], %[wo], %[a" #i "]\n\t"    \
  "ldr    %[r3], [%[xp], #(8*" #j "+4)]\n\t"           \
  "smlad  %[a" #j "], %[r2], %[we], %[a" #j "]\n\t"    \
  "smlad  %[a" #j "], %[r3], %[wo], %[a" #j "]\n\t"
#define TINYOPS_PX_SINGLE(i)                           \
  "ldr    %[r0], [%[xp], #(8*" #i ")]\n\t"             \
  "ldr    %[r1], [%[xp], #(8*" #i "+4)]\n\t"           \
  "smlad  %[a" #i "], %[r0], %[we], %[a" #i "]\n\t"    \
  "smlad  %[a" #i "], %[r1], %[wo], %[a" #i "]\n\t"
#define TINYOPS_PX_PAIR_FIRST                          \
  "ldr    %[r2], [%[xp], #8]\n\t"                      \
  "ldr    %[r3], [%[xp], #12]\n\t"                     \
  "smlad  %[a1], %[r2], %[we], %[a0]\n\t"              \
  "ldr    %[r0], [%[xp]]\n\t"                          \
  "smlad  %[a1], %[r3], %[wo], %[a1]\n\t"              \
  "ldr    %[r1], [%[xp], #4]\n\t"                      \
  "smlad  %[a0], %[r0], %[we], %[a0]\n\t"              \
  "smlad  %[a0], %[r1], %[wo], %[a0]\n\t"
#define TINYOPS_PX_ADV(P) "add    %[xp], %[xp], #(8*" #P ")\n\t"
#else
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
#define TINYOPS_PX_ADV(P) ""
#endif
#define TINYOPS_PX_GROUP2 TINYOPS_PX_WEIGHT TINYOPS_PX_PAIR(0, 1)
#define TINYOPS_PX_GROUP3 TINYOPS_PX_GROUP2 TINYOPS_PX_SINGLE(2)
#define TINYOPS_PX_GROUP4 TINYOPS_PX_GROUP2 TINYOPS_PX_PAIR(2, 3)
#define TINYOPS_PX_GROUP5 TINYOPS_PX_GROUP4 TINYOPS_PX_SINGLE(4)
#define TINYOPS_PX_GROUP6 TINYOPS_PX_GROUP4 TINYOPS_PX_PAIR(4, 5)
#define TINYOPS_PX_GROUP(P) TINYOPS_PX_GROUP##P TINYOPS_PX_ADV(P)
#define TINYOPS_PX_FIRST2 TINYOPS_PX_WEIGHT TINYOPS_PX_PAIR_FIRST
#define TINYOPS_PX_FIRST3 "mov %[a2], %[a0]\n\t" TINYOPS_PX_FIRST2 TINYOPS_PX_SINGLE(2)
#define TINYOPS_PX_FIRST4 "mov %[a2], %[a0]\n\tmov %[a3], %[a0]\n\t" TINYOPS_PX_FIRST2 \
  TINYOPS_PX_PAIR(2, 3)
#define TINYOPS_PX_FIRST5 "mov %[a4], %[a0]\n\t" TINYOPS_PX_FIRST4 TINYOPS_PX_SINGLE(4)
#define TINYOPS_PX_FIRST6 "mov %[a4], %[a0]\n\tmov %[a5], %[a0]\n\t" TINYOPS_PX_FIRST4 \
  TINYOPS_PX_PAIR(4, 5)
#define TINYOPS_PX_FIRST(P) TINYOPS_PX_FIRST##P TINYOPS_PX_ADV(P)

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
// P = 2 .. 6 pixels x the block's channels, K a multiple of 4: the whole
// channel loop in one assembly function, as PxDot<P> + the output stage
// leave GCC no registers for the loop's own state (it spills and reloads
// about 25 words a channel). Here the 14 registers are fixed -- r4-r(3+P)
// the accumulators, r0-r3 the load targets, r10/r11 the unpacked weight
// word, ip the activations, lr the weights -- and the rest lives in a stack
// copy of PxFrame: a channel costs its MACs, the P output stages, one LDM /
// STM of the output pointers and 12 more instructions; four depth groups a
// loop iteration (the rest before the loop). Naked (the body is all
// assembly): the frame pointer arrives in r0 (AAPCS). (Balanced blocks put
// 5-pixel blocks in every 25-pixel layer, and deep rows leave room for 3
// pixels at K = 960 (kUnpackedBytes): PxDot<P>'s C++ channel loop, kept
// for K % 4 != 0, costs them about twice the cycles.)
struct PxFrame {
  int8_t* ob[6];        // +0: the pixels' outputs at the block's channel 0
  const int32_t* xend;  // +24: end of the unpacked pixels
  const int32_t* xb;    // +28: the unpacked pixels (expand_pixels)
  const OutConst* oc;   // +32: channel 0's output-stage constants
  const int32_t* be;    // +36: channel 0's bias
  int32_t add;          // +40: act_min + 128 (kOutRange)
  const int8_t* w;      // +44: channel 0's weight row (rows K bytes apart)
  const int8_t* wend;   // +48: end of the block's rows
};
// The accumulators of P pixels, and P's output pointers' registers.
#define TINYOPS_PXN_EACH2(OP) OP("r4") OP("r5")
#define TINYOPS_PXN_EACH3(OP) TINYOPS_PXN_EACH2(OP) OP("r6")
#define TINYOPS_PXN_EACH4(OP) TINYOPS_PXN_EACH3(OP) OP("r7")
#define TINYOPS_PXN_EACH5(OP) TINYOPS_PXN_EACH4(OP) OP("r8")
#define TINYOPS_PXN_EACH6(OP) TINYOPS_PXN_EACH5(OP) OP("r9")
#define TINYOPS_PXN_OBREGS2 "{r0-r1}"
#define TINYOPS_PXN_OBREGS3 "{r0-r2}"
#define TINYOPS_PXN_OBREGS4 "{r0-r3}"
#define TINYOPS_PXN_OBREGS5 "{r0-r3, r10}"
#define TINYOPS_PXN_OBREGS6 "{r0-r3, r10, r11}"
#define TINYOPS_PXN_STORE2 "strb   r4, [r0], #1\n\tstrb   r5, [r1], #1\n\t"
#define TINYOPS_PXN_STORE3 TINYOPS_PXN_STORE2 "strb   r6, [r2], #1\n\t"
#define TINYOPS_PXN_STORE4 TINYOPS_PXN_STORE3 "strb   r7, [r3], #1\n\t"
#define TINYOPS_PXN_STORE5 TINYOPS_PXN_STORE4 "strb   r8, [r10], #1\n\t"
#define TINYOPS_PXN_STORE6 TINYOPS_PXN_STORE5 "strb   r9, [r11], #1\n\t"
// Pixels 1 .. P-1 start from the bias in r4 (the M4's first group starts
// pixel 1 itself).
#define TINYOPS_PXN_BIAS_FROM2_2 ""
#define TINYOPS_PXN_BIAS_FROM2_3 "mov    r6, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_4 TINYOPS_PXN_BIAS_FROM2_3 "mov    r7, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_5 TINYOPS_PXN_BIAS_FROM2_4 "mov    r8, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_6 TINYOPS_PXN_BIAS_FROM2_5 "mov    r9, r4\n\t"
// The odd half of the weight word is unpacked after the first LDM, where the
// M7 issues it together with the first SMLAD (an SXTB16 pairs only as the
// older instruction, an LDM with nothing).
#define TINYOPS_PXN_MACS(a, b)        \
  "smlad  " a ", r0, r10, " a "\n\t"  \
  "smlad  " a ", r1, r11, " a "\n\t"  \
  "smlad  " b ", r2, r10, " b "\n\t"  \
  "smlad  " b ", r3, r11, " b "\n\t"
#define TINYOPS_PXN_PAIR(a, b) "ldmia  ip!, {r0-r3}\n\t" TINYOPS_PXN_MACS(a, b)
#define TINYOPS_PXN_W_LDM          \
  "ldr    r11, [lr], #4\n\t"       \
  "sxtb16 r10, r11\n\t"            \
  "ldmia  ip!, {r0-r3}\n\t"        \
  "sxtb16 r11, r11, ror #8\n\t"
#if defined(TINYOPS_CORTEX_M7)
// Cortex-M7: an LDM issues alone, for 2 cycles per 4 registers, while a
// single LDR pairs with an SMLAD. So each unpacked word is loaded by its own
// LDR at a fixed offset (no write-back, so no load waits for the pointer),
// placed as the older instruction beside the SMLAD that consumes the word
// loaded one cycle before: about 13 cycles per 24 MACs instead of 20.
// TINYOPS_PXN_M7_GROUP##P(X, W): the group X bytes past ip, weight word W
// bytes past lr; TINYOPS_PXN_ADVANCE(P, n) then moves both past n groups.
#define TINYOPS_PXN_M7_TO2(X, W)          \
  "ldr    r11, [lr, #" W "]\n\t"          \
  "ldr    r0, [ip, #(" X ")]\n\t"         \
  "sxtb16 r10, r11\n\t"                   \
  "ldr    r1, [ip, #(" X "+4)]\n\t"       \
  "sxtb16 r11, r11, ror #8\n\t"           \
  "smlad  r4, r0, r10, r4\n\t"            \
  "ldr    r2, [ip, #(" X "+8)]\n\t"       \
  "smlad  r4, r1, r11, r4\n\t"            \
  "ldr    r3, [ip, #(" X "+12)]\n\t"      \
  "smlad  r5, r2, r10, r5\n\t"
#define TINYOPS_PXN_M7_GROUP2(X, W) TINYOPS_PXN_M7_TO2(X, W) "smlad  r5, r3, r11, r5\n\t"
#define TINYOPS_PXN_M7_TO3(X, W)          \
  TINYOPS_PXN_M7_TO2(X, W)                \
  "ldr    r0, [ip, #(" X "+16)]\n\t"      \
  "smlad  r5, r3, r11, r5\n\t"            \
  "ldr    r1, [ip, #(" X "+20)]\n\t"      \
  "smlad  r6, r0, r10, r6\n\t"
#define TINYOPS_PXN_M7_GROUP3(X, W) TINYOPS_PXN_M7_TO3(X, W) "smlad  r6, r1, r11, r6\n\t"
#define TINYOPS_PXN_M7_HEAD(X, W)         \
  TINYOPS_PXN_M7_TO3(X, W)                \
  "ldr    r2, [ip, #(" X "+24)]\n\t"      \
  "smlad  r6, r1, r11, r6\n\t"            \
  "ldr    r3, [ip, #(" X "+28)]\n\t"      \
  "smlad  r7, r2, r10, r7\n\t"
#define TINYOPS_PXN_M7_GROUP4(X, W) TINYOPS_PXN_M7_HEAD(X, W) "smlad  r7, r3, r11, r7\n\t"
#define TINYOPS_PXN_M7_TO5(X, W)          \
  TINYOPS_PXN_M7_HEAD(X, W)               \
  "ldr    r0, [ip, #(" X "+32)]\n\t"      \
  "smlad  r7, r3, r11, r7\n\t"            \
  "ldr    r1, [ip, #(" X "+36)]\n\t"      \
  "smlad  r8, r0, r10, r8\n\t"
#define TINYOPS_PXN_M7_GROUP5(X, W) TINYOPS_PXN_M7_TO5(X, W) "smlad  r8, r1, r11, r8\n\t"
#define TINYOPS_PXN_M7_GROUP6(X, W)       \
  TINYOPS_PXN_M7_TO5(X, W)                \
  "ldr    r2, [ip, #(" X "+40)]\n\t"      \
  "smlad  r8, r1, r11, r8\n\t"            \
  "ldr    r3, [ip, #(" X "+44)]\n\t"      \
  "smlad  r9, r2, r10, r9\n\t"            \
  "smlad  r9, r3, r11, r9\n\t"
#define TINYOPS_PXN_ADVANCE(P, n)             \
  "add    ip, ip, #(8*" #P "*" #n ")\n\t"     \
  "add    lr, lr, #(4*" #n ")\n\t"
#define TINYOPS_PXN_GRP(P, g) TINYOPS_PXN_M7_GROUP##P("8*" #P "*" #g, "4*" #g)
#define TINYOPS_PXN_GROUP4(P)                                                    \
  TINYOPS_PXN_GRP(P, 0) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_GRP(P, 3) \
      TINYOPS_PXN_ADVANCE(P, 4)
// The first group, at offset 0, starts every pixel from the bias in r4; the
// groups before the loop (PRE, from offset 8P) advance past it too. Without
// PRE groups the first group advances alone.
#define TINYOPS_PXN_FIRST(P) \
  "mov    r5, r4\n\t" TINYOPS_PXN_BIAS_FROM2_##P TINYOPS_PXN_GRP(P, 0)
#define TINYOPS_PXN_PRE0(P) TINYOPS_PXN_ADVANCE(P, 1)
#define TINYOPS_PXN_PRE1(P) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_ADVANCE(P, 2)
#define TINYOPS_PXN_PRE2(P) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_ADVANCE(P, 3)
#define TINYOPS_PXN_PRE3(P) \
  TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_GRP(P, 3) TINYOPS_PXN_ADVANCE(P, 4)
#else
// Cortex-M4: LDM of two pixels' words (1 + 4 cycles; four LDRs would take
// as many and a register more), an odd fifth pixel by LDRD.
#define TINYOPS_PXN_REST2 ""
#define TINYOPS_PXN_REST3 \
  "ldrd   r0, r1, [ip], #8\n\tsmlad  r6, r0, r10, r6\n\tsmlad  r6, r1, r11, r6\n\t"
#define TINYOPS_PXN_REST4 TINYOPS_PXN_PAIR("r6", "r7")
#define TINYOPS_PXN_REST5 \
  TINYOPS_PXN_REST4 "ldrd   r0, r1, [ip], #8\n\tsmlad  r8, r0, r10, r8\n\tsmlad  r8, r1, r11, r8\n\t"
#define TINYOPS_PXN_REST6 TINYOPS_PXN_REST4 TINYOPS_PXN_PAIR("r8", "r9")
#define TINYOPS_PXN_GROUP(P) TINYOPS_PXN_W_LDM TINYOPS_PXN_MACS("r4", "r5") TINYOPS_PXN_REST##P
#define TINYOPS_PXN_GROUP4(P) \
  TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
// The first group starts pixels 2 .. P-1 from the bias in r4, then pixel 1
// from it before pixel 0 adds to it.
#define TINYOPS_PXN_FIRST(P)                                                     \
  TINYOPS_PXN_BIAS_FROM2_##P TINYOPS_PXN_W_LDM                                   \
  "smlad  r5, r2, r10, r4\n\t"                                                   \
  "smlad  r5, r3, r11, r5\n\t"                                                   \
  "smlad  r4, r0, r10, r4\n\t"                                                   \
  "smlad  r4, r1, r11, r4\n\t" TINYOPS_PXN_REST##P
#define TINYOPS_PXN_PRE0(P) ""
#define TINYOPS_PXN_PRE1(P) TINYOPS_PXN_GROUP(P)
#define TINYOPS_PXN_PRE2(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
#define TINYOPS_PXN_PRE3(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
#endif
#define TINYOPS_PXN_SMMLAR(a) "smmlar " a ", " a ", r0, " a "\n\t"
#define TINYOPS_PXN_SIGN(a) "add    " a ", " a ", " a ", asr #31\n\t"
#define TINYOPS_PXN_QADD(a) "qadd   " a ", " a ", r1\n\t"
#define TINYOPS_PXN_SHIFT(a) "asr    " a ", " a ", r2\n\t"
#define TINYOPS_PXN_SUB(a) "sub    " a ", " a ", r3\n\t"
#define TINYOPS_PXN_SSAT(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_PXN_ADD(a) "add    " a ", " a ", r0\n\t"
// Output stages (output_stage.h's out_apply) by kind.
#define TINYOPS_PXN_OUT_HIGH(P) \
  TINYOPS_PXN_EACH##P(TINYOPS_PXN_SUB) TINYOPS_PXN_EACH##P(TINYOPS_PXN_SSAT)
#define TINYOPS_PXN_OUT_RANGE(P) \
  TINYOPS_PXN_OUT_HIGH(P) "ldr    r0, [sp, #40]\n\t" TINYOPS_PXN_EACH##P(TINYOPS_PXN_ADD)
#define TINYOPS_PXN_OUT_PLAIN(P) TINYOPS_PXN_EACH##P(TINYOPS_PXN_SSAT)
// PRE: (groups - 1) % 4 more groups before the loop of four groups.
#define TINYOPS_PXN_FN(NAME, P, PRE, OUT)                                        \
  __attribute__((naked, noinline)) inline void NAME(const PxFrame*) {           \
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
        "ldr    ip, [sp, #28]\n\t" TINYOPS_PXN_FIRST(P) PRE(P)                   \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "beq    2f\n\t"                                                          \
        "1:\n\t" TINYOPS_PXN_GROUP4(P)                                           \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "bne    1b\n\t"                                                          \
        "2:\n\t"                                                                 \
        "ldr    ip, [sp, #32]\n\t"                                               \
        "ldmia  ip!, {r0-r3}\n\t"                                                \
        "str    ip, [sp, #32]\n\t" TINYOPS_PXN_EACH##P(TINYOPS_PXN_SMMLAR)       \
        TINYOPS_PXN_EACH##P(TINYOPS_PXN_SIGN) TINYOPS_PXN_EACH##P(TINYOPS_PXN_QADD) \
        TINYOPS_PXN_EACH##P(TINYOPS_PXN_SHIFT) OUT(P)                            \
        "ldmia  sp, " TINYOPS_PXN_OBREGS##P "\n\t" TINYOPS_PXN_STORE##P          \
        "stmia  sp, " TINYOPS_PXN_OBREGS##P "\n\t"                               \
        "ldr    r0, [sp, #48]\n\t"                                               \
        "cmp    lr, r0\n\t"                                                      \
        "bne    3b\n\t"                                                          \
        "add    sp, sp, #52\n\t"                                                 \
        "pop    {r4-r11, pc}\n\t");                                              \
  }
#define TINYOPS_PXN_FNS(P, KIND, OUT)                                            \
  TINYOPS_PXN_FN(px##P##_##KIND##_0, P, TINYOPS_PXN_PRE0, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_1, P, TINYOPS_PXN_PRE1, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_2, P, TINYOPS_PXN_PRE2, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_3, P, TINYOPS_PXN_PRE3, OUT)                   \
  /* By (groups - 1) % 4. */                                                     \
  inline void px##P##_##KIND(int32_t pre, const PxFrame* f) {                    \
    switch (pre) {                                                               \
      case 0: px##P##_##KIND##_0(f); break;                                      \
      case 1: px##P##_##KIND##_1(f); break;                                      \
      case 2: px##P##_##KIND##_2(f); break;                                      \
      default: px##P##_##KIND##_3(f); break;                                     \
    }                                                                            \
  }
#define TINYOPS_PXN_KINDS(P)                             \
  TINYOPS_PXN_FNS(P, high, TINYOPS_PXN_OUT_HIGH)         \
  TINYOPS_PXN_FNS(P, range, TINYOPS_PXN_OUT_RANGE)       \
  TINYOPS_PXN_FNS(P, plain, TINYOPS_PXN_OUT_PLAIN)
TINYOPS_PXN_KINDS(2)
TINYOPS_PXN_KINDS(3)
TINYOPS_PXN_KINDS(4)
TINYOPS_PXN_KINDS(5)
TINYOPS_PXN_KINDS(6)
static_assert(sizeof(PxFrame) == 52 && sizeof(OutConst) == 16, "offsets in TINYOPS_PXN_FN");

// The P-pixel channel loop of one output-stage kind (P = 2 .. 6).
template <int P, int kKind>
inline void pxn_channels(int32_t pre, const PxFrame* f) {
#define TINYOPS_PXN_CALL(N)                              \
  if (P == N) {                                          \
    if (kKind == kOutHigh) {                             \
      px##N##_high(pre, f);                              \
    } else if (kKind == kOutRange) {                     \
      px##N##_range(pre, f);                             \
    } else {                                             \
      px##N##_plain(pre, f);                             \
    }                                                    \
    return;                                              \
  }
  TINYOPS_PXN_CALL(2)
  TINYOPS_PXN_CALL(3)
  TINYOPS_PXN_CALL(4)
  TINYOPS_PXN_CALL(5)
  TINYOPS_PXN_CALL(6)
#undef TINYOPS_PXN_CALL
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP

