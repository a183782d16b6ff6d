// CONV_2D (int8): prepare, eval and the tile entry points.
#include "conv.h"

#include <cstring>

#include "conv_common.h"
#include "kernels.h"
#include "quant.h"

namespace tinyops {

using namespace conv_detail;

namespace {

// Pixels gathered per im2col block (scratch: kIm2colPixels * filter_volume
// bytes); two blocks of the Arm DSP GEMM's 6 pixels.
constexpr int32_t kIm2colPixels = 12;
// Pixels handed to one gemm_requant call in the pointwise path: on Arm DSP
// builds a multiple of the GEMM's 6-pixel blocks (11 of them), so full
// batches take no 5-pixel blocks.
#if TINYOPS_ARM_DSP
constexpr int32_t kPointwisePixels = 66;
#else
constexpr int32_t kPointwisePixels = 64;
#endif

inline Requant requant_of(const Conv2DParams& p) {
  return Requant{p.multiplier, p.left_shift, p.right_shift, p.output_offset, p.act_min,
                 p.act_max};
}

int32_t weight_sum(const int8_t* w, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += w[i];  // |s| <= 128 * n < 2^31 for fast paths
  return s;
}

// memcpy for the short runs of im2col (a 3x3 window row of 3 channels is 9
// bytes): word copies inline, where a library call would cost more than the copy.
inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  if (n > 32) {
    std::memcpy(dst, src, static_cast<size_t>(n));
    return;
  }
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    std::memcpy(&w, src + i, 4);
    std::memcpy(dst + i, &w, 4);
  }
  for (; i < n; ++i) dst[i] = src[i];
}

// Gathers the receptive field of output pixel (y, x) for group g into col
// (filter_volume bytes, [KH][KW][filter_c]); taps outside the image get the
// input zero point, whose contribution w * (zp - zp) is exactly zero.
void im2col_pixel(const Conv2DParams& p, const InputBand& in, int32_t g, int32_t y, int32_t x,
                  int8_t* col) {
  const int32_t fc = p.filter_c;
  const int8_t zp = static_cast<int8_t>(-p.input_offset);
  const int32_t iy0 = y * p.stride_h - p.pad_top;
  const int32_t ix0 = x * p.stride_w - p.pad_left;
  const int32_t row_bytes = p.in_w * p.in_c;
  const int32_t tap_bytes = p.filter_w * fc;
  const bool x_inside =
      ix0 >= 0 && ix0 + (p.filter_w - 1) * p.dilation_w < p.in_w;
  for (int32_t ky = 0; ky < p.filter_h; ++ky) {
    int8_t* dst = col + ky * tap_bytes;
    const int32_t iy = iy0 + ky * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) {
      std::memset(dst, zp, static_cast<size_t>(tap_bytes));
      continue;
    }
    const int8_t* src_row = in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                            static_cast<ptrdiff_t>(g) * fc;
    if (x_inside && p.dilation_w == 1 && p.groups == 1) {
      // The row's taps are contiguous in the input.
      copy_bytes(dst, src_row + static_cast<ptrdiff_t>(ix0) * p.in_c, tap_bytes);
      continue;
    }
    for (int32_t kx = 0; kx < p.filter_w; ++kx) {
      const int32_t ix = ix0 + kx * p.dilation_w;
      if (ix < 0 || ix >= p.in_w) {
        std::memset(dst + kx * fc, zp, static_cast<size_t>(fc));
      } else {
        std::memcpy(dst + kx * fc, src_row + static_cast<ptrdiff_t>(ix) * p.in_c,
                    static_cast<size_t>(fc));
      }
    }
  }
}

