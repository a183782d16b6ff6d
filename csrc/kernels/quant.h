// Fixed-point requantization exactly as TFLM's reference kernels do it
// (gemmlowp-style double rounding: a saturating rounding doubling high
// multiply followed by a rounding right shift).
#pragma once
#include <cstdint>
#include <limits>

#include "tinyops/types.h"

namespace tinyops {

inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // Division truncates toward zero, which is the point of the nudge.
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

// Round-half-away-from-zero division by 2^exponent, exponent in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLM MultiplyByQuantizedMultiplier(int32_t, int32_t, int) (double rounding).
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  // Wrapping multiply on purpose: TFLM relies on the same two's-complement wrap.
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier),
                                right_shift);
}

inline int32_t multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x, int32_t multiplier,
                                                                     int left_shift) {
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -left_shift);
}

inline int32_t multiply_by_quantized_multiplier_greater_than_one(int32_t x, int32_t multiplier,
                                                                 int left_shift) {
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return saturating_rounding_doubling_high_mul(shifted, multiplier);
}

// TFLM MultiplyByQuantizedMultiplier(int64_t, int32_t, int): the 16-bit
// "reduced multiplier" variant used by int16 paths.
int32_t multiply_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int shift);

// TFLite QuantizeMultiplier: m = q * 2^shift, q in [2^30, 2^31) as Q31.
// Returns false for a value TFLM would reject (negative or non-finite).
bool quantize_multiplier(double m, int32_t* quantized, int* shift);
// Variants that additionally check the range TFLM asserts on; they return
// false where TFLM's TFLITE_CHECK would abort.
bool quantize_multiplier_smaller_than_one_exp(double m, int32_t* quantized, int* left_shift);
bool quantize_multiplier_greater_than_one(double m, int32_t* quantized, int* left_shift);

// TFLite's Quantize helper (float math, round half away from zero).
bool quantize_value(float scale, int32_t zero_point, float f, int32_t* q);

// TFLite CalculateActivationRangeQuantized for int8 (or int16) outputs.
bool activation_range_quantized(int32_t activation, DType type, float scale, int32_t zero_point,
                                int32_t* act_min, int32_t* act_max);

inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace tinyops
