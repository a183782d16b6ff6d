// Scalar fixed-point primitives with exactly the integer semantics TFLM's
// reference kernels get from gemmlowp's fixedpoint library (rounding,
// saturation and two's-complement wrap included), plus the transcendental
// helpers built on them: exp of a non-positive value, 1/(1+x), logistic.
//
// These are the *definitions* the LUT-based kernels (activations.cc,
// softmax.cc) are built from: a table is filled in prepare by evaluating the
// functions below for every possible int8 input, so eval is exact by
// construction. Nothing here runs per element in eval.
//
// Conventions: a "Q(i)" value is an int32 raw fixed-point number with i
// integer bits and 31 - i fractional bits (gemmlowp FixedPoint<int32_t, i>).
// Additions and subtractions wrap (the library uses plain int arithmetic and
// relies on it not overflowing in practice; wrapping is what the compiled
// TFLM does when it does).
#pragma once
#include <cstdint>
#include <limits>

#include "kernels/quant.h"

namespace tinyops {
namespace fx {

constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();

inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wrap_sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
inline int32_t wrap_neg(int32_t a) { return wrap_sub(0, a); }

// ---- int16 primitives (used by HARD_SWISH) --------------------------------

// Rounding doubling high multiply of two Q15 values; -1 * -1 saturates.
inline int16_t srdhm16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) {
    return std::numeric_limits<int16_t>::max();
  }
  const int32_t ab = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

// Same, but truncating instead of rounding (an SQDMULH).
inline int16_t sdhm16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) {
    return std::numeric_limits<int16_t>::max();
  }
  const int32_t ab = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  return static_cast<int16_t>(ab / (1 << 15));
}

// Rounding (half away from zero) right shift on int16 with every
// intermediate truncated to int16, as the generic library template does.
// Note the quirk this reproduces for exponent >= 16: the mask becomes -1, so
// e.g. 0 maps to 1.
inline int16_t rounding_divide_by_pot16(int16_t x, int exponent) {
  const int16_t mask = static_cast<int16_t>((int64_t{1} << exponent) - 1);
  const int16_t remainder = static_cast<int16_t>(x & mask);
  const int16_t threshold = static_cast<int16_t>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<int16_t>(static_cast<int16_t>(x >> exponent) +
                              (remainder > threshold ? 1 : 0));
}

// x * 2^amount saturated to int16 (amount in [0, 30]).
inline int16_t saturating_left_shift16(int16_t value, int amount) {
  int64_t r = static_cast<int64_t>(value) * (int64_t{1} << amount);
  if (r > std::numeric_limits<int16_t>::max()) r = std::numeric_limits<int16_t>::max();
  if (r < std::numeric_limits<int16_t>::min()) r = std::numeric_limits<int16_t>::min();
  return static_cast<int16_t>(r);
}

// ---- int32 fixed point ------------------------------------------------------

// Q(a) * Q(b) -> Q(a + b).
inline int32_t fmul(int32_t a, int32_t b) { return saturating_rounding_doubling_high_mul(a, b); }

// x * 2^e, e > 0: saturating; e < 0: rounding right shift.
inline int32_t saturating_rounding_mul_by_pot(int32_t x, int e) {
  if (e == 0) return x;
  if (e < 0) return rounding_divide_by_pot(x, -e);
  const int32_t threshold = static_cast<int32_t>((int64_t{1} << (31 - e)) - 1);
  if (x > threshold) return kInt32Max;
  if (x < -threshold) return kInt32Min;
  return static_cast<int32_t>(static_cast<uint32_t>(x) << e);
}

// Re-expresses a Q(src_bits) value as Q(dst_bits).
inline int32_t rescale(int32_t x, int src_bits, int dst_bits) {
  return saturating_rounding_mul_by_pot(x, src_bits - dst_bits);
}

// gemmlowp's RoundingHalfSum for int32: (a + b) / 2 rounded away from zero.
inline int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = static_cast<int64_t>(a) + static_cast<int64_t>(b);
  const int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int32_t>((sum + sign) / 2);
}

