// DEPTHWISE_CONV_2D (int8): prepare, eval and the tile entry points.
//
// Fast path: for each output pixel, out[c] = requant(init[c] + sum_t x_t[c] * w_t[c])
// over the T = KH * KW taps, vectorized along channels. Taps TFLM skips
// (outside the image) get a zero weight row and a zero input row; init[c] is
// bias[c] + input_offset * (sum of the weights of the taps that are inside),
// which equals TFLM's sum of w * (x + input_offset) (see conv_common.h).
// Interior pixels of an output row share one init row (only the row validity
// matters there); border pixels compute their own.
#include "depthwise_conv.h"

#include <cstring>

#include "arm/depthwise_dsp.h"
#include "conv_common.h"
#include "kernels.h"
#include "quant.h"

namespace tinyops {

using namespace conv_detail;

namespace {

inline Requant requant_of(const DepthwiseConv2DParams& p) {
  return Requant{p.multiplier, p.left_shift, p.right_shift, p.output_offset, p.act_min,
                 p.act_max};
}

// Channels [i0, i0 + W) of one pixel with T taps; W fixed so the compiler
// picks a vector width that fits small channel counts too.
template <int T, int W>
inline __attribute__((always_inline)) void dw_span(const int8_t* const __restrict* x,
                                                   const int8_t* const __restrict* w, int32_t i0,
                                                   const int32_t* __restrict init,
                                                   const int32_t* __restrict m,
                                                   const int32_t* __restrict ls,
                                                   const int32_t* __restrict rs, int32_t off,
                                                   int32_t lo, int32_t hi,
                                                   int8_t* __restrict out) {
  for (int32_t j = 0; j < W; ++j) {
    const int32_t i = i0 + j;
    int32_t s = 0;
#pragma GCC unroll 32
    for (int t = 0; t < T; ++t) s += static_cast<int32_t>(x[t][i]) * static_cast<int32_t>(w[t][i]);
    out[i] = requant_clamp(wrap_add(s, init[i]), m[i], ls[i], rs[i], off, lo, hi);
  }
}

// T taps known at compile time: one pass, accumulator in registers; blocks of
// 64, then 16, then single channels.
template <int T>
void dw_pixel_fixed(const int8_t* const* xp, const int8_t* const* wp, int32_t n,
                    const int32_t* __restrict init, const Requant& rq, int32_t c0,
                    int8_t* __restrict out) {
  const int8_t* __restrict x[T];
  const int8_t* __restrict w[T];
  for (int t = 0; t < T; ++t) {
    x[t] = xp[t];
    w[t] = wp[t];
  }
  const int32_t* m = rq.multiplier + c0;
  const int32_t* ls = rq.left_shift + c0;
  const int32_t* rs = rq.right_shift + c0;
  const int32_t off = rq.output_offset, lo = rq.act_min, hi = rq.act_max;
  int32_t i = 0;
  for (; i + 64 <= n; i += 64) dw_span<T, 64>(x, w, i, init, m, ls, rs, off, lo, hi, out);
  for (; i + 16 <= n; i += 16) dw_span<T, 16>(x, w, i, init, m, ls, rs, off, lo, hi, out);
  for (; i < n; ++i) dw_span<T, 1>(x, w, i, init, m, ls, rs, off, lo, hi, out);
}

// Any number of taps: accumulate tap by tap into acc (n int32).
void dw_pixel_generic(const int8_t* const* xp, const int8_t* const* wp, int32_t T, int32_t n,
                      const int32_t* __restrict init, const Requant& rq, int32_t c0,
                      int8_t* __restrict out, int32_t* __restrict acc) {
  for (int32_t i = 0; i < n; ++i) acc[i] = 0;
  for (int32_t t = 0; t < T; ++t) {
    const int8_t* __restrict x = xp[t];
    const int8_t* __restrict w = wp[t];
    for (int32_t i = 0; i < n; ++i) acc[i] += static_cast<int32_t>(x[i]) * static_cast<int32_t>(w[i]);
  }
  requant_row(acc, n, init, rq, c0, out);
}

// depth_multiplier > 1: xp[t] points at channel 0 of the tap's input pixel,
// output channel c reads input channel c / M.
void dw_pixel_multiplier(const int8_t* const* xp, const int8_t* const* wp, int32_t T,
                         int32_t n, int32_t c0, int32_t M, const int32_t* __restrict init,
                         const Requant& rq, int8_t* __restrict out, int32_t* __restrict acc) {
  for (int32_t i = 0; i < n; ++i) acc[i] = 0;
  for (int32_t t = 0; t < T; ++t) {
    const int8_t* __restrict x = xp[t];
    const int8_t* __restrict w = wp[t];
    for (int32_t i = 0; i < n; ++i) {
      acc[i] += static_cast<int32_t>(x[(c0 + i) / M]) * static_cast<int32_t>(w[i]);
    }
  }
  requant_row(acc, n, init, rq, c0, out);
}


// Extra scratch of the Arm DSP loops (arm/depthwise_dsp.h) beyond the
// portable path's, counted on every build so plans do not depend on it.
uint32_t dw_dsp_extra_scratch(const DepthwiseConv2DParams& p, int32_t channels) {
  if (!arm_kernels::dw_dsp_supported(p.filter_h, p.filter_w, p.stride_w, p.dilation_h,
                                     p.dilation_w, p.depth_multiplier)) {
    return 0;
  }
  return align16(static_cast<uint32_t>(channels) * 4u) +
         align16(arm_kernels::dw_weight_bytes(p.filter_h, p.filter_w, p.stride_w,
                                              p.depth_multiplier)) +
         align16(arm_kernels::dw_ring_bytes(p.filter_h, p.filter_w, p.stride_w, p.out_w));
}

#if TINYOPS_ARM_DSP
// The tile on the Arm DSP loops; scratch as dw_dsp_extra_scratch plus the
// portable path's first 4 arrays (room for the output-stage constants).
// False (nothing written) when a channel's multiplier needs TFLM's generic
// output stage: the other loops then run the tile.
bool dw_dsp_run(const DepthwiseConv2DParams& p, const InputBand& in, const int8_t* filter,
                const int32_t* bias, const OutputTile& out, void* scratch) {
  using namespace arm_kernels;
  const int32_t c0 = out.ch_begin, n = out.ch_end - c0;
  const int32_t KH = p.filter_h, KW = p.filter_w, OC = p.out_c;
  // The per-channel constants (5 words) fill the portable path's 4 arrays
  // of n int32 and dw_dsp_extra_scratch's first n words.
  DwConst* cst = static_cast<DwConst*>(scratch);
  ScratchCursor sc{static_cast<uint8_t*>(scratch) + 4 * align16(static_cast<uint32_t>(n) * 4u) +
                   align16(static_cast<uint32_t>(n) * 4u)};
  int32_t* wext = reinterpret_cast<int32_t*>(
      sc.take<uint8_t>(dw_weight_bytes(KH, KW, p.stride_w, p.depth_multiplier)));
  const uint32_t ring_bytes = dw_ring_bytes(KH, KW, p.stride_w, p.out_w);
  int32_t* ring = reinterpret_cast<int32_t*>(sc.take<uint8_t>(ring_bytes));

  const OutOp op = out_op(p.output_offset, p.act_min, p.act_max);
  const int32_t* rs = p.row_sum ? p.row_sum + c0 : nullptr;
  const int32_t* mult = p.multiplier + c0;
  const int32_t* lsh = p.left_shift + c0;
  const int32_t* rsh = p.right_shift + c0;
  for (int32_t i = 0; i < n; ++i) {
    if (!out_const_setup(op, mult[i], lsh[i], rsh[i], &cst[i].out)) return false;
    // bias + input_offset * (all the channel's weights): every tap counts.
    uint32_t wsum = 0;
    if (rs) {
      for (int32_t r = 0; r < KH; ++r) wsum += static_cast<uint32_t>(rs[r * OC + i]);
    } else {
      for (int32_t t = 0; t < KH * KW; ++t) {
        wsum += static_cast<uint32_t>(static_cast<int32_t>(filter[static_cast<ptrdiff_t>(t) * OC + c0 + i]));
      }
    }
    cst[i].bias = wrap_add(bias ? bias[c0 + i] : 0,
                           wrap_mul(p.input_offset, static_cast<int32_t>(wsum)));
  }
  DwTile t;
  t.in_h = p.in_h;
  t.in_w = p.in_w;
  t.in_c = p.in_c;
  t.out_w = p.out_w;
  t.kh = KH;
  t.kw = KW;
  t.sh = p.stride_h;
  t.sw = p.stride_w;
  t.mult = p.depth_multiplier;
  t.pad_top = p.pad_top;
  t.pad_left = p.pad_left;
  t.in = in.data;
  t.in_row0 = in.row_begin;
  t.filter = filter;
  t.oc_total = OC;
  t.oc0 = c0;
  t.noc = n;
  t.out = out.data;
  t.row_begin = out.row_begin;
  t.row_end = out.row_end;
  t.row_stride = out.row_stride;
  t.pixel_stride = out.pixel_stride;
  t.zp4 = static_cast<uint8_t>(-p.input_offset) * 0x01010101u;
  t.cst = cst;
  t.add = p.act_min + 128;
  t.wext = wext;
  t.ring = ring;
  t.ring_bytes = ring_bytes;
  uint32_t zpbuf[4] = {t.zp4, t.zp4, t.zp4, t.zp4};
  t.zpbuf = reinterpret_cast<const int8_t*>(zpbuf);
  dw_tile(t, op.kind);
  return true;
}
#endif  // TINYOPS_ARM_DSP

}  // namespace

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
    bytes += (static_cast<uint32_t>(p.filter_h) * static_cast<uint32_t>(channels) * 4u + 15u) &
             ~15u;
  }
  return bytes + dw_dsp_extra_scratch(p, channels);
}