#if TINYOPS_ARM_DSP
// im2col fed straight to the Arm DSP GEMM (arm_kernels::GemmSource): the
// pixels of one output row segment, unpacked into the GEMM's int16 pairs as
// they are gathered. The 3-channel 3x3 stem's interior pixels are read as 7
// words (27 window bytes, 3 rows of 9, and a zero: K rounded up to a multiple
// of 4 by a zero activation, which meets the next weight row's first byte or,
// for the tile's last row, nothing: see arm/gemm_dsp.h); every other pixel is
// gathered by im2col_pixel into `col` first.
struct Im2colSource {
  const Conv2DParams* p;
  const InputBand* in;
  int32_t g, y, x0;  // output row y, pixels x0 + i
  int8_t* col;       // kIm2colPixels * K bytes
};

void im2col_unpack(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf) {
  using namespace arm_dsp;
  const Im2colSource& s = *static_cast<const Im2colSource*>(ctx);
  const Conv2DParams& p = *s.p;
  const int32_t step = 2 * P;  // words between a pixel's depth groups
  const int32_t x_first = s.x0 + p0;
  // The stem's interior pixels [xa, xb) of this run: all 9 taps in the image.
  int32_t xa = x_first, xb = x_first;
  const int32_t iy0 = s.y * p.stride_h - p.pad_top;
  if (p.filter_c == 3 && p.in_c == 3 && p.filter_h == 3 && p.filter_w == 3 &&
      p.dilation_w == 1 && p.groups == 1 && iy0 >= 0 && iy0 + 2 * p.dilation_h < p.in_h) {
    // ix0 = x * sw - pad_left >= 0 and ix0 + 2 < in_w.
    const int32_t lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
    const int32_t hi = p.in_w - 3 + p.pad_left >= 0 ? (p.in_w - 3 + p.pad_left) / p.stride_w + 1 : 0;
    xa = lo > x_first ? lo : x_first;
    xb = hi < x_first + P ? hi : x_first + P;
    if (xb < xa) xa = xb = x_first;
  }
  int32_t* d = buf;
  int32_t x = x_first;
  auto gathered = [&](int32_t xx) {  // any pixel: im2col_pixel, then unpack
    im2col_pixel(p, *s.in, s.g, s.y, xx, s.col);
    const int8_t* one = s.col;
    arm_kernels::expand_pixels_strided(&one, 1, K, d, step);
  };
  for (; x < xa; ++x, d += 2) gathered(x);
  if (x < xb) {
    const int32_t row_bytes = p.in_w * 3;
    const int8_t* r0 = s.in->data + static_cast<ptrdiff_t>(iy0 - s.in->row_begin) * row_bytes +
                       static_cast<ptrdiff_t>(x * p.stride_w - p.pad_left) * 3;
    const int8_t* r1 = r0 + static_cast<ptrdiff_t>(p.dilation_h) * row_bytes;
    const int8_t* r2 = r1 + static_cast<ptrdiff_t>(p.dilation_h) * row_bytes;
    const int32_t adv = 3 * p.stride_w;
    for (; x < xb; ++x, d += 2, r0 += adv, r1 += adv, r2 += adv) {
      // 3 rows of 9 bytes and a zero, as 7 words.
      uint16_t h1, h2;
      __builtin_memcpy(&h1, r1 + 7, 2);
      __builtin_memcpy(&h2, r2 + 6, 2);
      const uint32_t word[7] = {
          load4(r0), load4(r0 + 4),
          static_cast<uint8_t>(r0[8]) | (load4(r1) << 8),
          load4(r1 + 3),
          h1 | (load4(r2) << 16),
          load4(r2 + 2),
          h2 | (static_cast<uint32_t>(static_cast<uint8_t>(r2[8])) << 16)};
      int32_t* dd = d;
#pragma GCC unroll 7
      for (int32_t k = 0; k < 7; ++k, dd += step) {
        dd[0] = even16(word[k]);
        dd[1] = odd16(word[k]);
      }
    }
  }
  for (; x < x_first + P; ++x, d += 2) gathered(x);
}

