// MEAN, int8, bit-exact with TFLM.
//
// TFLM (micro/kernels/reduce_common.cc) runs every int8 MEAN, whatever the
// axes and keep_dims, through reference_ops::QuantizedMeanOrSum (there is no
// separate int8 fast path for 4-D axes {1,2}; that one exists for float
// only). Its arithmetic, which this kernel reproduces:
//   (multiplier, shift) = QuantizeMultiplier(input_scale / output_scale)
//   n     = number of input elements folded into one output (product of the
//           reduced dims; duplicate axes count once, negative axes wrap)
//   k     = min(floor(log2 n), 32, 31 + shift)
//   mult' = (int64(multiplier) << k) / n      (truncating)
//   shift'= shift - k
//   sum   = int32 sum of the raw int8 inputs
//   out   = clamp(MultiplyByQuantizedMultiplier(int32(sum - input_zp * n),
//                                               mult', shift') + output_zp,
//                 -128, 127)
// The result depends only on which elements are summed, so the 4-D {1,2}
// ("global average pool") case may be computed band by band.
#pragma once
#include <cstdint>

namespace tinyops {

struct MeanParams {
  // General path: the input shape with adjacent dims of equal kind (reduced
  // or kept) merged; out_stride[i] is 0 for reduced groups.
  int32_t rank;
  int32_t dims[6];
  int32_t out_stride[6];
  int32_t empty_input;  // some input dim is 0: TFLM writes all-zero bytes
  int32_t num_outputs;
  int32_t n;  // input elements folded into each output
  int32_t input_zp;
  int32_t output_zp;
  int32_t multiplier;  // mult' above (1/n folded in)
  int32_t shift;       // shift' above
  // Set when the input is 4-D and the resolved axes are exactly {1, 2}: then
  // the output is [batches, channels] in order, and the band API applies.
  int32_t hw_path;
  int32_t batches, height, width, channels;
};

// Band API for the 4-D axes-{1,2} case (params.hw_path != 0), per image:
//   int32_t acc[channels] = {0};
//   for each band of rows: mean_hw_accumulate(p, band_rows, num_rows, acc);
//   mean_hw_finish(p, acc, out_for_this_image);   // writes `channels` int8
// `rows` holds num_rows full rows (width * channels int8 each) of one image;
// every row of the image must be accumulated exactly once, in any order.
void mean_hw_accumulate(const MeanParams& p, const int8_t* rows, int32_t num_rows, int32_t* acc);
void mean_hw_finish(const MeanParams& p, const int32_t* acc, int8_t* out);

// Scratch eval needs: one int32 accumulator per output element.
inline uint32_t mean_scratch_size(const MeanParams& p) {
  return static_cast<uint32_t>(p.num_outputs > 0 ? p.num_outputs : 1) * 4u;
}

}  // namespace tinyops
