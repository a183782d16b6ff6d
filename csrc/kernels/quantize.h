// QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32),
// bit-exact with TFLM's reference kernels as built into the pinned x86 wheel.
//
// QUANTIZE float32 -> int8 (TFLM AffineQuantize):
//   q = roundf(x / scale)            float division, round half away from zero
//   v = (int32)q + zero_point        then clamped to [-128, 127]
//   When q is NaN or outside the int32 range, the conversion is undefined
//   behaviour in C++; the x86 oracle's cvttss2si yields INT32_MIN and the
//   zero point is then added with two's-complement wrap. This kernel
//   reproduces exactly that (so e.g. +inf or 1e30 quantize to -128 when
//   zero_point >= 0, and to 127 when zero_point < 0), on every target.
// QUANTIZE int8 -> int8 (TFLM Requantize): out = clamp(MBQM(x - zi, m, s) + zo),
//   m/s from double(si) / double(so); tabulated for all 256 inputs.
// DEQUANTIZE int8 -> float32: out = (float)((double)scale * (x - zero_point)),
//   tabulated for all 256 inputs (so eval does not depend on the FPU's
//   rounding or flush-to-zero mode).
//
// Range API for the partitioned scheduler (no allocation, no failure):
//   quantize_range(p, in, out, begin, end)    in: const float* (float mode) or
//                                             const int8_t* (requantize mode)
//   dequantize_range(p, in, out, begin, end)
//   Element i in [begin, end) of the whole tensors; in-place is not allowed.
#pragma once
#include <cstdint>

namespace tinyops {

struct QuantizeParams {
  int32_t from_float;  // 1: float32 input, 0: int8 input (requantize)
  float scale;         // output scale (float mode)
  int32_t zero_point;  // output zero point (float mode)
  int64_t num_elements;
  int8_t lut[256];  // requantize mode: output for input v at lut[(uint8_t)v]
};

struct DequantizeParams {
  int64_t num_elements;
  float lut[256];  // output for input v at lut[(uint8_t)v]
};

// TFLM's float -> int8 conversion of one value (the definition).
int8_t quantize_float_value(float x, float scale, int32_t zero_point);

void quantize_range(const QuantizeParams& p, const void* in, int8_t* out, int64_t begin,
                    int64_t end);
void dequantize_range(const DequantizeParams& p, const int8_t* in, float* out, int64_t begin,
                      int64_t end);
inline uint32_t quantize_scratch_size(const QuantizeParams&) { return 0; }
inline uint32_t dequantize_scratch_size(const DequantizeParams&) { return 0; }

}  // namespace tinyops