void depthwise_conv2d_tile_reference(const DepthwiseConv2DParams& p, const InputBand& in,
                                     const int8_t* filter, const int32_t* bias,
                                     const OutputTile& out) {
  const int32_t row_bytes = p.in_w * p.in_c;
  for (int32_t y = out.row_begin; y < out.row_end; ++y) {
    const int32_t iy0 = y * p.stride_h - p.pad_top;
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                    static_cast<ptrdiff_t>(x) * out.pixel_stride;
      for (int32_t c = out.ch_begin; c < out.ch_end; ++c) {
        const int32_t ic = c / p.depth_multiplier;
        uint32_t acc = 0;
        for (int32_t ky = 0; ky < p.filter_h; ++ky) {
          const int32_t iy = iy0 + ky * p.dilation_h;
          for (int32_t kx = 0; kx < p.filter_w; ++kx) {
            const int32_t ix = ix0 + kx * p.dilation_w;
            if (ix < 0 || ix >= p.in_w || iy < 0 || iy >= p.in_h) continue;
            const int32_t xv =
                static_cast<int32_t>(in.data[static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                                             static_cast<ptrdiff_t>(ix) * p.in_c + ic]) +
                p.input_offset;
            const int32_t wv =
                filter[static_cast<ptrdiff_t>(ky * p.filter_w + kx) * p.out_c + c];
            acc += static_cast<uint32_t>(wv * xv);
          }
        }
        if (bias) acc += static_cast<uint32_t>(bias[c]);
        int32_t v = multiply_by_quantized_multiplier(static_cast<int32_t>(acc), p.multiplier[c],
                                                     p.shift[c]);
        v += p.output_offset;
        v = v > p.act_min ? v : p.act_min;
        v = v < p.act_max ? v : p.act_max;
        dst[c - out.ch_begin] = static_cast<int8_t>(v);
      }
    }
  }
}

