// Arm DSP GEMM, P pixels x 1 channel: the unpacked-pixel layout
// (expand_pixels) and the PxDot loops for K % 4 != 0 (gemm_pxn_dsp.h has the
// rest). Part of gemm_dsp.h (see there for the design and the exactness
// argument); include that, not this.
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
// Unpacked-pixel bytes gemm() keeps on the stack, more than the plan's
// scratch (gemm_layout.h's kUnpackedBytes, 6 KiB: 3 pixels at K = 960, the
// deepest 1x1 convolutions of the zoo's MobileNets, 25 pixels at 5x5). The
// ports keep the main stack in tightly coupled RAM (ports/*/port.cmake) so
// that deep rows too take the channel-pair blocks (gemm_pair_dsp.h): the
// M7's 24 KiB of DTCM hold a channel pair's unpacked weights and 8 such
// pixels (19 KiB; its SRAM budget is unchanged), the M4's 52 KiB of CCM
// 21 pixels (40 KiB: one block for a 5x5 layer's 20 paired pixels, so each
// pair's weights are unpacked once).
#if defined(TINYOPS_CORTEX_M7)
constexpr uint32_t kGemmStackUnpackedBytes = 19456;
#else
constexpr uint32_t kGemmStackUnpackedBytes = 40960;
#endif

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
  __asm__ volatile(".p2align 2\n\t1:\n\t"
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
                   ".p2align 2\n\t1:\n\t" TINYOPS_PX_GROUP(P) TINYOPS_PX_GROUP(P) END          \
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

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP

