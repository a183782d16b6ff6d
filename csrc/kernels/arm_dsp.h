// Arm DSP-extension helpers (Cortex-M4 / Cortex-M7 and other cores with the
// 32-bit SIMD instructions: SMLAD, SXTB16, PKHBT, QADD, SSAT, SMMLAR) for the
// int8 kernels. Private to csrc/kernels.
//
// Selected at build time: TINYOPS_ARM_DSP is 1 when the compiler targets a
// core with the DSP extension (__ARM_FEATURE_DSP, e.g. -mcpu=cortex-m4 or
// -mcpu=cortex-m7) unless TINYOPS_NO_ARM_DSP or TINYOPS_PORTABLE_ONLY is
// defined; every other target keeps the portable paths.
//
// Intrinsics come from the compiler's own <arm_acle.h>. The few single
// instructions that GCC's ACLE header does not offer (SXTB16 with its built-in
// byte rotation, PKHBT / PKHTB, SMMLAR) are one-instruction inline asm.
//
// int8 data is consumed four bytes at a time: a word [b0 b1 b2 b3] is split
// into the int16 pairs (b0, b2) = even16() and (b1, b3) = odd16(). Splitting
// both operands of a dot product the same way pairs matching elements, so
//   smlad(even16(x), even16(w), smlad(odd16(x), odd16(w), acc))
//     == acc + x0*w0 + x1*w1 + x2*w2 + x3*w3   (mod 2^32, as SMLAD wraps).
#pragma once
#include <cstdint>

#if defined(__ARM_FEATURE_DSP) && !defined(TINYOPS_NO_ARM_DSP) && !defined(TINYOPS_PORTABLE_ONLY)
#define TINYOPS_ARM_DSP 1
#include <arm_acle.h>
#else
#define TINYOPS_ARM_DSP 0
#endif

#if TINYOPS_ARM_DSP
// GCC's first (pre-register-allocation) scheduling pass hoists every load of
// a loop iteration to its top, which costs the register-tight inner loops a
// spill per iteration; functions holding such loops opt out of that pass.
#if defined(__GNUC__) && !defined(__clang__)
#define TINYOPS_DSP_NO_PRESCHED __attribute__((optimize("no-schedule-insns")))
#else
#define TINYOPS_DSP_NO_PRESCHED
#endif