void depthwise_conv2d_tile(const DepthwiseConv2DParams& p, const InputBand& in,
                           const int8_t* filter, const int32_t* bias, const OutputTile& out,
                           void* scratch) {
  if (out.row_begin >= out.row_end || out.ch_begin >= out.ch_end) return;
  if (p.path == kDepthwisePathReference) {
    depthwise_conv2d_tile_reference(p, in, filter, bias, out);
    return;
  }
#if TINYOPS_ARM_DSP
  if (arm_kernels::dw_dsp_supported(p.filter_h, p.filter_w, p.stride_w, p.dilation_h,
                                    p.dilation_w, p.depth_multiplier)) {
    if (dw_dsp_run(p, in, filter, bias, out, scratch)) return;
  }
#endif
  const int32_t c0 = out.ch_begin, c1 = out.ch_end, n = c1 - c0;
  const int32_t KH = p.filter_h, KW = p.filter_w, T = KH * KW, M = p.depth_multiplier;
  const int32_t OC = p.out_c;
  ScratchCursor sc{static_cast<uint8_t*>(scratch)};
  int32_t* corr = sc.take<int32_t>(static_cast<size_t>(n));
  int32_t* pcorr = sc.take<int32_t>(static_cast<size_t>(n));
  int32_t* acc = sc.take<int32_t>(static_cast<size_t>(n));
  uint32_t* wsum = sc.take<uint32_t>(static_cast<size_t>(n));
  const int8_t** xp = sc.take<const int8_t*>(static_cast<size_t>(T));
  const int8_t** wp = sc.take<const int8_t*>(static_cast<size_t>(T));
  int32_t* local_rs = nullptr;
  if (p.row_sum == nullptr) {
    local_rs = sc.take<int32_t>(static_cast<size_t>(KH) * n);
    for (int32_t ky = 0; ky < KH; ++ky) {
      int32_t* r = local_rs + static_cast<ptrdiff_t>(ky) * n;
      for (int32_t i = 0; i < n; ++i) r[i] = 0;
      for (int32_t kx = 0; kx < KW; ++kx) {
        const int8_t* w = filter + static_cast<ptrdiff_t>(ky * KW + kx) * OC + c0;
        for (int32_t i = 0; i < n; ++i) r[i] += w[i];
      }
    }
  }
  const Requant rq = requant_of(p);
  const int32_t row_bytes = p.in_w * p.in_c;
  const int32_t ch_off = M == 1 ? c0 : 0;

  // Output columns whose every kx tap is inside the image: [xa, xb).
  int32_t xa = (p.pad_left + p.stride_w - 1) / p.stride_w;
  const int32_t last = p.in_w - 1 - (KW - 1) * p.dilation_w + p.pad_left;  // x * sw <= last
  int32_t xb = last >= 0 ? last / p.stride_w + 1 : 0;
  if (xa > p.out_w) xa = p.out_w;
  if (xb > p.out_w) xb = p.out_w;
  if (xb < xa) xb = xa;

  auto run_pixel = [&](const int32_t* init, int8_t* dst) {
    if (M != 1) {
      dw_pixel_multiplier(xp, wp, T, n, c0, M, init, rq, dst, acc);
    } else if (T == 9) {
      dw_pixel_fixed<9>(xp, wp, n, init, rq, c0, dst);
    } else if (T == 25) {
      dw_pixel_fixed<25>(xp, wp, n, init, rq, c0, dst);
    } else {
      dw_pixel_generic(xp, wp, T, n, init, rq, c0, dst, acc);
    }
  };
  auto finish_init = [&](int32_t* init) {
    // init = bias + input_offset * wsum  (wrapping)
    for (int32_t i = 0; i < n; ++i) {
      init[i] = wrap_add(bias ? bias[c0 + i] : 0,
                         wrap_mul(p.input_offset, static_cast<int32_t>(wsum[i])));
    }
  };

  const auto simd_row = x86::kernels().dw_row;
  for (int32_t y = out.row_begin; y < out.row_end; ++y) {
    const int32_t iy0 = y * p.stride_h - p.pad_top;
    int8_t* dst_row = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride;

    // Row init for interior pixels: only rows inside the image count.
    for (int32_t i = 0; i < n; ++i) wsum[i] = 0;
    for (int32_t ky = 0; ky < KH; ++ky) {
      const int32_t iy = iy0 + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      const int32_t* rsum = p.row_sum ? p.row_sum + static_cast<ptrdiff_t>(ky) * OC + c0
                                      : local_rs + static_cast<ptrdiff_t>(ky) * n;
      for (int32_t i = 0; i < n; ++i) wsum[i] += static_cast<uint32_t>(rsum[i]);
    }
    finish_init(corr);

    // A whole row, borders included, in x86 SIMD (x86/dispatch.h).
    if (simd_row != nullptr && M == 1 && T <= x86::kDwMaxRowTaps) {
      for (int32_t ky = 0; ky < KH; ++ky) {
        const int32_t iy = iy0 + ky * p.dilation_h;
        xp[ky] = (iy >= 0 && iy < p.in_h)
                     ? in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes
                     : nullptr;
      }
      simd_row(p, xp, filter, bias, c0, n, corr, xa, xb, rq, dst_row, out.pixel_stride);
      continue;
    }

    // Interior pixels.
    if (xa < xb) {
      for (int32_t x = xa; x < xb; ++x) {
        const int32_t ix0 = x * p.stride_w - p.pad_left;
        for (int32_t ky = 0; ky < KH; ++ky) {
          const int32_t iy = iy0 + ky * p.dilation_h;
          const bool row_ok = iy >= 0 && iy < p.in_h;
          const int8_t* src = row_ok ? in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                                           static_cast<ptrdiff_t>(ix0) * p.in_c + ch_off
                                     : nullptr;
          for (int32_t kx = 0; kx < KW; ++kx) {
            const int32_t t = ky * KW + kx;
            if (row_ok) {
              xp[t] = src + static_cast<ptrdiff_t>(kx) * p.dilation_w * p.in_c;
              wp[t] = filter + static_cast<ptrdiff_t>(t) * OC + c0;
            } else {
              xp[t] = p.zeros;
              wp[t] = p.zeros;
            }
          }
        }
        run_pixel(corr, dst_row + static_cast<ptrdiff_t>(x) * out.pixel_stride);
      }
    }

    // Border pixels: per-pixel init over the taps that are inside.
    for (int32_t x = 0; x < p.out_w; ++x) {
      if (x == xa && xb > xa) {
        x = xb - 1;
        continue;
      }
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      for (int32_t i = 0; i < n; ++i) wsum[i] = 0;
      for (int32_t ky = 0; ky < KH; ++ky) {
        const int32_t iy = iy0 + ky * p.dilation_h;
        const bool row_ok = iy >= 0 && iy < p.in_h;
        for (int32_t kx = 0; kx < KW; ++kx) {
          const int32_t t = ky * KW + kx;
          const int32_t ix = ix0 + kx * p.dilation_w;
          if (row_ok && ix >= 0 && ix < p.in_w) {
            xp[t] = in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                    static_cast<ptrdiff_t>(ix) * p.in_c + ch_off;
            wp[t] = filter + static_cast<ptrdiff_t>(t) * OC + c0;
            const int8_t* w = wp[t];
            for (int32_t i = 0; i < n; ++i) wsum[i] += static_cast<uint32_t>(static_cast<int32_t>(w[i]));
          } else {
            xp[t] = p.zeros;
            wp[t] = p.zeros;
          }
        }
      }
      finish_init(pcorr);
      run_pixel(pcorr, dst_row + static_cast<ptrdiff_t>(x) * out.pixel_stride);
    }
  }
}