void im2col_raw(const void* ctx, int32_t p0, int32_t P, const int8_t** xs) {
  const Im2colSource& s = *static_cast<const Im2colSource*>(ctx);
  const int32_t K = s.p->filter_volume;
  for (int32_t i = 0; i < P; ++i) {
    int8_t* c = s.col + static_cast<ptrdiff_t>(i) * K;
    im2col_pixel(*s.p, *s.in, s.g, s.y, s.x0 + p0 + i, c);
    xs[i] = c;
  }
}
#endif  // TINYOPS_ARM_DSP

}  // namespace

uint32_t conv2d_tile_scratch_size(const Conv2DParams& p, int32_t rows, int32_t channels) {
  (void)rows;
  if (p.path == kConvPathReference) return 0;
  if (channels < 1) channels = 1;
  uint32_t bytes = gemm_scratch_bytes(p.filter_volume, channels);
  if (p.path == kConvPathIm2col) {
    bytes += (static_cast<uint32_t>(kIm2colPixels) * static_cast<uint32_t>(p.filter_volume) +
              15u) & ~15u;
  }
  return bytes;
}

void conv2d_tile_reference(const Conv2DParams& p, const InputBand& in, const int8_t* filter,
                           const int32_t* bias, const OutputTile& out) {
  const int32_t K = p.filter_volume;
  const int32_t row_bytes = p.in_w * p.in_c;
  for (int32_t y = out.row_begin; y < out.row_end; ++y) {
    const int32_t iy0 = y * p.stride_h - p.pad_top;
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                    static_cast<ptrdiff_t>(x) * out.pixel_stride;
      for (int32_t c = out.ch_begin; c < out.ch_end; ++c) {
        const int32_t g = c / p.out_c_per_group;
        const int8_t* w = filter + static_cast<ptrdiff_t>(c - out.ch_begin) * K;
        uint32_t acc = 0;
        for (int32_t ky = 0; ky < p.filter_h; ++ky) {
          const int32_t iy = iy0 + ky * p.dilation_h;
          for (int32_t kx = 0; kx < p.filter_w; ++kx) {
            const int32_t ix = ix0 + kx * p.dilation_w;
            if (ix < 0 || ix >= p.in_w || iy < 0 || iy >= p.in_h) continue;
            const int8_t* src = in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                                static_cast<ptrdiff_t>(ix) * p.in_c +
                                static_cast<ptrdiff_t>(g) * p.filter_c;
            const int8_t* wt = w + (ky * p.filter_w + kx) * p.filter_c;
            for (int32_t ic = 0; ic < p.filter_c; ++ic) {
              const int32_t xv = static_cast<int32_t>(src[ic]) + p.input_offset;
              acc += static_cast<uint32_t>(static_cast<int32_t>(wt[ic]) * xv);
            }
          }
        }
        if (bias) acc += static_cast<uint32_t>(bias[c]);
        int32_t v = multiply_by_quantized_multiplier(static_cast<int32_t>(acc), p.multiplier[c],
                                                     p.shift[c]);
        v += p.output_offset;
        v = v > p.act_min ? v : p.act_min;  // std::max then std::min, as TFLM
        v = v < p.act_max ? v : p.act_max;
        dst[c - out.ch_begin] = static_cast<int8_t>(v);
      }
    }
  }
}

