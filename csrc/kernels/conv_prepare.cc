// Prepare-time checks shared by the window and GEMM ops (conv_prepare.h).
#include "kernels/conv_prepare.h"

#include <cstdio>

#include "kernels/quant.h"

namespace tinyops {
namespace conv_detail {

Status check_activation_quant(PrepareContext& ctx, const TensorDesc* t, const char* what) {
  if (t->quant.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "%s must be quantized (has no scale)", what);
  }
  if (!(t->quant.scale > 0.0f) || !(t->quant.scale < 3.0e38f)) {
    return ctx.fail(Status::kUnsupported, "%s scale must be positive and finite, is %g", what,
                    static_cast<double>(t->quant.scale));
  }
  if (t->quant.zero_point < -128 || t->quant.zero_point > 127) {
    return ctx.fail(Status::kInvalidModel, "%s zero point %d is outside int8 range", what,
                    static_cast<int>(t->quant.zero_point));
  }
  return Status::kOk;
}

Status check_filter_quant(PrepareContext& ctx, const TensorDesc* filter, int32_t out_c,
                          const char* op, bool* per_channel) {
  const QuantInfo& fq = filter->quant;
  if (fq.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "%s: filter must be quantized", op);
  }
  *per_channel = fq.num_scales > 1;
  if (!*per_channel) return Status::kOk;
  if (fq.num_scales != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: filter has %d scales, expected 1 or %d (output channels)", op,
                    static_cast<int>(fq.num_scales), static_cast<int>(out_c));
  }
  if (fq.quantized_dimension < 0 || fq.quantized_dimension >= 4 ||
      filter->shape.dims[fq.quantized_dimension] != fq.num_scales) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: filter quantized_dimension %d does not have %d entries", op,
                    static_cast<int>(fq.quantized_dimension), static_cast<int>(fq.num_scales));
  }
  return Status::kOk;
}

Status per_channel_multipliers(PrepareContext& ctx, float input_scale, const QuantInfo& fq,
                               float output_scale, int32_t n, bool per_channel, int32_t* mult,
                               int32_t* shift, int32_t* left_shift, int32_t* right_shift) {
  for (int32_t c = 0; c < n; ++c) {
    const float fs = per_channel ? fq.scales[c] : (fq.scales ? fq.scales[0] : fq.scale);
    if (!(fs >= 0.0f) || !(fs < 3.0e38f)) {
      return ctx.fail(Status::kUnsupported,
                      "filter scale of channel %d must be non-negative and finite, is %g",
                      static_cast<int>(c), static_cast<double>(fs));
    }
    const double eff = static_cast<double>(input_scale) * static_cast<double>(fs) /
                       static_cast<double>(output_scale);
    int32_t q = 0;
    int s = 0;
    if (!quantize_multiplier(eff, &q, &s)) {
      return ctx.fail(Status::kUnsupported, "effective scale %g of channel %d is not representable",
                      eff, static_cast<int>(c));
    }
    if (s > 31) {
      return ctx.fail(Status::kUnsupported,
                      "effective scale %g of channel %d needs a left shift of %d (> 31)", eff,
                      static_cast<int>(c), s);
    }
    mult[c] = q;
    shift[c] = s;
    left_shift[c] = s > 0 ? s : 0;
    right_shift[c] = s > 0 ? 0 : -s;
  }
  return Status::kOk;
}

Status spatial_geometry(PrepareContext& ctx, const char* op, const OpOptions& opt, int32_t in_h,
                        int32_t in_w, int32_t filter_h, int32_t filter_w, SpatialGeometry* g) {
  if (opt.padding != kPaddingSame && opt.padding != kPaddingValid) {
    return ctx.fail(Status::kInvalidModel, "%s: unknown padding %d", op,
                    static_cast<int>(opt.padding));
  }
  if (opt.stride_h < 1 || opt.stride_w < 1 || opt.dilation_h < 1 || opt.dilation_w < 1) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: strides (%d, %d) and dilations (%d, %d) must be >= 1", op,
                    static_cast<int>(opt.stride_h), static_cast<int>(opt.stride_w),
                    static_cast<int>(opt.dilation_h), static_cast<int>(opt.dilation_w));
  }
  const int32_t in[2] = {in_h, in_w};
  const int32_t k[2] = {filter_h, filter_w};
  const int32_t st[2] = {opt.stride_h, opt.stride_w};
  const int32_t dl[2] = {opt.dilation_h, opt.dilation_w};
  int32_t out[2], pad[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t eff = (static_cast<int64_t>(k[i]) - 1) * dl[i] + 1;
    if (k[i] < 1 || eff > (int64_t{1} << 30) || st[i] > (1 << 30)) {
      return ctx.fail(Status::kUnsupported, "%s: filter extent or stride too large", op);
    }
    const int64_t o = opt.padding == kPaddingSame
                          ? (static_cast<int64_t>(in[i]) + st[i] - 1) / st[i]
                          : (static_cast<int64_t>(in[i]) + st[i] - eff) / st[i];
    if (o < 1 || o > (int64_t{1} << 30)) {
      return ctx.fail(Status::kInvalidModel,
                      "%s: %s output size would be %lld (input %d, filter %d, stride %d, "
                      "dilation %d)",
                      op, i == 0 ? "height" : "width", static_cast<long long>(o),
                      static_cast<int>(in[i]), static_cast<int>(k[i]), static_cast<int>(st[i]),
                      static_cast<int>(dl[i]));
    }
    int64_t total = (o - 1) * st[i] + eff - in[i];
    total = total > 0 ? total : 0;
    if (total / 2 > (int64_t{1} << 30)) {
      return ctx.fail(Status::kUnsupported, "%s: padding too large", op);
    }
    out[i] = static_cast<int32_t>(o);
    pad[i] = static_cast<int32_t>(total / 2);
  }
  g->out_h = out[0];
  g->out_w = out[1];
  g->pad_top = pad[0];
  g->pad_left = pad[1];
  return Status::kOk;
}

