// Unary int8 activations: RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC.
//
// Each op's TFLM reference integer function is implemented below as a
// per-value "definition" (relu_value, ...). Since the input is int8, prepare
// evaluates that definition for all 256 inputs into a table, and every eval
// path is a table lookup: exact by construction and the fastest option.
//
// Numerics (TFLM reference, double-rounding MultiplyByQuantizedMultiplier):
//   RELU        out = clamp(zo + MBQM(x - zi, m, s), max(zo, -128), 127),
//               m/s from float(si / so).
//   RELU6       out = clamp(x, q(0), q(6)) with q() on the INPUT's quantization
//               (TFLM ignores the output's; q(v) = clamp(round(v / si) + zi)).
//   LEAKY_RELU  x - zi >= 0: zo + MBQM(x - zi, m_id, s_id), m_id from float(si / so)
//               else       : zo +/- MBQM(x - zi, |m_alpha|, s_alpha), m_alpha from
//                            float(si * alpha / so) (sign of alpha kept); clamp int8.
//   HARD_SWISH  TFLM's int16 fixed-point path (reference hard_swish.h) with the
//               "reluish" and output multipliers downscaled to Q15.
//   LOGISTIC    TFLM's integer path: input rescaled to Q4.27 with
//               input_multiplier/left_shift, saturated outside
//               +/- input_range_radius, gemmlowp logistic, output scale 1/256,
//               zero point -128 (output zero point must be -128).
//
// Range API for the partitioned scheduler (no allocation, no failure):
//   activation_range(p, in, out, begin, end): out[i] = p.lut[(uint8_t)in[i]]
//   for i in [begin, end); `in`/`out` are the whole tensors (or any views with
//   the same indexing). In-place (in == out) is allowed. All five ops share
//   ActivationParams, so one entry point serves them all.
#pragma once
#include <cstdint>

#include "tinyops/op_descriptor.h"

namespace tinyops {

// What prepare hands to eval (ctx.params) for every op in this file.
struct ActivationParams {
  int8_t lut[256];       // output for input value v at lut[(uint8_t)v]
  int64_t num_elements;  // of the op's tensors (whole-tensor eval)
};

void activation_range(const ActivationParams& p, const int8_t* in, int8_t* out, int64_t begin,
                      int64_t end);
// The table to look up in: p.lut copied into `scratch` (the op's scratch, in
// internal SRAM) when there is one. Prepared parameters may sit in a slow
// tier of the firmware's pool (SDRAM once the internal tiers are full), and a
// lookup per element from there costs the bus latency every time (no D-cache
// on the Cortex-M4); one 256-byte copy per call removes that.
const int8_t* activation_table(const ActivationParams& p, void* scratch);
constexpr uint32_t kActivationScratchBytes = sizeof(ActivationParams::lut);
// The tile hooks of a LUT op (params: ActivationParams): flat chunks looked
// up in the table activation_table() placed in the op's scratch.
inline const void* lut_run_params(const void* params, void* scratch) {
  return activation_table(*static_cast<const ActivationParams*>(params), scratch);
}
void lut8_range(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end);
inline void lut_tile_range(const void* table, const int8_t* in, const int8_t*, int8_t* out,
                           int64_t begin, int64_t end) {
  lut8_range(static_cast<const int8_t*>(table), in, out, begin, end);
}
constexpr TileHooks kLutTileHooks = {fixed_family<OpFamily::kUnary>,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     lut_tile_range,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     lut_run_params};
// The same lookup for any 256-entry int8 table (used by QUANTIZE's int8
// requantization too); AVX-512 VBMI path when the x86 dispatch picks it.
void lut8_range(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end);
inline uint32_t activation_scratch_size(const ActivationParams&) { return 0; }

// ---- definitions (TFLM's per-element integer functions) --------------------

struct ReluQuant {
  int32_t input_offset;   // input zero point
  int32_t output_offset;  // output zero point
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t act_min, act_max;
};
int8_t relu_value(const ReluQuant& q, int8_t x);

struct Relu6Quant {
  int8_t zero, six;  // quantized 0 and 6 on the input's scale
};
int8_t relu6_value(const Relu6Quant& q, int8_t x);

struct LeakyReluQuant {
  int32_t input_offset, output_offset;  // zero points
  int32_t multiplier_identity, shift_identity;
  int32_t multiplier_alpha, shift_alpha;  // multiplier may be negative (alpha < 0)
};
int8_t leaky_relu_value(const LeakyReluQuant& q, int8_t x);

struct HardSwishQuant {
  int32_t input_zero_point, output_zero_point;
  int16_t reluish_multiplier_fixedpoint_int16;
  int16_t output_multiplier_fixedpoint_int16;
  int32_t reluish_multiplier_exponent;
  int32_t output_multiplier_exponent;  // <= 0
};
int8_t hard_swish_value(const HardSwishQuant& q, int8_t x);

struct LogisticQuant {
  int32_t input_zero_point;
  int32_t input_range_radius;
  int32_t input_multiplier;
  int32_t input_left_shift;  // >= 0
};
int8_t logistic_value(const LogisticQuant& q, int8_t x);

}  // namespace tinyops
