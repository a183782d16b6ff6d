// The int8 output stage of the window and GEMM kernels (CONV_2D,
// DEPTHWISE_CONV_2D, FULLY_CONNECTED): TFLM's per-channel requantization of
// int32 accumulators, scalar and for rows of channels. The x86 SIMD levels
// (x86/requant_*.h) and the Arm DSP output stage (arm/output_stage.h) compute
// these same bytes.
#pragma once
#include <cstdint>

#include "kernels/quant.h"
#include "kernels/x86/dispatch.h"

namespace tinyops {
namespace conv_detail {

// Wrapping int32 arithmetic (two's complement, no signed-overflow UB), as
// TFLM's int32 accumulators wrap.
inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wrap_mul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}

// TFLM's output stage: MultiplyByQuantizedMultiplier (double rounding), add the
// output offset, then std::max(act_min) followed by std::min(act_max).
// Requires multiplier >= 0 (prepare guarantees it), so the saturating case of
// SaturatingRoundingDoublingHighMul (both operands INT32_MIN) cannot occur.
// With multiplier >= 0 the product a * m never hits the saturating case, and
// TFLM's nudge-then-truncate (nudge 2^30 for a product >= 0, 1 - 2^30 below)
// equals floor((a * m + 2^30) / 2^31) in both cases.
inline int32_t requant_value(int32_t acc, int32_t multiplier, int32_t left_shift,
                             int32_t right_shift) {
  const int32_t a = static_cast<int32_t>(static_cast<uint32_t>(acc) << left_shift);
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(multiplier);
  const int32_t high = static_cast<int32_t>((ab + (int64_t{1} << 30)) >> 31);
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << right_shift) - 1u);
  const int32_t rem = high & mask;
  const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
  return (high >> right_shift) + (rem > threshold ? 1 : 0);
}

inline int8_t requant_clamp(int32_t acc, int32_t multiplier, int32_t left_shift,
                            int32_t right_shift, int32_t output_offset, int32_t act_min,
                            int32_t act_max) {
  int32_t v = requant_value(acc, multiplier, left_shift, right_shift) + output_offset;
  v = v < act_min ? act_min : v;
  v = v > act_max ? act_max : v;
  return static_cast<int8_t>(v);
}

// Per-channel output stage, arrays indexed by absolute output channel.
struct Requant {
  const int32_t* multiplier;
  const int32_t* left_shift;
  const int32_t* right_shift;
  int32_t output_offset;
  int32_t act_min;
  int32_t act_max;
};

// outs[r][out_off + i] = requant(acc[r * acc_stride + i] + bias[i]) (wrapping
// add; bias may be nullptr) for rows r < rows and channels c0 + i, i < n.
inline void requant_rows(const int32_t* __restrict acc, int32_t acc_stride, int32_t rows, int32_t n,
                         const int32_t* __restrict bias, const Requant& rq, int32_t c0,
                         int8_t* const* outs, int32_t out_off) {
  if (const auto simd = x86::kernels().requant_rows) {
    simd(acc, acc_stride, rows, n, bias, rq, c0, outs, out_off);
    return;
  }
  const int32_t* __restrict m = rq.multiplier + c0;
  const int32_t* __restrict ls = rq.left_shift + c0;
  const int32_t* __restrict rs = rq.right_shift + c0;
  const int32_t off = rq.output_offset, lo = rq.act_min, hi = rq.act_max;
  for (int32_t row = 0; row < rows; ++row) {
    const int32_t* __restrict a = acc + row * acc_stride;
    int8_t* __restrict out = outs[row] + out_off;
    if (bias) {
      for (int32_t i = 0; i < n; ++i) {
        out[i] = requant_clamp(wrap_add(a[i], bias[i]), m[i], ls[i], rs[i], off, lo, hi);
      }
    } else {
      for (int32_t i = 0; i < n; ++i) out[i] = requant_clamp(a[i], m[i], ls[i], rs[i], off, lo, hi);
    }
  }
}

// The output stage of an op's params (CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED params carry the same fields).
template <class Params>
inline Requant requant_of(const Params& p) {
  return Requant{p.multiplier, p.left_shift, p.right_shift, p.output_offset, p.act_min, p.act_max};
}

// The output stage as TFLM's reference kernels write it (the reference tile
// paths): bias added wrapping, MultiplyByQuantizedMultiplier with the signed
// shift, offset, std::max then std::min.
template <class Params>
inline int8_t reference_output(const Params& p, int32_t c, uint32_t acc, const int32_t* bias) {
  if (bias) acc += static_cast<uint32_t>(bias[c]);
  int32_t v =
      multiply_by_quantized_multiplier(static_cast<int32_t>(acc), p.multiplier[c], p.shift[c]);
  v += p.output_offset;
  v = v > p.act_min ? v : p.act_min;
  v = v < p.act_max ? v : p.act_max;
  return static_cast<int8_t>(v);
}

inline void requant_row(const int32_t* acc, int32_t n, const int32_t* bias, const Requant& rq,
                        int32_t c0, int8_t* out) {
  requant_rows(acc, 0, 1, n, bias, rq, c0, &out, 0);
}

}  // namespace conv_detail
}  // namespace tinyops
