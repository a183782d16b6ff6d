#include "quant.h"

#include <cmath>

namespace tinyops {

int32_t multiply_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;
  const int64_t rounded = x * static_cast<int64_t>(reduced) + (int64_t{1} << (total_shift - 1));
  return static_cast<int32_t>(rounded >> total_shift);
}

bool quantize_multiplier(double m, int32_t* quantized, int* shift) {
  if (m == 0.0) {
    *quantized = 0;
    *shift = 0;
    return true;
  }
  if (!std::isfinite(m)) return false;
  const double q = std::frexp(m, shift);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(int64_t{1} << 31)));
  if (q_fixed > (int64_t{1} << 31)) return false;
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (q_fixed > std::numeric_limits<int32_t>::max()) return false;
  // Below 2^-31 everything would be shifted out: TFLM flushes to zero.
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  *quantized = static_cast<int32_t>(q_fixed);
  return true;
}

bool quantize_multiplier_smaller_than_one_exp(double m, int32_t* quantized, int* left_shift) {
  if (!(m < 1.0) || !(m > 0.0)) return false;
  int shift = 0;
  if (!quantize_multiplier(m, quantized, &shift) || shift > 0) return false;
  *left_shift = shift;
  return true;
}

bool quantize_multiplier_greater_than_one(double m, int32_t* quantized, int* left_shift) {
  if (!(m > 1.0)) return false;
  if (!quantize_multiplier(m, quantized, left_shift)) return false;
  return *left_shift >= 0;
}

bool quantize_value(float scale, int32_t zero_point, float f, int32_t* q) {
  const float tmp = std::round(f / scale);
  if (!(tmp >= static_cast<float>(std::numeric_limits<int32_t>::min()) &&
        tmp <= static_cast<float>(std::numeric_limits<int32_t>::max()))) {
    return false;
  }
  *q = zero_point + static_cast<int32_t>(tmp);
  return true;
}

bool activation_range_quantized(int32_t activation, DType type, float scale, int32_t zero_point,
                                int32_t* act_min, int32_t* act_max) {
  int32_t qmin = -128, qmax = 127;
  if (type == DType::kInt16) {
    qmin = -32768;
    qmax = 32767;
  } else if (type == DType::kUInt8) {
    qmin = 0;
    qmax = 255;
  }
  int32_t t = 0;
  switch (activation) {
    case kActNone:
      *act_min = qmin;
      *act_max = qmax;
      return true;
    case kActRelu:
      if (!quantize_value(scale, zero_point, 0.0f, &t)) return false;
      *act_min = t > qmin ? t : qmin;
      *act_max = qmax;
      return true;
    case kActRelu6:
      if (!quantize_value(scale, zero_point, 0.0f, &t)) return false;
      *act_min = t > qmin ? t : qmin;
      if (!quantize_value(scale, zero_point, 6.0f, &t)) return false;
      *act_max = t < qmax ? t : qmax;
      return true;
    case kActReluN1To1:
      if (!quantize_value(scale, zero_point, -1.0f, &t)) return false;
      *act_min = t > qmin ? t : qmin;
      if (!quantize_value(scale, zero_point, 1.0f, &t)) return false;
      *act_max = t < qmax ? t : qmax;
      return true;
    default: return false;
  }
}

}  // namespace tinyops
