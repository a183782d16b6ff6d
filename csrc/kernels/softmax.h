// SOFTMAX (int8 input; int8 output with scale 1/256 and zero point -128, or
// int16 output with scale 1/65536 and zero point -32768), bit-exact with
// TFLM's reference quantized softmax over the last dimension.
//
// Numerics per row (TFLM reference, reproduced exactly):
//   d = max(row) - x is in [0, 255], so prepare tabulates, for every d, the
//   gemmlowp exp_on_negative_values of the Q5.26 value
//   SRDHM(-d * 2^left_shift, input_multiplier) (input_multiplier/left_shift
//   from beta * input_scale * 2^26, capped at 2^31 - 1), and whether
//   -d >= diff_min (elements below diff_min contribute nothing and output the
//   type's minimum). Eval sums the Q12.19 exps (int32, wrapping as TFLM's
//   does), takes the fixed-point reciprocal of the sum and writes
//   RDBPOT(SRDHM(reciprocal, exp), exponent) + type_min, clamped.
//
// Defined results where TFLM aborts the process instead:
//   * beta * input_scale * 2^26 <= 1 (TFLM's QuantizeMultiplierGreaterThanOne
//     CHECK in Prepare): the multiplier is clamped to exactly 1.0 (quantized
//     multiplier 2^30, left shift 1; diff_min then admits every element).
//     Scaled differences are then at most 255 * 2^-26, so the result is the
//     (near-)uniform distribution the exact math gives for such a tiny
//     beta * scale: within a row all outputs are within 1 LSB of each other.
//     beta * input_scale < 0 or NaN is rejected as unsupported.
//   * A row whose sum of exps needs an output exponent outside [0, 31] (TFLM's
//     TFLITE_CHECK in eval; for int8 output this happens when the sum of
//     exp(scaled differences) reaches 512, e.g. 512 or more equal maxima):
//     the whole row is written as the output type's minimum (-128 / -32768),
//     i.e. probability 0 -- which is also what the rounding right shift gives
//     when extended to exponents >= 32, since the product it shifts is < 2^31.
//   Everywhere TFLM does not abort, the bytes are equal to TFLM's.
//
// Row API for the partitioned scheduler (no allocation, no failure):
//   softmax_rows(p, in, out, row_begin, row_end): rows [row_begin, row_end)
//   of the tensor viewed as [num_rows, depth]; `in` and `out` point at the
//   WHOLE tensors (row r is at in + r * depth; out is int8_t* or int16_t*
//   per p.output_int16). No in-place operation.
#pragma once
#include <cstdint>

namespace tinyops {

struct SoftmaxParams {
  int64_t num_rows;
  int32_t depth;
  int32_t output_int16;      // 0: int8 output, 1: int16 output
  int32_t input_multiplier;  // as TFLM's (after the defined clamp, if any)
  int32_t input_left_shift;
  int32_t diff_min;
  int32_t multiplier_clamped;  // 1 when the "<= 1" defined result applies
  // Indexed by d = max(row) - x.
  int32_t exp_q0[256];   // exp(scaled -d) in Q0 (0 where excluded)
  int32_t exp_acc[256];  // the same rounded to Q12.19, as summed (0 where excluded)
  uint8_t included[256];
};

void softmax_rows(const SoftmaxParams& p, const int8_t* in, void* out, int64_t row_begin,
                  int64_t row_end);
inline uint32_t softmax_scratch_size(const SoftmaxParams&) { return 0; }

}  // namespace tinyops