void conv2d_tile(const Conv2DParams& p, const InputBand& in, const int8_t* filter,
                 const int32_t* bias, const OutputTile& out, void* scratch) {
  if (out.row_begin >= out.row_end || out.ch_begin >= out.ch_end) return;
  if (p.path == kConvPathReference) {
    conv2d_tile_reference(p, in, filter, bias, out);
    return;
  }
  const int32_t c0 = out.ch_begin, c1 = out.ch_end, nch = c1 - c0;
  const int32_t K = p.filter_volume;
  ScratchCursor sc{static_cast<uint8_t*>(scratch)};
  const GemmScratch gs = take_gemm_scratch(sc, K, nch);
  int8_t* col = p.path == kConvPathIm2col
                    ? sc.take<int8_t>(static_cast<size_t>(kIm2colPixels) * K)
                    : nullptr;
  // The packed copy exists only for constant weights without groups.
  const int8_t* prepacked = p.groups == 1 ? p.packed_filter : nullptr;
  const Requant rq = requant_of(p);
  const int32_t row_bytes = p.in_w * p.in_c;

  for (int32_t g = c0 / p.out_c_per_group; g < p.groups; ++g) {
    const int32_t gbeg = g * p.out_c_per_group;
    const int32_t cs = gbeg > c0 ? gbeg : c0;
    const int32_t ce = gbeg + p.out_c_per_group < c1 ? gbeg + p.out_c_per_group : c1;
    if (cs >= ce) break;
    const int32_t n = ce - cs;
    const int8_t* w = filter + static_cast<ptrdiff_t>(cs - c0) * K;
    const GemmWeights gw = gemm_weights(w, K, cs, n, gs.wbuf, prepacked);
    // bias + input_offset * (sum of the channel's weights): every tap counts,
    // padding taps being zero-point filled (see conv_common.h).
    const int32_t off = p.input_offset + gemm_input_shift(gw);
    int32_t* be = gs.bias_eff + (cs - c0);
    for (int32_t c = cs; c < ce; ++c) {
      const int32_t wsum =
          p.filter_sum ? p.filter_sum[c]
                       : weight_sum(filter + static_cast<ptrdiff_t>(c - c0) * K, K);
      be[c - cs] = wrap_add(bias ? bias[c] : 0, wrap_mul(off, wsum));
    }
    if (p.path == kConvPathPointwise) {
      // Pixels of consecutive rows are batched into one GEMM call (narrow
      // late layers would otherwise hand over a few pixels at a time).
      const int8_t* xs[kPointwisePixels];
      int8_t* outs[kPointwisePixels];
      int32_t np = 0;
      for (int32_t y = out.row_begin; y < out.row_end; ++y) {
        const int8_t* src = in.data +
                            static_cast<ptrdiff_t>(y * p.stride_h - in.row_begin) * row_bytes +
                            static_cast<ptrdiff_t>(g) * p.filter_c;
        int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                      (cs - c0);
        for (int32_t x = 0; x < p.out_w; ++x) {
          xs[np] = src + static_cast<ptrdiff_t>(x) * p.stride_w * p.in_c;
          outs[np] = dst + static_cast<ptrdiff_t>(x) * out.pixel_stride;
          if (++np == kPointwisePixels) {
            gemm_requant(xs, np, gw, be, rq, cs, outs, gs);
            np = 0;
          }
        }
      }
      if (np > 0) gemm_requant(xs, np, gw, be, rq, cs, outs, gs);
    } else {
#if TINYOPS_ARM_DSP
      // Row segments of up to kPointwisePixels pixels, gathered by the GEMM.
      static_assert(arm_kernels::kGemmRawPixels <= kIm2colPixels, "raw pixels fit col");
      int8_t* row_outs[kPointwisePixels];
      for (int32_t y = out.row_begin; y < out.row_end; ++y) {
        int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                      (cs - c0);
        for (int32_t x0 = 0; x0 < p.out_w; x0 += kPointwisePixels) {
          const int32_t np = p.out_w - x0 < kPointwisePixels ? p.out_w - x0 : kPointwisePixels;
          for (int32_t i = 0; i < np; ++i) {
            row_outs[i] = dst + static_cast<ptrdiff_t>(x0 + i) * out.pixel_stride;
          }
          const Im2colSource ctx{&p, &in, g, y, x0, col};
          const arm_kernels::GemmSource src{im2col_unpack, im2col_raw, &ctx};
          gemm_requant_source(src, np, gw, be, rq, cs, row_outs, gs);
        }
      }
      continue;
#endif
      const int8_t* xs[kIm2colPixels];
      int8_t* outs[kIm2colPixels];
      for (int32_t i = 0; i < kIm2colPixels; ++i) xs[i] = col + static_cast<ptrdiff_t>(i) * K;
      for (int32_t y = out.row_begin; y < out.row_end; ++y) {
        int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                      (cs - c0);
        for (int32_t x0 = 0; x0 < p.out_w; x0 += kIm2colPixels) {
          const int32_t np = p.out_w - x0 < kIm2colPixels ? p.out_w - x0 : kIm2colPixels;
          for (int32_t i = 0; i < np; ++i) {
            im2col_pixel(p, in, g, y, x0 + i, col + static_cast<ptrdiff_t>(i) * K);
            outs[i] = dst + static_cast<ptrdiff_t>(x0 + i) * out.pixel_stride;
          }
          gemm_requant(xs, np, gw, be, rq, cs, outs, gs);
        }
      }
    }
  }
}

