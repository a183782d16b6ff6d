// Arm DSP GEMM: 4 pixels x 2 channels over weights unpacked per channel
// pair (pair4_*, gemm_pair4_dsp.h): the unpacking and the call frame. Part
// of gemm_dsp.h (see there for the design and the exactness argument);
// include that, not this.
//
// Why: the P-pixel x 1-channel blocks (gemm_pxn_dsp.h) unpack each weight
// word (LDR + two SXTB16) for every P pixels and load one pixel word per
// SMLAD. Two channels share every pixel word, but holding two channels'
// weight words unpacked and a row pointer each leaves too few of the 14
// registers. So the pair's two rows are unpacked ONCE per pixel block into
// int16 words (we0, wo0, we1, wo1 per depth group: unpack_pair) and read
// back at fixed offsets, 4 words a group for the 4 pixels x 2 channels of a
// sub-block: 28 instructions per 32 MACs, 32 cycles on the Cortex-M4 and 16
// on the Cortex-M7 (the 1-channel blocks about 41 and 17). Unpacking a pair
// costs about 13 cycles a depth group on the M4, so the path pays when a
// block holds at least kPairMinPixels pixels (kGemmStackUnpackedBytes: 21
// at K = 960 on the M4, 8 on the M7).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/gemm_px_dsp.h"
#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"

#if TINYOPS_ARM_DSP
#define TINYOPS_ARM_GEMM_PAIRS 1
namespace tinyops {
namespace arm_kernels {

// Pixels of a sub-block (pair4_*), and a block needs at least (multiples).
constexpr int32_t kPairSubPixels = 4;
constexpr int32_t kPairMinPixels = 8;

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
      ".p2align 2\n\t1:\n\t"
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

// One call: every S-pixel sub-block (S = kPairSubPixels) of a pixel block x
// one channel pair. The assembly copies it to its stack frame (the same
// offsets from sp).
struct PairFrame {
  const int32_t* xb;     // +0: the first sub-block (expand_pixels, P = S); the rest follow
  const int32_t* xend;   // +4: end of the last sub-block
  const int32_t* pw;     // +8: the pair's unpacked weights (unpack_pair)
  const int32_t* pwend;  // +12: pw + 4 words a depth group
  const OutConst* oc;    // +16: the pair's first channel's constants (the second's follow)
  int32_t be0;           // +20: the pair's biases
  int32_t be1;           // +24
  int8_t* const* ob;     // +28: the block's pixels' outputs, S a sub-block (a cursor)
  int32_t ch;            // +32: the pair's first channel, as an offset from ob[p]
  int32_t add;           // +36: act_min + 128 (kOutRange)
};
static_assert(sizeof(PairFrame) == 40, "offsets in TINYOPS_PAIR4_FN");

}  // namespace arm_kernels
}  // namespace tinyops

#include "kernels/arm/gemm_pair4_dsp.h"

namespace tinyops {
namespace arm_kernels {

// Every sub-block of f x one channel pair of `groups` depth groups.
template <int kKind>
inline void pair_sub_blocks(int32_t groups, const PairFrame* f) {
  const int32_t pre = (groups - 1) & 3;
  const bool loop = groups > 4;
  if (kKind == kOutHigh) {
    pair4_high(pre, loop, f);
  } else if (kKind == kOutRange) {
    pair4_range(pre, loop, f);
  } else {
    pair4_plain(pre, loop, f);
  }
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
