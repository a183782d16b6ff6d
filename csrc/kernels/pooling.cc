// AVERAGE_POOL_2D / MAX_POOL_2D: prepare, eval and the tile kernels.
#include "kernels/pooling.h"

#include <cmath>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

namespace {

// Channels processed per pass; bounds the on-stack accumulators.
constexpr int32_t kChunk = 256;

// Average pooling divides in float when that is exact: the numerator
// (|.| <= 128 * count + count / 2 < 2^24) is then exactly representable, the
// quotient (|q| <= 128.5) has a rounding error below 2^-17, and a quotient
// that is not an integer lies at least 1/count > 2^-17 away from one, so
// truncating the float quotient equals C++ integer division. Float division
// vectorizes on x86 and is a single instruction on Cortex-M4F/M7. (This
// relies on IEEE division: never build the kernels with -ffast-math.)
constexpr int32_t kFloatDivMaxCount = 65536;

inline int32_t imax(int32_t a, int32_t b) { return a > b ? a : b; }
inline int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }

// One output pixel's window: input rows iy0 + [fy0, fy1) and columns
// ix0 + [fx0, fx1), clipped to the image (padding is never read).
struct PoolWindow {
  int32_t iy0, fy0, fy1;
  int32_t ix0, fx0, fx1;
  int8_t* out_px;
};

// Calls visit(window) for every output pixel of `out`, row by row.
template <class Visit>
inline void for_each_pool_window(const PoolParams& p, const OutputTile& out, Visit visit) {
  for (int32_t oy = out.row_begin; oy < out.row_end; ++oy) {
    const int32_t iy0 = oy * p.stride_h - p.pad_top;
    const int32_t fy0 = imax(0, -iy0);
    const int32_t fy1 = imin(p.filter_h, p.in_h - iy0);
    int8_t* out_row = out.data + static_cast<int64_t>(oy - out.row_begin) * out.row_stride;
    for (int32_t ox = 0; ox < p.out_w; ++ox) {
      const int32_t ix0 = ox * p.stride_w - p.pad_left;
      visit(PoolWindow{iy0, fy0, fy1, ix0, imax(0, -ix0), imin(p.filter_w, p.in_w - ix0),
                       out_row + static_cast<int64_t>(ox) * out.pixel_stride});
    }
  }
}

Status pool_prepare(PrepareContext& ctx, const char* op) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (in->type != DType::kInt8) {
    return ctx.fail(Status::kUnsupported, "%s: input type %d unsupported (only int8)", op,
                    static_cast<int>(in->type));
  }
  if ((s = expect_type(ctx, out, DType::kInt8, "output")) != Status::kOk) return s;
  if (in->shape.rank != 4 || out->shape.rank != 4) {
    return ctx.fail(Status::kInvalidModel, "%s: input and output must be 4-D, are %d-D and %d-D",
                    op, static_cast<int>(in->shape.rank), static_cast<int>(out->shape.rank));
  }
  const OpOptions& o = *ctx.options;
  if (o.padding != kPaddingSame && o.padding != kPaddingValid) {
    return ctx.fail(Status::kInvalidModel, "%s: unknown padding %d", op,
                    static_cast<int>(o.padding));
  }
  if (o.stride_h <= 0 || o.stride_w <= 0 || o.filter_h <= 0 || o.filter_w <= 0) {
    return ctx.fail(Status::kInvalidModel, "%s: stride %dx%d and filter %dx%d must be positive", op,
                    static_cast<int>(o.stride_h), static_cast<int>(o.stride_w),
                    static_cast<int>(o.filter_h), static_cast<int>(o.filter_w));
  }
  // TFLM: int8 pooling does not requantize.
  if (std::fabs(static_cast<double>(in->quant.scale) - static_cast<double>(out->quant.scale)) >
          1.0e-6 ||
      in->quant.zero_point != out->quant.zero_point) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: input and output quantization must match (scale %g vs %g, zero point "
                    "%d vs %d)",
                    op, static_cast<double>(in->quant.scale), static_cast<double>(out->quant.scale),
                    static_cast<int>(in->quant.zero_point),
                    static_cast<int>(out->quant.zero_point));
  }
  PoolParams p{};
  p.batches = in->shape.dims[0];
  p.in_h = in->shape.dims[1];
  p.in_w = in->shape.dims[2];
  p.channels = in->shape.dims[3];
  p.filter_h = o.filter_h;
  p.filter_w = o.filter_w;
  p.stride_h = o.stride_h;
  p.stride_w = o.stride_w;
  const int32_t oh = conv_output_size(o.padding, p.in_h, p.filter_h, p.stride_h, 1);
  const int32_t ow = conv_output_size(o.padding, p.in_w, p.filter_w, p.stride_w, 1);
  if (oh < 0 || ow < 0) {
    return ctx.fail(Status::kInvalidModel, "%s: filter %dx%d larger than input %dx%d", op,
                    static_cast<int>(p.filter_h), static_cast<int>(p.filter_w),
                    static_cast<int>(p.in_h), static_cast<int>(p.in_w));
  }
  if (out->shape.dims[0] != p.batches || out->shape.dims[1] != oh || out->shape.dims[2] != ow ||
      out->shape.dims[3] != p.channels) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: output shape [%d,%d,%d,%d] differs from expected [%d,%d,%d,%d]", op,
                    static_cast<int>(out->shape.dims[0]), static_cast<int>(out->shape.dims[1]),
                    static_cast<int>(out->shape.dims[2]), static_cast<int>(out->shape.dims[3]),
                    static_cast<int>(p.batches), static_cast<int>(oh), static_cast<int>(ow),
                    static_cast<int>(p.channels));
  }
  p.out_h = oh;
  p.out_w = ow;
  p.pad_top = conv_padding(p.stride_h, 1, p.in_h, p.filter_h, oh);
  p.pad_left = conv_padding(p.stride_w, 1, p.in_w, p.filter_w, ow);
  if (!activation_range_quantized(o.activation, DType::kInt8, out->quant.scale,
                                  out->quant.zero_point, &p.act_min, &p.act_max)) {
    return ctx.fail(Status::kUnsupported, "%s: fused activation %d unsupported", op,
                    static_cast<int>(o.activation));
  }
  auto* stored = ctx.alloc_array<PoolParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

