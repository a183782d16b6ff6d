// Output stage of the Arm DSP convolution kernels (arm/gemm_dsp.h,
// arm/depthwise_dsp.h): TFLM's requantization + output offset + fused
// activation clamp in 6 or 7 instructions per value, from 4 per-channel
// constants. Written over an instruction set P (as kernels/elementwise.h's
// ew_dsp) so tests/cpp/output_stage_harness.cc checks the very formulas on the
// host with portable emulations of SMMLAR / QADD / SSAT; the firmware uses
// arm_dsp::Prims.
//
// TFLM computes, for multiplier m in [2^30, 2^31), left shift 0 and right
// shift e in [1, 23] (other channels use TFLM's generic stage):
//   h = SaturatingRoundingDoublingHighMul(acc, m) = floor((acc * 2m + 2^31) / 2^32)
//   v = RoundingDivideByPOT(h, e) + off = floor((h' + 2^(e-1) + off * 2^e) / 2^e),
//       h' = h - [h < 0]   (round half away from zero)
//   out = min(max(v, lo), hi)          (lo = act_min <= hi = act_max, int8)
// Instructions:
//   h  = SMMLAR(acc, m2, acc)   with m2 = 2m - 2^32 (exact: acc * 2m = acc * 2^32 + acc * m2)
//   h' = h + (h >> 31)
//   z  = QADD(h', R) >> e
// The upper clamp (act_max, at most 127) is QADD's own saturation. With
// M = 2^(31-e) - 1 and D = M - hi, R = 2^(e-1) + (off + D) * 2^e, i.e. the
// exact sum T = h' + R is v's numerator plus D * 2^e, and z = QADD(h', R) >> e:
//   * no saturation: z = v + D <= M, so v <= hi and z - D = v = min(v, hi);
//   * T >= 2^31: z = M, z - D = hi, and v >= hi + 1, so min(v, hi) = hi;
//   * T < -2^31: z - D = hi + 1 - 2^(32-e) <= -384 (e <= 23), and v is as
//     low, so both clamp to lo below.
// Then out = SSAT8(z - S) + A with A = lo + 128, S = D + A: SSAT8 binds only
// from below (min(v, hi) - A <= hi - lo - 128 <= 127), where it gives lo; so
// out = max(min(v, hi), lo) = min(max(v, lo), hi) as lo <= hi. Kind kHigh
// (lo = -128, any hi, the whole int8 range included) has A = 0 and skips the
// add: 6 instructions; kRange (lo > -128) 7. R fits int32 iff hi >= off.
// Kind kPlain (lo = -128, hi = 127; only where instantiated, see out_op):
// R = 2^(e-1) + off * 2^e and out = SSAT8(z): QADD saturates only when
// |T| >= 2^31, and then the true and the saturated quotient are both >= 255
// or both <= -256 (e <= 23), which SSAT8 maps to the same byte. 5 instructions.
#pragma once
#include <cstdint>

#include "kernels/quant.h"

