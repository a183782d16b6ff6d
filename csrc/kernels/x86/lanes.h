// The loops the AVX2 and AVX-512 levels share, written once over a level's
// vector facts L (requant_avx2.h / requant_avx512.h: Lanes): lane count,
// masked or full-only vectors, loads, multiply-add and the output stage.
// Private to csrc/kernels/x86.
//
// These templates carry no target attribute; each level's entry point is
// compiled for its level with `flatten`, which inlines them and L's
// functions into it, so the instructions are the level's (isa.h). Heavy
// microkernels that should stay calls are marked noinline.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/depthwise_conv.h"
#include "kernels/gemm_layout.h"
#include "kernels/requant.h"
#include "kernels/x86/dispatch.h"
#include "kernels/x86/isa.h"

namespace tinyops {
namespace x86 {

// Whether channel group [cg, cg + L::kLanes) runs as a vector: masked levels
// take the partial last group too, the others leave it to a scalar tail.
template <class L>
inline bool vector_group(int32_t cg, int32_t n) {
  return L::kMasked ? cg < n : cg + L::kLanes <= n;
}

// Kernels::requant_rows (contract in dispatch.h).
template <class L>
inline void requant_rows_lanes(const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n,
                               const int32_t* bias, const conv_detail::Requant& rq, int32_t c0,
                               int8_t* const* outs, int32_t out_off) {
  const typename L::Vec off = L::set1(rq.output_offset);
  const typename L::Vec lo = L::set1(rq.act_min);
  const typename L::Vec hi = L::set1(rq.act_max);
  int32_t i = 0;
  for (; vector_group<L>(i, n); i += L::kLanes) {
    const typename L::Mask k = L::mask(n - i);
    const typename L::Requant r = L::requant_lanes(rq, c0 + i, k);
    const typename L::Vec b = bias ? L::load_i32(k, bias + i) : L::zero();
    for (int32_t row = 0; row < rows; ++row) {
      const typename L::Vec a = L::add(L::load_i32(k, acc + row * acc_stride + i), b);
      L::store_requant(k, outs[row] + out_off + i, a, r, off, lo, hi);
    }
  }
  for (; i < n; ++i) {  // the last channels of a block, one at a time
    const int32_t c = c0 + i;
    for (int32_t row = 0; row < rows; ++row) {
      const int32_t a = acc[row * acc_stride + i];
      outs[row][out_off + i] = conv_detail::requant_clamp(
          bias ? conv_detail::wrap_add(a, bias[i]) : a, rq.multiplier[c], rq.left_shift[c],
          rq.right_shift[c], rq.output_offset, rq.act_min, rq.act_max);
    }
  }
}

// Kernels::gemm_packed (contract in dispatch.h) over a level's packed layout
// G: blocks of G::kLanes channels, G::block_bytes(K) bytes each, multiplied by
// G::blocks(np, xs, blk, K, nb, acc) into acc[p * kChannelBlock + lane].
template <class G, class L>
inline void gemm_packed_lanes(const int8_t* const* xs, int32_t npix, const int8_t* packed,
                              int32_t K, int32_t row0, int32_t nch, const int32_t* bias_eff,
                              const conv_detail::Requant& rq, int32_t c0, int8_t* const* outs,
                              int32_t* acc) {
  using conv_detail::kChannelBlock;
  using conv_detail::kPixelBlock;
  const ptrdiff_t stride = G::block_bytes(K);
  // The block holding tile channel 0, and that channel's lane in it.
  const int8_t* first_block = packed + static_cast<ptrdiff_t>(row0 / G::kLanes) * stride;
  const int32_t lane0 = row0 % G::kLanes;
  const int32_t span = lane0 + nch;  // lanes covering the tile
  for (int32_t p = 0; p < npix; p += kPixelBlock) {
    const int32_t np = npix - p < kPixelBlock ? npix - p : kPixelBlock;
    const int8_t* x4[kPixelBlock];
    for (int32_t i = 0; i < kPixelBlock; ++i) x4[i] = xs[p + (i < np ? i : 0)];
    // Windows of kChannelBlock lanes aligned to the packed blocks;
    // window-relative lane L holds tile channel L - lane0 + wb.
    for (int32_t wb = 0; wb < span; wb += kChannelBlock) {
      const int32_t lanes = span - wb < kChannelBlock ? span - wb : kChannelBlock;
      const int8_t* blk = first_block + (wb / G::kLanes) * stride;
      G::blocks(np, x4, blk, K, (lanes + G::kLanes - 1) / G::kLanes, acc);
      const int32_t first = wb < lane0 ? lane0 - wb : 0;  // first lane in the tile
      const int32_t i0 = wb + first - lane0;              // its tile channel
      requant_rows_lanes<L>(acc + first, kChannelBlock, np, lanes - first, bias_eff + i0, rq,
                            c0 + i0, outs + p, i0);
    }
  }
}

// Kernels::dw_row (contract in dispatch.h): interior pixels [xa, xb) (every
// kx tap inside) start from init = bias + input_offset * (weights of the rows
// inside) and add pure int8 products; border pixels accumulate bias + w * (x +
// input_offset) over the taps inside, exactly TFLM's sum (gemm.h explains why
// both are exact).
template <class L>
inline void dw_row_lanes(const DepthwiseConv2DParams& p, const int8_t* const* rows,
                         const int8_t* filter, const int32_t* bias, int32_t c0, int32_t n,
                         const int32_t* init, int32_t xa, int32_t xb,
                         const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride) {
  using conv_detail::wrap_add;
  using conv_detail::wrap_mul;
  const int8_t* tap_in[kDwMaxRowTaps];
  int32_t tap_index[kDwMaxRowTaps];
  int32_t tap_dx[kDwMaxRowTaps];  // kx * dilation_w
  int32_t T = 0;
  for (int32_t ky = 0; ky < p.filter_h; ++ky) {
    if (rows[ky] == nullptr) continue;
    for (int32_t kx = 0; kx < p.filter_w; ++kx) {
      tap_dx[T] = kx * p.dilation_w;
      tap_in[T] = rows[ky] + static_cast<ptrdiff_t>(tap_dx[T]) * p.in_c;
      tap_index[T] = ky * p.filter_w + kx;
      ++T;
    }
  }
  const typename L::Vec off = L::set1(rq.output_offset);
  const typename L::Vec lo = L::set1(rq.act_min);
  const typename L::Vec hi = L::set1(rq.act_max);
  const typename L::Vec in_off = L::set1(p.input_offset);
  typename L::Vec wv[kDwMaxRowTaps];
  int32_t cg = 0;
  for (; vector_group<L>(cg, n); cg += L::kLanes) {
    const typename L::Mask k = L::mask(n - cg);
    for (int32_t t = 0; t < T; ++t) {
      wv[t] = L::load_i8(k, filter + static_cast<ptrdiff_t>(tap_index[t]) * p.out_c + c0 + cg);
    }
    const typename L::Requant r = L::requant_lanes(rq, c0 + cg, k);
    const typename L::Vec iv = L::load_i32(k, init + cg);
    const typename L::Vec bv = bias ? L::load_i32(k, bias + c0 + cg) : L::zero();
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      const ptrdiff_t o = static_cast<ptrdiff_t>(ix0) * p.in_c + c0 + cg;
      typename L::Vec acc;
      if (x >= xa && x < xb) {
        acc = iv;
        for (int32_t t = 0; t < T; ++t)
          acc = L::add(acc, L::mul(L::load_i8(k, tap_in[t] + o), wv[t]));
      } else {
        acc = bv;
        for (int32_t t = 0; t < T; ++t) {
          const int32_t ix = ix0 + tap_dx[t];
          if (ix < 0 || ix >= p.in_w) continue;
          const typename L::Vec xv = L::add(L::load_i8(k, tap_in[t] + o), in_off);
          acc = L::add(acc, L::mul(xv, wv[t]));
        }
      }
      L::store_requant(k, dst_row + static_cast<ptrdiff_t>(x) * pixel_stride + cg, acc, r, off, lo,
                       hi);
    }
  }
  for (; cg < n; ++cg) {  // channels past the last full vector
    const int32_t c = c0 + cg;
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      const ptrdiff_t o = static_cast<ptrdiff_t>(ix0) * p.in_c + c;
      const bool interior = x >= xa && x < xb;
      int32_t acc = interior ? init[cg] : (bias ? bias[c] : 0);
      for (int32_t t = 0; t < T; ++t) {
        const int32_t w = filter[static_cast<ptrdiff_t>(tap_index[t]) * p.out_c + c];
        if (interior) {
          acc = wrap_add(acc, static_cast<int32_t>(tap_in[t][o]) * w);
        } else {
          const int32_t ix = ix0 + tap_dx[t];
          if (ix < 0 || ix >= p.in_w) continue;
          acc = wrap_add(acc, wrap_mul(static_cast<int32_t>(tap_in[t][o]) + p.input_offset, w));
        }
      }
      dst_row[static_cast<ptrdiff_t>(x) * pixel_stride + cg] =
          conv_detail::requant_clamp(acc, rq.multiplier[c], rq.left_shift[c], rq.right_shift[c],
                                     rq.output_offset, rq.act_min, rq.act_max);
    }
  }
}

}  // namespace x86
}  // namespace tinyops