bool dims_positive(const TensorDesc* t) {
  for (int i = 0; i < t->shape.rank; ++i) {
    if (t->shape.dims[i] < 1) return false;
  }
  return true;
}

Status weighted_op_tensors(PrepareContext& ctx, const char* op, WindowTensors* t) {
  const Status s = expect_io_counts(ctx, 2, 3, 1);
  if (s != Status::kOk) return s;
  *t = WindowTensors{ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)};
  if (t->output == nullptr) return ctx.fail(Status::kInvalidModel, "%s: output is missing", op);
  if (ctx.options == nullptr) return ctx.fail(Status::kInvalidModel, "%s: no options", op);
  return Status::kOk;
}

Status weighted_op_types(PrepareContext& ctx, const char* op, const WindowTensors& t) {
  if (t.input->type != t.output->type) {
    return ctx.fail(Status::kInvalidModel, "%s: input type %s differs from output type %s", op,
                    dtype_name(t.input->type), dtype_name(t.output->type));
  }
  char what[96];
  std::snprintf(what, sizeof what, "%s input (only int8 activations)", op);
  Status s = expect_type(ctx, t.input, DType::kInt8, what);
  if (s != Status::kOk) return s;
  std::snprintf(what, sizeof what, "%s filter (only int8 weights)", op);
  if ((s = expect_type(ctx, t.filter, DType::kInt8, what)) != Status::kOk) return s;
  std::snprintf(what, sizeof what, "%s bias", op);
  if (t.bias && (s = expect_type(ctx, t.bias, DType::kInt32, what)) != Status::kOk) return s;
  return Status::kOk;
}

Status window_op_ranks(PrepareContext& ctx, const char* op, const WindowTensors& t) {
  if (t.input->shape.rank != 4 || t.filter->shape.rank != 4 || t.output->shape.rank != 4) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: input, filter and output must be 4D, are %dD, %dD, %dD", op,
                    static_cast<int>(t.input->shape.rank), static_cast<int>(t.filter->shape.rank),
                    static_cast<int>(t.output->shape.rank));
  }
  if (!dims_positive(t.input) || !dims_positive(t.filter) || !dims_positive(t.output)) {
    return ctx.fail(Status::kUnsupported, "%s: empty tensors are not supported", op);
  }
  return Status::kOk;
}

Status check_window_output(PrepareContext& ctx, const char* op, const WindowTensors& t,
                           int32_t batches, const SpatialGeometry& geo, int32_t out_c,
                           bool* per_channel) {
  const int32_t* od = t.output->shape.dims;
  if (od[0] != batches || od[1] != geo.out_h || od[2] != geo.out_w || od[3] != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: output shape is [%d,%d,%d,%d], expected [%d,%d,%d,%d]", op,
                    static_cast<int>(od[0]), static_cast<int>(od[1]), static_cast<int>(od[2]),
                    static_cast<int>(od[3]), static_cast<int>(batches), static_cast<int>(geo.out_h),
                    static_cast<int>(geo.out_w), static_cast<int>(out_c));
  }
  if (t.bias && t.bias->shape.num_elements() != out_c) {
    return ctx.fail(Status::kInvalidModel, "%s: bias has %lld elements, expected %d", op,
                    static_cast<long long>(t.bias->shape.num_elements()), static_cast<int>(out_c));
  }
  char what[48];
  std::snprintf(what, sizeof(what), "%s input", op);
  Status s = check_activation_quant(ctx, t.input, what);
  if (s != Status::kOk) return s;
  std::snprintf(what, sizeof(what), "%s output", op);
  if ((s = check_activation_quant(ctx, t.output, what)) != Status::kOk) return s;
  return check_filter_quant(ctx, t.filter, out_c, op, per_channel);
}

}  // namespace conv_detail
}  // namespace tinyops