Status conv2d_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 2, 3, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* input = ctx.input(0);
  const TensorDesc* filter = ctx.input(1);
  const TensorDesc* bias = ctx.input(2);
  const TensorDesc* output = ctx.output(0);
  if (output == nullptr) return ctx.fail(Status::kInvalidModel, "CONV_2D: output is missing");
  if (ctx.options == nullptr) return ctx.fail(Status::kInvalidModel, "CONV_2D: no options");
  const OpOptions& opt = *ctx.options;

  if (input->type != output->type) {
    return ctx.fail(Status::kInvalidModel, "CONV_2D: input type %s differs from output type %s",
                    dtype_label(input->type), dtype_label(output->type));
  }
  if ((s = expect_type(ctx, input, DType::kInt8, "CONV_2D input (only int8 activations)")) !=
      Status::kOk)
    return s;
  if ((s = expect_type(ctx, filter, DType::kInt8, "CONV_2D filter (only int8 weights)")) !=
      Status::kOk)
    return s;
  if (bias && (s = expect_type(ctx, bias, DType::kInt32, "CONV_2D bias")) != Status::kOk) return s;

  if (input->shape.rank != 4 || filter->shape.rank != 4 || output->shape.rank != 4) {
    return ctx.fail(Status::kInvalidModel,
                    "CONV_2D: input, filter and output must be 4D, are %dD, %dD, %dD",
                    static_cast<int>(input->shape.rank), static_cast<int>(filter->shape.rank),
                    static_cast<int>(output->shape.rank));
  }
  if (!dims_positive(input) || !dims_positive(filter) || !dims_positive(output)) {
    return ctx.fail(Status::kUnsupported, "CONV_2D: empty tensors are not supported");
  }
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
  if ((s = spatial_geometry(ctx, "CONV_2D", opt, in_h, in_w, kh, kw, &geo)) != Status::kOk) return s;
  const int32_t* od = output->shape.dims;
  if (od[0] != batches || od[1] != geo.out_h || od[2] != geo.out_w || od[3] != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "CONV_2D: output shape is [%d,%d,%d,%d], expected [%d,%d,%d,%d]",
                    static_cast<int>(od[0]), static_cast<int>(od[1]), static_cast<int>(od[2]),
                    static_cast<int>(od[3]), static_cast<int>(batches),
                    static_cast<int>(geo.out_h), static_cast<int>(geo.out_w),
                    static_cast<int>(out_c));
  }
  if (bias && bias->shape.num_elements() != out_c) {
    return ctx.fail(Status::kInvalidModel, "CONV_2D: bias has %lld elements, expected %d",
                    static_cast<long long>(bias->shape.num_elements()), static_cast<int>(out_c));
  }

  if ((s = check_activation_quant(ctx, input, "CONV_2D input")) != Status::kOk) return s;
  if ((s = check_activation_quant(ctx, output, "CONV_2D output")) != Status::kOk) return s;
  const QuantInfo& fq = filter->quant;
  bool per_channel = false;
  if ((s = check_filter_quant(ctx, filter, out_c, "CONV_2D", &per_channel)) != Status::kOk) return s;

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
  p->batches = batches;
  p->in_h = in_h;
  p->in_w = in_w;
  p->in_c = in_c;
  p->out_h = geo.out_h;
  p->out_w = geo.out_w;
  p->out_c = out_c;
  p->filter_h = kh;
  p->filter_w = kw;
  p->filter_c = fc;
  p->groups = groups;
  p->out_c_per_group = out_c / groups;
  p->filter_volume = static_cast<int32_t>(volume);
  p->stride_h = opt.stride_h;
  p->stride_w = opt.stride_w;
  p->dilation_h = opt.dilation_h;
  p->dilation_w = opt.dilation_w;
  p->pad_top = geo.pad_top;
  p->pad_left = geo.pad_left;
  p->input_offset = -input->quant.zero_point;
  p->output_offset = output->quant.zero_point;
  if (!activation_range_quantized(opt.activation, DType::kInt8, output->quant.scale,
                                  output->quant.zero_point, &p->act_min, &p->act_max)) {
    return ctx.fail(Status::kUnsupported, "CONV_2D: fused activation %d is not supported",
                    static_cast<int>(opt.activation));
  }
  int32_t* mult = arrays;
  int32_t* shift = arrays + out_c;
  int32_t* lsh = arrays + 2 * static_cast<size_t>(out_c);
  int32_t* rsh = arrays + 3 * static_cast<size_t>(out_c);
  int32_t* fsum = arrays + 4 * static_cast<size_t>(out_c);
  if ((s = per_channel_multipliers(ctx, input->quant.scale, fq, output->quant.scale, out_c,
                                   per_channel, mult, shift, lsh, rsh)) != Status::kOk)
    return s;
  p->multiplier = mult;
  p->shift = shift;
  p->left_shift = lsh;
  p->right_shift = rsh;

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
  p->has_bias = bias != nullptr ? 1 : 0;
  ctx.params = p;
  ctx.scratch_bytes = conv2d_tile_scratch_size(*p, p->out_h, out_c);
  return Status::kOk;
}

