// DEPTHWISE_CONV_2D tiles (depthwise_conv.h): the reference loops and the
// portable fast path, after the ISA paths (arm/dispatch.h whole tiles,
// x86/dispatch.h whole rows).
//
// Fast path: for each output pixel, out[c] = requant(init[c] + sum_t x_t[c] * w_t[c])
// over the T = KH * KW taps, vectorized along channels. Taps TFLM skips
// (outside the image) get a zero weight row and a zero input row; init[c] is
// bias[c] + input_offset * (sum of the weights of the taps that are inside),
// which equals TFLM's sum of w * (x + input_offset) (see gemm.h).
// Interior pixels of an output row share one init row (only the row validity
// matters there); border pixels compute their own.
#include "kernels/arm/dispatch.h"
#include "kernels/depthwise_conv.h"
#include "kernels/gemm_layout.h"
#include "kernels/quant.h"
#include "kernels/requant.h"
#include "kernels/scratch.h"
#include "kernels/window_reference.h"
#include "kernels/x86/dispatch.h"

namespace tinyops {

using namespace conv_detail;

namespace {

// Channels [i0, i0 + W) of one pixel with T taps; W fixed so the compiler
// picks a vector width that fits small channel counts too.
template <int T, int W>
inline __attribute__((always_inline)) void dw_span(
    const int8_t* const __restrict* x, const int8_t* const __restrict* w, int32_t i0,
    const int32_t* __restrict init, const int32_t* __restrict m, const int32_t* __restrict ls,
    const int32_t* __restrict rs, int32_t off, int32_t lo, int32_t hi, int8_t* __restrict out) {
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
    for (int32_t i = 0; i < n; ++i)
      acc[i] += static_cast<int32_t>(x[i]) * static_cast<int32_t>(w[i]);
  }
  requant_row(acc, n, init, rq, c0, out);
}

// depth_multiplier > 1: xp[t] points at channel 0 of the tap's input pixel,
// output channel c reads input channel c / M.
void dw_pixel_multiplier(const int8_t* const* xp, const int8_t* const* wp, int32_t T, int32_t n,
                         int32_t c0, int32_t M, const int32_t* __restrict init, const Requant& rq,
                         int8_t* __restrict out, int32_t* __restrict acc) {
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

}  // namespace

void depthwise_conv2d_tile_reference(const DepthwiseConv2DParams& p, const InputBand& in,
                                     const int8_t* filter, const int32_t* bias,
                                     const OutputTile& out) {
  reference_window_tile(p, in, bias, out, [&](int32_t c, const int8_t* px, int32_t ky, int32_t kx) {
    const int32_t xv = static_cast<int32_t>(px[c / p.depth_multiplier]) + p.input_offset;
    const int32_t wv = filter[static_cast<ptrdiff_t>(ky * p.filter_w + kx) * p.out_c + c];
    return static_cast<uint32_t>(wv * xv);
  });
}

void depthwise_conv2d_tile(const DepthwiseConv2DParams& p, const InputBand& in,
                           const int8_t* filter, const int32_t* bias, const OutputTile& out,
                           void* scratch) {
  if (out.row_begin >= out.row_end || out.ch_begin >= out.ch_end) return;
  if (p.path == kDepthwisePathReference) {
    depthwise_conv2d_tile_reference(p, in, filter, bias, out);
    return;
  }
  if (arm::depthwise_tile(p, in, filter, bias, out, scratch)) return;
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
          const int8_t* src = row_ok ? in.data +
                                           static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
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
            for (int32_t i = 0; i < n; ++i)
              wsum[i] += static_cast<uint32_t>(static_cast<int32_t>(w[i]));
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

}  // namespace tinyops
