// DEPTHWISE_CONV_2D (int8): prepare, eval and the tiles' scratch; the tiles
// are in depthwise_tile.cc.
#include "depthwise_conv.h"

#include <cstring>

#include "kernels/arm/depthwise_tile.h"
#include "kernels/conv_prepare.h"
#include "kernels/gemm_layout.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/scratch.h"
#include "kernels/window_hooks.h"

namespace tinyops {

using namespace conv_detail;

uint32_t depthwise_conv2d_tile_scratch_size(const DepthwiseConv2DParams& p, int32_t rows,
                                            int32_t channels) {
  (void)rows;
  if (p.path == kDepthwisePathReference) return 0;
  if (channels < 1) channels = 1;
  const uint32_t n4 = (static_cast<uint32_t>(channels) * 4u + 15u) & ~15u;
  const uint32_t taps = static_cast<uint32_t>(p.filter_h) * static_cast<uint32_t>(p.filter_w);
  uint32_t bytes = 4u * n4;  // corr, pcorr, acc, wsum
  // Tap pointer arrays, counted at 8 bytes a pointer on every target so sizes
  // computed on a 64-bit host hold for 32-bit MCUs.
  static_assert(sizeof(void*) <= 8, "pointer size");
  bytes += 2u * ((taps * 8u + 15u) & ~15u);
  if (p.row_sum == nullptr) {
    bytes +=
        (static_cast<uint32_t>(p.filter_h) * static_cast<uint32_t>(channels) * 4u + 15u) & ~15u;
  }
  return bytes + arm_kernels::depthwise_tile_extra_scratch(p, channels);
}

Status depthwise_conv2d_prepare(PrepareContext& ctx) {
  WindowTensors t;
  Status s = weighted_op_tensors(ctx, "DEPTHWISE_CONV_2D", &t);
  if (s != Status::kOk) return s;
  const TensorDesc *input = t.input, *filter = t.filter, *bias = t.bias, *output = t.output;
  const OpOptions& opt = *ctx.options;
  if ((s = expect_type(ctx, input, DType::kInt8,
                       "DEPTHWISE_CONV_2D input (only int8 activations)")) != Status::kOk)
    return s;
  if ((s = expect_type(ctx, filter, DType::kInt8,
                       "DEPTHWISE_CONV_2D filter (only int8 weights)")) != Status::kOk)
    return s;
  if ((s = expect_type(ctx, output, DType::kInt8, "DEPTHWISE_CONV_2D output")) != Status::kOk)
    return s;
  if (bias && (s = expect_type(ctx, bias, DType::kInt32, "DEPTHWISE_CONV_2D bias")) != Status::kOk)
    return s;
  if ((s = window_op_ranks(ctx, "DEPTHWISE_CONV_2D", t)) != Status::kOk) return s;
  const int32_t batches = input->shape.dims[0], in_h = input->shape.dims[1],
                in_w = input->shape.dims[2], in_c = input->shape.dims[3];
  const int32_t kh = filter->shape.dims[1], kw = filter->shape.dims[2],
                out_c = filter->shape.dims[3];
  if (filter->shape.dims[0] != 1) {
    return ctx.fail(Status::kInvalidModel,
                    "DEPTHWISE_CONV_2D: filter dimension 0 is %d, expected 1",
                    static_cast<int>(filter->shape.dims[0]));
  }
  const int32_t M = opt.depth_multiplier;
  if (M < 1 || static_cast<int64_t>(in_c) * M != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "DEPTHWISE_CONV_2D: input depth %d x depth_multiplier %d != filter depth %d",
                    static_cast<int>(in_c), static_cast<int>(M), static_cast<int>(out_c));
  }
  SpatialGeometry geo;
  if ((s = spatial_geometry(ctx, "DEPTHWISE_CONV_2D", opt, in_h, in_w, kh, kw, &geo)) !=
      Status::kOk)
    return s;
  bool per_channel = false;
  if ((s = check_window_output(ctx, "DEPTHWISE_CONV_2D", t, batches, geo, out_c, &per_channel)) !=
      Status::kOk)
    return s;
  const int64_t taps = static_cast<int64_t>(kh) * kw;
  if (taps > (int64_t{1} << 24)) {
    return ctx.fail(Status::kUnsupported, "DEPTHWISE_CONV_2D: filter window too large");
  }

  DepthwiseConv2DParams* p = ctx.alloc_array<DepthwiseConv2DParams>(1);
  int32_t* arrays = ctx.alloc_array<int32_t>(static_cast<size_t>(out_c) * 4);
  const bool constant = filter->is_constant();
  int32_t* rsum = constant ? ctx.alloc_array<int32_t>(static_cast<size_t>(kh) * out_c) : nullptr;
  const int32_t nzeros = (in_c > out_c ? in_c : out_c) + 64;
  int8_t* zeros = ctx.alloc_array<int8_t>(static_cast<size_t>(nzeros));
  if (p == nullptr || arrays == nullptr || zeros == nullptr || (constant && rsum == nullptr)) {
    return ctx.fail(Status::kOutOfMemory, "DEPTHWISE_CONV_2D: out of persistent memory");
  }
  std::memset(p, 0, sizeof(*p));
  std::memset(zeros, 0, static_cast<size_t>(nzeros));
  if ((s = fill_window_params(ctx, "DEPTHWISE_CONV_2D", t, opt, batches, geo, out_c, per_channel,
                              arrays, p)) != Status::kOk)
    return s;
  p->depth_multiplier = M;
  p->zeros = zeros;
  p->path = taps > kMaxFastDepth ? kDepthwisePathReference : kDepthwisePathDirect;
  if (constant) {
    const int8_t* w = static_cast<const int8_t*>(filter->const_data);
    for (int32_t ky = 0; ky < kh; ++ky) {
      int32_t* r = rsum + static_cast<ptrdiff_t>(ky) * out_c;
      for (int32_t c = 0; c < out_c; ++c) r[c] = 0;
      for (int32_t kx = 0; kx < kw; ++kx) {
        const int8_t* wr = w + static_cast<ptrdiff_t>(ky * kw + kx) * out_c;
        for (int32_t c = 0; c < out_c; ++c) r[c] += wr[c];
      }
    }
    p->row_sum = rsum;
  }
  ctx.params = p;
  ctx.scratch_bytes = depthwise_conv2d_tile_scratch_size(*p, p->out_h, out_c);
  return Status::kOk;
}

Status depthwise_conv2d_eval(const EvalContext& ctx) {
  return conv_detail::eval_per_image<DepthwiseConv2DParams>(ctx, depthwise_conv2d_tile);
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
using DwHooks =
    WindowHooks<DepthwiseConv2DParams, depthwise_conv2d_tile_scratch_size, depthwise_conv2d_tile>;
void dw_geometry(const void* params, TileGeometry* g) {
  const DepthwiseConv2DParams& p = DwHooks::params(params);
  *g = DwHooks::geometry(p, 0, uint64_t(p.filter_h) * p.filter_w);
}
}  // namespace

extern const OpDescriptor kDepthwiseConv2DOp = {
    kBuiltinDepthwiseConv2D,
    builtin_op_name(kBuiltinDepthwiseConv2D),
    depthwise_conv2d_prepare,
    depthwise_conv2d_eval,
    "depthwise",
    served_in_tflm(TflmOptions::kDepthwiseConv),
    {fixed_family<OpFamily::kDepthwise>, dw_geometry, DwHooks::input_rows, DwHooks::scratch,
     nullptr, DwHooks::window, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