Status depthwise_conv2d_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 2, 3, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* input = ctx.input(0);
  const TensorDesc* filter = ctx.input(1);
  const TensorDesc* bias = ctx.input(2);
  const TensorDesc* output = ctx.output(0);
  if (output == nullptr) {
    return ctx.fail(Status::kInvalidModel, "DEPTHWISE_CONV_2D: output is missing");
  }
  if (ctx.options == nullptr) {
    return ctx.fail(Status::kInvalidModel, "DEPTHWISE_CONV_2D: no options");
  }
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
  if (input->shape.rank != 4 || filter->shape.rank != 4 || output->shape.rank != 4) {
    return ctx.fail(Status::kInvalidModel,
                    "DEPTHWISE_CONV_2D: input, filter and output must be 4D, are %dD, %dD, %dD",
                    static_cast<int>(input->shape.rank), static_cast<int>(filter->shape.rank),
                    static_cast<int>(output->shape.rank));
  }
  if (!dims_positive(input) || !dims_positive(filter) || !dims_positive(output)) {
    return ctx.fail(Status::kUnsupported, "DEPTHWISE_CONV_2D: empty tensors are not supported");
  }
  const int32_t batches = input->shape.dims[0], in_h = input->shape.dims[1],
                in_w = input->shape.dims[2], in_c = input->shape.dims[3];
  const int32_t kh = filter->shape.dims[1], kw = filter->shape.dims[2],
                out_c = filter->shape.dims[3];
  if (filter->shape.dims[0] != 1) {
    return ctx.fail(Status::kInvalidModel, "DEPTHWISE_CONV_2D: filter dimension 0 is %d, expected 1",
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
  const int32_t* od = output->shape.dims;
  if (od[0] != batches || od[1] != geo.out_h || od[2] != geo.out_w || od[3] != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "DEPTHWISE_CONV_2D: output shape is [%d,%d,%d,%d], expected [%d,%d,%d,%d]",
                    static_cast<int>(od[0]), static_cast<int>(od[1]), static_cast<int>(od[2]),
                    static_cast<int>(od[3]), static_cast<int>(batches),
                    static_cast<int>(geo.out_h), static_cast<int>(geo.out_w),
                    static_cast<int>(out_c));
  }
  if (bias && bias->shape.num_elements() != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "DEPTHWISE_CONV_2D: bias has %lld elements, expected %d",
                    static_cast<long long>(bias->shape.num_elements()), static_cast<int>(out_c));
  }
  if ((s = check_activation_quant(ctx, input, "DEPTHWISE_CONV_2D input")) != Status::kOk) return s;
  if ((s = check_activation_quant(ctx, output, "DEPTHWISE_CONV_2D output")) != Status::kOk)
    return s;
  const QuantInfo& fq = filter->quant;
  bool per_channel = false;
  if ((s = check_filter_quant(ctx, filter, out_c, "DEPTHWISE_CONV_2D", &per_channel)) != Status::kOk) return s;
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
  p->batches = batches;
  p->in_h = in_h;
  p->in_w = in_w;
  p->in_c = in_c;
  p->out_h = geo.out_h;
  p->out_w = geo.out_w;
  p->out_c = out_c;
  p->filter_h = kh;
  p->filter_w = kw;
  p->depth_multiplier = M;
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
    return ctx.fail(Status::kUnsupported,
                    "DEPTHWISE_CONV_2D: fused activation %d is not supported",
                    static_cast<int>(opt.activation));
  }
  int32_t* mult = arrays;
  int32_t* shift = arrays + out_c;
  int32_t* lsh = arrays + 2 * static_cast<size_t>(out_c);
  int32_t* rsh = arrays + 3 * static_cast<size_t>(out_c);
  if ((s = per_channel_multipliers(ctx, input->quant.scale, fq, output->quant.scale, out_c,
                                   per_channel, mult, shift, lsh, rsh)) != Status::kOk)
    return s;
  p->multiplier = mult;
  p->shift = shift;
  p->left_shift = lsh;
  p->right_shift = rsh;
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
  p->has_bias = bias != nullptr ? 1 : 0;
  ctx.params = p;
  ctx.scratch_bytes = depthwise_conv2d_tile_scratch_size(*p, p->out_h, out_c);
  return Status::kOk;
}

