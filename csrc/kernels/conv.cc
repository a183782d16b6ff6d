// CONV_2D (int8): prepare and eval; the tiles are in conv_tile.cc.
#include "conv.h"

#include <cstring>

#include "kernels/conv_prepare.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/window_hooks.h"

namespace tinyops {

using namespace conv_detail;

Status conv2d_prepare(PrepareContext& ctx) {
  WindowTensors t;
  Status s = weighted_op_tensors(ctx, "CONV_2D", &t);
  if (s != Status::kOk) return s;
  if ((s = weighted_op_types(ctx, "CONV_2D", t)) != Status::kOk) return s;
  if ((s = window_op_ranks(ctx, "CONV_2D", t)) != Status::kOk) return s;
  const TensorDesc *input = t.input, *filter = t.filter;
  const OpOptions& opt = *ctx.options;
  const int32_t batches = input->shape.dims[0], in_h = input->shape.dims[1],
                in_w = input->shape.dims[2], in_c = input->shape.dims[3];
  const int32_t out_c = filter->shape.dims[0], kh = filter->shape.dims[1],
                kw = filter->shape.dims[2], fc = filter->shape.dims[3];
  if (in_c % fc != 0) {
    return ctx.fail(Status::kInvalidModel,
                    "CONV_2D: input depth %d is not a multiple of the filter depth %d",
                    static_cast<int>(in_c), static_cast<int>(fc));
  }
  const int32_t groups = in_c / fc;
  if (out_c % groups != 0) {
    return ctx.fail(Status::kInvalidModel,
                    "CONV_2D: %d output channels cannot be split into %d groups",
                    static_cast<int>(out_c), static_cast<int>(groups));
  }
  SpatialGeometry geo;
  if ((s = spatial_geometry(ctx, "CONV_2D", opt, in_h, in_w, kh, kw, &geo)) != Status::kOk)
    return s;
  bool per_channel = false;
  if ((s = check_window_output(ctx, "CONV_2D", t, batches, geo, out_c, &per_channel)) !=
      Status::kOk)
    return s;

  const int64_t volume = static_cast<int64_t>(kh) * kw * fc;
  if (volume > (int64_t{1} << 30)) {
    return ctx.fail(Status::kUnsupported, "CONV_2D: filter volume %lld is too large",
                    static_cast<long long>(volume));
  }
  Conv2DParams* p = ctx.alloc_array<Conv2DParams>(1);
  int32_t* arrays = ctx.alloc_array<int32_t>(static_cast<size_t>(out_c) * 5);
  if (p == nullptr || arrays == nullptr) {
    return ctx.fail(Status::kOutOfMemory, "CONV_2D: out of persistent memory for params");
  }
  std::memset(p, 0, sizeof(*p));
  if ((s = fill_window_params(ctx, "CONV_2D", t, opt, batches, geo, out_c, per_channel, arrays,
                              p)) != Status::kOk)
    return s;
  p->filter_c = fc;
  p->groups = groups;
  p->out_c_per_group = out_c / groups;
  p->filter_volume = static_cast<int32_t>(volume);
  int32_t* fsum = arrays + 4 * static_cast<size_t>(out_c);

  if (volume > kMaxFastDepth) {
    p->path = kConvPathReference;
  } else if (kh == 1 && kw == 1 && geo.pad_top == 0 && geo.pad_left == 0) {
    p->path = kConvPathPointwise;
  } else {
    p->path = kConvPathIm2col;
  }
  if (filter->is_constant() && p->path != kConvPathReference) {
    const int8_t* w = static_cast<const int8_t*>(filter->const_data);
    for (int32_t c = 0; c < out_c; ++c) {
      fsum[c] = weight_sum(w + static_cast<ptrdiff_t>(c) * volume, p->filter_volume);
    }
    p->filter_sum = fsum;
    // Host SIMD backends read a packed copy of constant weights.
    const uint32_t packed_bytes = gemm_prepack_bytes(p->filter_volume, out_c);
    if (packed_bytes && groups == 1) {
      int8_t* packed = ctx.alloc_array<int8_t>(packed_bytes);
      if (packed == nullptr) {
        return ctx.fail(Status::kOutOfMemory, "CONV_2D: out of persistent memory for weights");
      }
      gemm_prepack(w, p->filter_volume, out_c, packed);
      p->packed_filter = packed;
    }
  }
  ctx.params = p;
  ctx.scratch_bytes = conv2d_tile_scratch_size(*p, p->out_h, out_c);
  return Status::kOk;
}

Status conv2d_eval(const EvalContext& ctx) {
  return conv_detail::eval_per_image<Conv2DParams>(ctx, conv2d_tile);
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
using ConvHooks = WindowHooks<Conv2DParams, conv2d_tile_scratch_size, conv2d_tile>;
void conv_geometry(const void* params, TileGeometry* g) {
  const Conv2DParams& p = ConvHooks::params(params);
  *g = ConvHooks::geometry(p, p.filter_volume, uint64_t(p.filter_volume));
}
}  // namespace

extern const OpDescriptor kConv2DOp = {
    kBuiltinConv2D,
    builtin_op_name(kBuiltinConv2D),
    conv2d_prepare,
    conv2d_eval,
    "conv",
    served_in_tflm(TflmOptions::kConv),
    {fixed_family<OpFamily::kConv>, conv_geometry, ConvHooks::input_rows, ConvHooks::scratch,
     nullptr, ConvHooks::window, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
