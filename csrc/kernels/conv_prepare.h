// Prepare-time checks shared by CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED (quantization, per-channel multipliers, window geometry;
// definitions in conv_prepare.cc), and the whole-tensor eval of the window
// ops as one tile per image.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/tile.h"
#include "tinyops/op_api.h"

namespace tinyops {
namespace conv_detail {

// Checks a quantized int8 activation tensor's scale/zero point.
Status check_activation_quant(PrepareContext& ctx, const TensorDesc* t, const char* what);

// Checks a conv/depthwise filter's quantization: one scale, or one per output
// channel along quantized_dimension. Sets *per_channel.
Status check_filter_quant(PrepareContext& ctx, const TensorDesc* filter, int32_t out_c,
                          const char* op, bool* per_channel);

// Computes the per-channel multiplier/shift arrays (size n) the way TFLM's
// PopulateConvolutionQuantizationParams does: effective scale =
// double(input_scale) * double(filter_scale[c]) / double(output_scale).
// `per_channel` selects filter scales[c] instead of scales[0].
Status per_channel_multipliers(PrepareContext& ctx, float input_scale,
                               const QuantInfo& fq, float output_scale, int32_t n,
                               bool per_channel, int32_t* mult, int32_t* shift,
                               int32_t* left_shift, int32_t* right_shift);

// Validates stride/dilation/padding options and computes the output size and
// padding exactly as TFLM's ComputePaddingHeightWidth (64-bit intermediate).
struct SpatialGeometry {
  int32_t out_h, out_w, pad_top, pad_left;
};
Status spatial_geometry(PrepareContext& ctx, const char* op, const OpOptions& opt,
                        int32_t in_h, int32_t in_w, int32_t filter_h,
                        int32_t filter_w, SpatialGeometry* g);

// Every dimension at least 1 (kernels do not take empty tensors).
bool dims_positive(const TensorDesc* t);

// Whole-tensor eval of a window op (CONV_2D, DEPTHWISE_CONV_2D): one tile
// per image covering every row and channel. `tile` is the op's tile function.
template <typename Params, typename TileFn>
Status eval_per_image(const EvalContext& ctx, TileFn tile) {
  const Params& p = *static_cast<const Params*>(ctx.params);
  const int8_t* input = static_cast<const int8_t*>(ctx.inputs[0]);
  const int8_t* filter = static_cast<const int8_t*>(ctx.inputs[1]);
  const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(ctx.inputs[2]) : nullptr;
  int8_t* output = static_cast<int8_t*>(ctx.outputs[0]);
  const ptrdiff_t in_image = static_cast<ptrdiff_t>(p.in_h) * p.in_w * p.in_c;
  const ptrdiff_t out_image = static_cast<ptrdiff_t>(p.out_h) * p.out_w * p.out_c;
  for (int32_t b = 0; b < p.batches; ++b) {
    const InputBand in{input + b * in_image, 0, p.in_h};
    const OutputTile out{output + b * out_image, 0, p.out_h, 0, p.out_c, p.out_w * p.out_c,
                         p.out_c};
    tile(p, in, filter, bias, out, ctx.scratch);
  }
  return Status::kOk;
}

}  // namespace conv_detail
}  // namespace tinyops