template <void (*Tile)(const PoolParams&, const InputBand&, const OutputTile&)>
Status pool_eval(const EvalContext& ctx) {
  const PoolParams& p = *static_cast<const PoolParams*>(ctx.params);
  const int8_t* in = static_cast<const int8_t*>(ctx.inputs[0]);
  int8_t* out = static_cast<int8_t*>(ctx.outputs[0]);
  const int64_t in_image = static_cast<int64_t>(p.in_h) * p.in_w * p.channels;
  const int64_t out_image = static_cast<int64_t>(p.out_h) * p.out_w * p.channels;
  for (int32_t b = 0; b < p.batches; ++b) {
    const InputBand band{in + b * in_image, 0, p.in_h};
    const OutputTile tile{out + b * out_image,  0,         p.out_h, 0, p.channels,
                          p.out_w * p.channels, p.channels};
    Tile(p, band, tile);
  }
  return Status::kOk;
}

}  // namespace

void average_pool2d_tile(const PoolParams& p, const InputBand& in, const OutputTile& out) {
  const int32_t row_elems = p.in_w * p.channels;
  const int32_t C = p.channels;
  const int32_t act_min = p.act_min, act_max = p.act_max;
  for_each_pool_window(p, out, [&](const PoolWindow& w) {
    const int32_t count = (w.fy1 - w.fy0) * (w.fx1 - w.fx0);
    const int32_t half = count / 2;
    const float fcount = static_cast<float>(count);
    for (int32_t c0 = out.ch_begin; c0 < out.ch_end; c0 += kChunk) {
      const int32_t n = imin(kChunk, out.ch_end - c0);
      int32_t acc[kChunk];
      for (int32_t i = 0; i < n; ++i) acc[i] = 0;
      for (int32_t fy = w.fy0; fy < w.fy1; ++fy) {
        const int8_t* row =
            in.data + static_cast<int64_t>(w.iy0 + fy - in.row_begin) * row_elems + c0;
        for (int32_t fx = w.fx0; fx < w.fx1; ++fx) {
          const int8_t* __restrict px = row + static_cast<int64_t>(w.ix0 + fx) * C;
          for (int32_t i = 0; i < n; ++i) acc[i] += px[i];
        }
      }
      int8_t* __restrict o = w.out_px + (c0 - out.ch_begin);
      if (count <= kFloatDivMaxCount) {
        for (int32_t i = 0; i < n; ++i) {
          const int32_t a = acc[i];
          const int32_t num = a > 0 ? a + half : a - half;
          int32_t q = static_cast<int32_t>(static_cast<float>(num) / fcount);
          q = q < act_min ? act_min : (q > act_max ? act_max : q);
          o[i] = static_cast<int8_t>(q);
        }
      } else {
        for (int32_t i = 0; i < n; ++i) {
          const int32_t a = acc[i];
          int32_t q = (a > 0 ? a + half : a - half) / count;
          q = q < act_min ? act_min : (q > act_max ? act_max : q);
          o[i] = static_cast<int8_t>(q);
        }
      }
    }
  });
}