namespace tinyops {
namespace arm_dsp {

#define TINYOPS_DSP_INLINE inline __attribute__((always_inline))

// Four int8 as one word, any alignment (LDR allows unaligned addresses on
// ARMv7-M; memcpy keeps the compiler from assuming alignment).
TINYOPS_DSP_INLINE uint32_t load4(const int8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
TINYOPS_DSP_INLINE void store2(int8_t* p, uint32_t v) {
  const uint16_t h = static_cast<uint16_t>(v);
  __builtin_memcpy(p, &h, 2);
}

// Bytes 0 and 2 of x, sign-extended into two int16 halves.
TINYOPS_DSP_INLINE int32_t even16(uint32_t x) { return __sxtb16(static_cast<int32_t>(x)); }
// Bytes 1 and 3 of x, sign-extended into two int16 halves.
TINYOPS_DSP_INLINE int32_t odd16(uint32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
// Halves (a[15:0], b[15:0]).
TINYOPS_DSP_INLINE uint32_t pack_low_halves(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// Halves (a[31:16], b[31:16]).
TINYOPS_DSP_INLINE uint32_t pack_high_halves(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
}
// (c * 2^32 + a * b + 2^31) >> 32, the top word of the exact 64-bit sum.
TINYOPS_DSP_INLINE int32_t smmlar(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}

// ---------------------------------------------------------------------------
// Output stage in five ALU instructions (plus the clamp).
//
// TFLM computes, for multiplier m >= 0, left shift 0 and right shift e:
//   h = SaturatingRoundingDoublingHighMul(acc, m) = floor((acc * m + 2^30) / 2^31)
//   r = RoundingDivideByPOT(h, e)          (round half away from zero)
//   v = clamp(r + output_offset, act_min, act_max)
// With m in [2^30, 2^31), m2 = 2m - 2^32 fits int32 and
//   acc * 2m + 2^31 = acc * 2^32 + acc * m2 + 2^31, so h = SMMLAR(acc, m2, acc)
// (exact: the instruction keeps the whole 64-bit sum). For e >= 1,
//   r + off = floor((h - [h < 0] + 2^(e-1) + off * 2^e) / 2^e)
//           = (QADD(h + (h >> 31), c) >> e),   c = 2^(e-1) + off * 2^e.
// QADD saturates only when |h + c| >= 2^31; with e <= 23 the true and the
// saturated quotient are then both >= 255 or both <= -256, which the int8
// clamp (act_min >= -128, act_max <= 127) maps to the same byte. Channels
// outside 1 <= e <= 23 (or with m < 2^30) use the generic output stage.
// ---------------------------------------------------------------------------
struct FastRequant {
  int32_t m2;     // 2 * multiplier - 2^32
  int32_t round;  // 2^(e-1) + output_offset * 2^e
  int32_t shift;  // e
};

// Fills fr for one channel; false when the channel needs the generic stage.
inline bool fast_requant_setup(int32_t multiplier, int32_t left_shift, int32_t right_shift,
                               int32_t output_offset, FastRequant* fr) {
  if (left_shift != 0 || right_shift < 1 || right_shift > 23 || multiplier < (1 << 30)) {
    return false;
  }
  fr->m2 = static_cast<int32_t>(static_cast<uint32_t>(multiplier) << 1);
  fr->round = static_cast<int32_t>((1u << (right_shift - 1)) +
                                   (static_cast<uint32_t>(output_offset) << right_shift));
  fr->shift = right_shift;
  return true;
}

// requant + output offset, saturated to int8 (clamp to act_min/act_max left
// to the caller). acc is the full accumulator (bias included).
TINYOPS_DSP_INLINE int32_t fast_requant(int32_t acc, int32_t m2, int32_t round, int32_t shift) {
  int32_t h = smmlar(acc, m2, acc);
  h += h >> 31;
  h = __qadd(h, round);
  return __ssat(h >> shift, 8);
}
TINYOPS_DSP_INLINE int32_t fast_requant(int32_t acc, const FastRequant& fr) {
  return fast_requant(acc, fr.m2, fr.round, fr.shift);
}

// act_min / act_max after an int8 saturation; a no-op when kClamp is false
// (the activation range is the whole int8 range).
template <bool kClamp>
TINYOPS_DSP_INLINE int32_t clamp_act(int32_t v, int32_t lo, int32_t hi) {
  if (kClamp) {
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
  }
  return v;
}

// ---------------------------------------------------------------------------
// The instruction set the ADD / MUL loops of kernels/elementwise.h (ew_dsp)
// are written over (tests/test_elementwise_dsp.py emulates the same set).
TINYOPS_DSP_INLINE int32_t sxtab16_ror8(int32_t a, int32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
TINYOPS_DSP_INLINE int32_t smulbb(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smulbb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TINYOPS_DSP_INLINE int32_t smultt(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smultt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
struct Prims {
  static TINYOPS_DSP_INLINE int32_t smmlar(int32_t a, int32_t b, int32_t c) {
    return arm_dsp::smmlar(a, b, c);
  }
  static TINYOPS_DSP_INLINE int32_t qadd(int32_t a, int32_t b) { return __qadd(a, b); }
  static TINYOPS_DSP_INLINE int32_t ssat8(int32_t x) { return __ssat(x, 8); }
  static TINYOPS_DSP_INLINE int32_t sxtab16(int32_t a, int32_t x) { return __sxtab16(a, x); }
  static TINYOPS_DSP_INLINE int32_t sxtab16_r8(int32_t a, int32_t x) { return sxtab16_ror8(a, x); }
  static TINYOPS_DSP_INLINE int32_t smulbb(int32_t a, int32_t b) { return arm_dsp::smulbb(a, b); }
  static TINYOPS_DSP_INLINE int32_t smultt(int32_t a, int32_t b) { return arm_dsp::smultt(a, b); }
};

#undef TINYOPS_DSP_INLINE

}  // namespace arm_dsp
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