namespace tinyops {
namespace arm_kernels {

// The per-channel constants (16 bytes, loaded with one LDM / two LDRD).
struct OutConst {
  int32_t m2;     // 2 * multiplier - 2^32
  int32_t round;  // R above
  int32_t shift;  // e
  int32_t sub;    // S above
};

enum OutKind : int32_t {
  kOutHigh = 0,   // act_min == -128 (act_max anything, 127 included)
  kOutRange = 1,  // act_min > -128
  kOutPlain = 2,  // act range = int8 range, R without D and no S: 5 instructions
};

// The op-wide part of the constants. With D = 2^(31-e) - 1 - hi:
//   R = 2^(e-1) + (off + D) * 2^e = 2^(e-1) + (off - hi - 1) * 2^e + 2^31
//   S = D + lo + 128 = 2^(31-e) + (lo + 128 - 1 - hi)
struct OutOp {
  OutKind kind;
  bool ok;        // false: no channel can use the fast stage (act_max < offset)
  int32_t off_term;  // off - hi - 1
  int32_t sub_term;  // lo + 128 - 1 - hi
};

// plain: use kOutPlain when the range is the whole int8 range (callers that
// instantiate it).
inline OutOp out_op(int32_t output_offset, int32_t act_min, int32_t act_max, bool plain = false) {
  OutOp op{};
  op.kind = act_min > -128 ? kOutRange : kOutHigh;
  if (plain && act_min == -128 && act_max == 127) op.kind = kOutPlain;
  op.ok = act_max >= output_offset && act_min <= act_max;
  op.off_term = op.kind == kOutPlain ? output_offset : output_offset - act_max - 1;
  op.sub_term = act_min + 128 - 1 - act_max;
  return op;
}

// The per-channel constants with the op-wide parts hoisted (they are set up
// for every channel of every invoke, which small layers notice):
//   R = 2^(e-1) + off_term * 2^e + 2^31, S = 2^(31-e) + sub_term;
//   kOutPlain: R = 2^(e-1) + off * 2^e, S unused (0).
// (32-bit wrapping arithmetic: R's true value fits int32 whenever make()
// returns true, see above, so the wrapped bit pattern is R.)
struct OutConstMaker {
  uint32_t off, top, sub_term, sub_mask;
  explicit OutConstMaker(const OutOp& op)
      : off(static_cast<uint32_t>(op.off_term)),
        top(op.kind == kOutPlain ? 0u : 0x80000000u),
        sub_term(static_cast<uint32_t>(op.sub_term)),
        sub_mask(op.kind == kOutPlain ? 0u : ~0u) {}
  // Fills c for one channel of an op whose OutOp is ok; false when the
  // channel needs TFLM's generic stage.
  bool make(int32_t multiplier, int32_t left_shift, int32_t e, OutConst* c) const {
    if (left_shift != 0 || static_cast<uint32_t>(e - 1) > 22u || multiplier < (1 << 30)) {
      return false;
    }
    c->m2 = static_cast<int32_t>(static_cast<uint32_t>(multiplier) << 1);
    c->round = static_cast<int32_t>((1u << (e - 1)) + (off << e) + top);
    c->shift = e;
    c->sub = static_cast<int32_t>(((0x80000000u >> e) + sub_term) & sub_mask);
    return true;
  }
};

// Fills c for one channel; false when the channel needs TFLM's generic stage.
inline bool out_const_setup(const OutOp& op, int32_t multiplier, int32_t left_shift,
                            int32_t right_shift, OutConst* c) {
  return op.ok && OutConstMaker(op).make(multiplier, left_shift, right_shift, c);
}

// What TFLM's generic stage needs; arrays start at the tile's first channel.
struct OutParams {
  const int32_t* multiplier;
  const int32_t* left_shift;
  const int32_t* right_shift;
  int32_t output_offset;
  int32_t act_min;
  int32_t act_max;
};

// TFLM's output stage for channel c (shift = left - right, one is zero).
inline int32_t out_generic(int32_t acc, const OutParams& o, int32_t c) {
  int32_t v = multiply_by_quantized_multiplier(acc, o.multiplier[c],
                                               o.left_shift[c] - o.right_shift[c]) +
              o.output_offset;
  v = v > o.act_min ? v : o.act_min;
  return v < o.act_max ? v : o.act_max;
}

// The output byte (as int32) of accumulator acc. add = act_min + 128 (kRange).
template <class P, int kKind>
inline __attribute__((always_inline)) int32_t out_apply(int32_t acc, int32_t m2, int32_t round,
                                                        int32_t shift, int32_t sub, int32_t add) {
  int32_t h = P::smmlar(acc, m2, acc);
  h += h >> 31;
  h = P::qadd(h, round) >> shift;
  if (kKind == kOutPlain) return P::ssat8(h);
  h = P::ssat8(h - sub);
  return kKind == kOutRange ? h + add : h;
}

}  // namespace arm_kernels
}  // namespace tinyops
