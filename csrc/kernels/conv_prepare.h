// Prepare-time checks shared by CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED (quantization, per-channel multipliers, window geometry;
// definitions in conv_prepare.cc), and the whole-tensor eval of the window
// ops as one tile per image.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/quant.h"
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
Status per_channel_multipliers(PrepareContext& ctx, float input_scale, const QuantInfo& fq,
                               float output_scale, int32_t n, bool per_channel, int32_t* mult,
                               int32_t* shift, int32_t* left_shift, int32_t* right_shift);

// Validates stride/dilation/padding options and computes the output size and
// padding exactly as TFLM's ComputePaddingHeightWidth (64-bit intermediate).
struct SpatialGeometry {
  int32_t out_h, out_w, pad_top, pad_left;
};
Status spatial_geometry(PrepareContext& ctx, const char* op, const OpOptions& opt, int32_t in_h,
                        int32_t in_w, int32_t filter_h, int32_t filter_w, SpatialGeometry* g);

// Every dimension at least 1 (kernels do not take empty tensors).
bool dims_positive(const TensorDesc* t);

// The tensors of a weighted op (CONV_2D, DEPTHWISE_CONV_2D,
// FULLY_CONNECTED); bias may be null.
struct WindowTensors {
  const TensorDesc* input;
  const TensorDesc* filter;
  const TensorDesc* bias;
  const TensorDesc* output;
};

// Input, filter, optional bias and output present, and the op's options.
Status weighted_op_tensors(PrepareContext& ctx, const char* op, WindowTensors* t);

// The types CONV_2D and FULLY_CONNECTED accept: input and output of one
// type, int8 input and filter, int32 bias.
Status weighted_op_types(PrepareContext& ctx, const char* op, const WindowTensors& t);

// Input, filter and output of a window op are 4-D and not empty.
Status window_op_ranks(PrepareContext& ctx, const char* op, const WindowTensors& t);

// The checks both window ops make once their geometry is known: the output
// is [batches, geo.out_h, geo.out_w, out_c], the bias has out_c elements,
// input and output are int8-quantized, and the filter has one scale or one
// per output channel (*per_channel).
Status check_window_output(PrepareContext& ctx, const char* op, const WindowTensors& t,
                           int32_t batches, const SpatialGeometry& geo, int32_t out_c,
                           bool* per_channel);

// The fields CONV_2D and DEPTHWISE_CONV_2D params share (P has them by the
// same names): geometry, offsets, the fused activation's range and the
// per-channel output stage, whose four arrays of out_c int32 are `arrays`.
template <class P>
Status fill_window_params(PrepareContext& ctx, const char* op, const WindowTensors& t,
                          const OpOptions& opt, int32_t batches, const SpatialGeometry& geo,
                          int32_t out_c, bool per_channel, int32_t* arrays, P* p) {
  p->batches = batches;
  p->in_h = t.input->shape.dims[1];
  p->in_w = t.input->shape.dims[2];
  p->in_c = t.input->shape.dims[3];
  p->out_h = geo.out_h;
  p->out_w = geo.out_w;
  p->out_c = out_c;
  p->filter_h = t.filter->shape.dims[1];
  p->filter_w = t.filter->shape.dims[2];
  p->stride_h = opt.stride_h;
  p->stride_w = opt.stride_w;
  p->dilation_h = opt.dilation_h;
  p->dilation_w = opt.dilation_w;
  p->pad_top = geo.pad_top;
  p->pad_left = geo.pad_left;
  p->input_offset = -t.input->quant.zero_point;
  p->output_offset = t.output->quant.zero_point;
  if (!activation_range_quantized(opt.activation, DType::kInt8, t.output->quant.scale,
                                  t.output->quant.zero_point, &p->act_min, &p->act_max)) {
    return ctx.fail(Status::kUnsupported, "%s: fused activation %d is not supported", op,
                    static_cast<int>(opt.activation));
  }
  int32_t* mult = arrays;
  int32_t* shift = arrays + out_c;
  int32_t* lsh = arrays + 2 * static_cast<size_t>(out_c);
  int32_t* rsh = arrays + 3 * static_cast<size_t>(out_c);
  const Status s =
      per_channel_multipliers(ctx, t.input->quant.scale, t.filter->quant, t.output->quant.scale,
                              out_c, per_channel, mult, shift, lsh, rsh);
  if (s != Status::kOk) return s;
  p->multiplier = mult;
  p->shift = shift;
  p->left_shift = lsh;
  p->right_shift = rsh;
  p->has_bias = t.bias != nullptr ? 1 : 0;
  return Status::kOk;
}

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
    const OutputTile out{output + b * out_image, 0,      p.out_h, 0, p.out_c,
                         p.out_w * p.out_c,      p.out_c};
    tile(p, in, filter, bias, out, ctx.scratch);
  }
  return Status::kOk;
}

}  // namespace conv_detail
}  // namespace tinyops