Status depthwise_conv2d_eval(const EvalContext& ctx) {
  return conv_detail::eval_per_image<DepthwiseConv2DParams>(ctx, depthwise_conv2d_tile);
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
const DepthwiseConv2DParams& dw_params(const void* p) {
  return *static_cast<const DepthwiseConv2DParams*>(p);
}
void dw_geometry(const void* params, TileGeometry* g) {
  const DepthwiseConv2DParams& p = dw_params(params);
  *g = TileGeometry{p.batches, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c,
                    p.stride_h, p.dilation_h, p.filter_h, 0,
                    uint64_t(p.batches) * p.out_h * p.out_w * p.out_c * uint64_t(p.filter_h) * p.filter_w};
}
void dw_input_rows(const void* params, int32_t r0, int32_t r1, int32_t* first, int32_t* last) {
  const DepthwiseConv2DParams& p = dw_params(params);
  window_input_rows(r0, r1, p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.in_h, first, last);
}
uint32_t dw_scratch(const void* params, int32_t rows, int32_t channels) {
  return depthwise_conv2d_tile_scratch_size(dw_params(params), rows, channels);
}
void dw_window(const void* params, const InputBand& in, const int8_t* filter, const int32_t* bias,
               const OutputTile& out, void* scratch) {
  depthwise_conv2d_tile(dw_params(params), in, filter, bias, out, scratch);
}
}  // namespace

extern const OpDescriptor kDepthwiseConv2DOp = {
    kBuiltinDepthwiseConv2D, builtin_op_name(kBuiltinDepthwiseConv2D), depthwise_conv2d_prepare,
    depthwise_conv2d_eval, "depthwise", kServedInTflm,
    {fixed_family<OpFamily::kDepthwise>, dw_geometry, dw_input_rows, dw_scratch, nullptr,
     dw_window, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