void max_pool2d_tile(const PoolParams& p, const InputBand& in, const OutputTile& out) {
  const int32_t row_elems = p.in_w * p.channels;
  const int32_t C = p.channels;
  const int8_t act_min = static_cast<int8_t>(p.act_min);
  const int8_t act_max = static_cast<int8_t>(p.act_max);
  for_each_pool_window(p, out, [&](const PoolWindow& w) {
    for (int32_t c0 = out.ch_begin; c0 < out.ch_end; c0 += kChunk) {
      const int32_t n = imin(kChunk, out.ch_end - c0);
      int8_t m[kChunk];
      for (int32_t i = 0; i < n; ++i) m[i] = act_min;  // max(-128, ...) then clamp low
      for (int32_t fy = w.fy0; fy < w.fy1; ++fy) {
        const int8_t* row =
            in.data + static_cast<int64_t>(w.iy0 + fy - in.row_begin) * row_elems + c0;
        for (int32_t fx = w.fx0; fx < w.fx1; ++fx) {
          const int8_t* __restrict px = row + static_cast<int64_t>(w.ix0 + fx) * C;
          for (int32_t i = 0; i < n; ++i) m[i] = px[i] > m[i] ? px[i] : m[i];
        }
      }
      int8_t* __restrict o = w.out_px + (c0 - out.ch_begin);
      for (int32_t i = 0; i < n; ++i) o[i] = m[i] < act_max ? m[i] : act_max;
    }
  });
}

Status average_pool2d_prepare(PrepareContext& ctx) { return pool_prepare(ctx, "AVERAGE_POOL_2D"); }
Status max_pool2d_prepare(PrepareContext& ctx) { return pool_prepare(ctx, "MAX_POOL_2D"); }
Status average_pool2d_eval(const EvalContext& ctx) { return pool_eval<average_pool2d_tile>(ctx); }
Status max_pool2d_eval(const EvalContext& ctx) { return pool_eval<max_pool2d_tile>(ctx); }

// The op descriptors (tinyops/op_descriptor.h).
namespace {
const PoolParams& pool_params(const void* p) { return *static_cast<const PoolParams*>(p); }
void pool_geometry(const void* params, TileGeometry* g) {
  const PoolParams& p = pool_params(params);
  *g = TileGeometry{
      p.batches,
      p.in_h,
      p.in_w,
      p.channels,
      p.out_h,
      p.out_w,
      p.channels,
      p.stride_h,
      1,
      p.filter_h,
      0,
      uint64_t(p.batches) * p.out_h * p.out_w * p.channels * uint64_t(p.filter_h) * p.filter_w};
}
void pool_rows(const void* params, int32_t r0, int32_t r1, int32_t* first, int32_t* last) {
  pool_input_rows(pool_params(params), r0, r1, first, last);
}
template <void (*Tile)(const PoolParams&, const InputBand&, const OutputTile&)>
void pool_window(const void* params, const InputBand& in, const int8_t*, const int32_t*,
                 const OutputTile& out, void*) {
  Tile(pool_params(params), in, out);
}
}  // namespace

extern const OpDescriptor kAveragePool2DOp = {
    kBuiltinAveragePool2D,
    builtin_op_name(kBuiltinAveragePool2D),
    average_pool2d_prepare,
    average_pool2d_eval,
    "average_pool_2d",
    served_in_tflm(TflmOptions::kPool),
    {fixed_family<OpFamily::kPool>, pool_geometry, pool_rows, nullptr, nullptr,
     pool_window<average_pool2d_tile>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};
extern const OpDescriptor kMaxPool2DOp = {
    kBuiltinMaxPool2D,
    builtin_op_name(kBuiltinMaxPool2D),
    max_pool2d_prepare,
    max_pool2d_eval,
    "max_pool_2d",
    0,
    {fixed_family<OpFamily::kPool>, pool_geometry, pool_rows, nullptr, nullptr,
     pool_window<max_pool2d_tile>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