Status conv2d_eval(const EvalContext& ctx) {
  return conv_detail::eval_per_image<Conv2DParams>(ctx, conv2d_tile);
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
const Conv2DParams& conv_params(const void* p) { return *static_cast<const Conv2DParams*>(p); }
void conv_geometry(const void* params, TileGeometry* g) {
  const Conv2DParams& p = conv_params(params);
  *g = TileGeometry{p.batches, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c,
                    p.stride_h, p.dilation_h, p.filter_h, p.filter_volume,
                    uint64_t(p.batches) * p.out_h * p.out_w * p.out_c * uint64_t(p.filter_volume)};
}
void conv_input_rows(const void* params, int32_t r0, int32_t r1, int32_t* first, int32_t* last) {
  const Conv2DParams& p = conv_params(params);
  window_input_rows(r0, r1, p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.in_h, first, last);
}
uint32_t conv_scratch(const void* params, int32_t rows, int32_t channels) {
  return conv2d_tile_scratch_size(conv_params(params), rows, channels);
}
void conv_window(const void* params, const InputBand& in, const int8_t* filter, const int32_t* bias,
                 const OutputTile& out, void* scratch) {
  conv2d_tile(conv_params(params), in, filter, bias, out, scratch);
}
}  // namespace

extern const OpDescriptor kConv2DOp = {
    kBuiltinConv2D, builtin_op_name(kBuiltinConv2D), conv2d_prepare, conv2d_eval, "conv",
    kServedInTflm,
    {fixed_family<OpFamily::kConv>, conv_geometry, conv_input_rows, conv_scratch, nullptr,
     conv_window, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