// exp(a) for a in [-1/4, 0), a and the result in Q0.
inline int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t kConstantTerm = 1895147668;     // exp(-1/8) in Q0
  const int32_t kConstantOneThird = 715827883;  // 1/3 in Q0
  // Taylor expansion around -1/8: x = a + 1/8.
  const int32_t x = wrap_add(a, int32_t{1} << 28);
  const int32_t x2 = fmul(x, x);
  const int32_t x3 = fmul(x2, x);
  const int32_t x4 = fmul(x2, x2);
  const int32_t x4_over_4 = saturating_rounding_mul_by_pot(x4, -2);
  const int32_t poly = saturating_rounding_mul_by_pot(
      wrap_add(fmul(wrap_add(x4_over_4, x3), kConstantOneThird), x2), -1);
  return wrap_add(kConstantTerm, fmul(kConstantTerm, wrap_add(x, poly)));
}

// exp(a) for a <= 0 given in Q(integer_bits); result in Q0.
inline int32_t exp_on_negative_values(int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = int32_t{1} << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = wrap_sub(a & mask, one_quarter);
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
  const int32_t remainder = wrap_sub(a_mod_quarter_minus_one_quarter, a);

  // Multiply in exp(-2^k) for each bit k of the remainder above 1/4.
  struct Step {
    int exponent;
    int32_t multiplier;  // exp(-2^exponent) in Q0
  };
  static constexpr Step kSteps[] = {
      {-2, 1672461947}, {-1, 1302514674}, {0, 790015084}, {1, 290630308},
      {2, 39332535},    {3, 720401},      {4, 242},
  };
  for (const Step& s : kSteps) {
    if (integer_bits > s.exponent) {
      const int shift = fractional_bits + s.exponent;
      if (remainder & (int32_t{1} << shift)) result = fmul(result, s.multiplier);
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp = -(int32_t{1} << (36 - integer_bits));  // -32.0
    if (a < clamp) result = 0;
  }
  if (a == 0) result = kInt32Max;  // exp(0) = 1 (saturated Q0 one)
  return result;
}

// 1 / (1 + a) for a in [0, 1), a and the result in Q0 (Newton-Raphson).
inline int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = rounding_half_sum(a, kInt32Max);
  const int32_t kConstant48Over17 = 1515870810;      // Q2
  const int32_t kConstantNeg32Over17 = -1010580540;  // Q2
  const int32_t kOneQ2 = int32_t{1} << 29;
  int32_t x = wrap_add(kConstant48Over17, fmul(half_denominator, kConstantNeg32Over17));
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = fmul(half_denominator, x);    // Q2
    const int32_t one_minus = wrap_sub(kOneQ2, half_denominator_times_x);  // Q2
    x = wrap_add(x, rescale(fmul(x, one_minus), 4, 2));
  }
  // x / 2 as Q1, re-expressed in Q0.
  return rescale(x, 1, 0);
}

// logistic(a) = 1 / (1 + exp(-a)) for a in Q(integer_bits); result in Q0.
inline int32_t logistic(int32_t a, int integer_bits) {
  const bool positive = a > 0;
  const int32_t abs_input = positive ? a : wrap_neg(a);
  const int32_t result_if_positive =
      one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_neg(abs_input), integer_bits));
  const int32_t result_if_negative = wrap_sub(kInt32Max, result_if_positive);
  if (a == 0) return int32_t{1} << 30;  // one half
  return positive ? result_if_positive : result_if_negative;
}

// TFLM's CalculateInputRadius: the largest |input| (in input LSBs) whose
// rescaled value still fits in `input_integer_bits` integer bits.
inline int32_t input_radius(int input_integer_bits, int input_left_shift,
                            int total_signed_bits = 31) {
  const double max_input_rescaled =
      1.0 * ((1 << input_integer_bits) - 1) *
      static_cast<double>(int64_t{1} << (total_signed_bits - input_integer_bits)) /
      static_cast<double>(int64_t{1} << input_left_shift);
  // floor of a non-negative value: truncation.
  return static_cast<int32_t>(static_cast<int64_t>(max_input_rescaled));
}

}  // namespace fx
}  // namespace tinyops
