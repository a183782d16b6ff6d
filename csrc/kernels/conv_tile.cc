// CONV_2D tiles (conv.h): the reference loops, and the fast paths as an int8
// GEMM (gemm.h) over the input pixels (pointwise) or their im2col rows
// (im2col.h), with the Arm DSP im2col reached through arm/dispatch.h.
#include <cstring>

#include "kernels/arm/dispatch.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"
#include "kernels/quant.h"
#include "kernels/requant.h"
#include "kernels/window_reference.h"

namespace tinyops {

using namespace conv_detail;

namespace {

// Pixels handed to one gemm_requant call in the pointwise path (batched
// across rows: narrow late layers would otherwise hand over a few pixels at
// a time).
constexpr int32_t kPointwisePixels = arm::kGemmBatchPixels;

}  // namespace

uint32_t conv2d_tile_scratch_size(const Conv2DParams& p, int32_t rows, int32_t channels) {
  (void)rows;
  if (p.path == kConvPathReference) return 0;
  if (channels < 1) channels = 1;
  uint32_t bytes = gemm_scratch_bytes(p.filter_volume, channels);
  if (p.path == kConvPathIm2col) {
    bytes += (static_cast<uint32_t>(kIm2colPixels) * static_cast<uint32_t>(p.filter_volume) + 15u) &
             ~15u;
  }
  return bytes;
}

void conv2d_tile_reference(const Conv2DParams& p, const InputBand& in, const int8_t* filter,
                           const int32_t* bias, const OutputTile& out) {
  const int32_t K = p.filter_volume;
  reference_window_tile(p, in, bias, out, [&](int32_t c, const int8_t* px, int32_t ky, int32_t kx) {
    const int32_t g = c / p.out_c_per_group;
    const int8_t* src = px + static_cast<ptrdiff_t>(g) * p.filter_c;
    const int8_t* wt =
        filter + static_cast<ptrdiff_t>(c - out.ch_begin) * K + (ky * p.filter_w + kx) * p.filter_c;
    uint32_t acc = 0;
    for (int32_t ic = 0; ic < p.filter_c; ++ic) {
      const int32_t xv = static_cast<int32_t>(src[ic]) + p.input_offset;
      acc += static_cast<uint32_t>(static_cast<int32_t>(wt[ic]) * xv);
    }
    return acc;
  });
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
  int8_t* col =
      p.path == kConvPathIm2col ? sc.take<int8_t>(static_cast<size_t>(kIm2colPixels) * K) : nullptr;
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
    // padding taps being zero-point filled (see gemm.h).
    const int32_t off = p.input_offset + gemm_input_shift(gw);
    int32_t* be = gs.bias_eff + (cs - c0);
    for (int32_t c = cs; c < ce; ++c) {
      const int32_t wsum = p.filter_sum
                               ? p.filter_sum[c]
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
        int8_t* dst =
            out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride + (cs - c0);
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
      if constexpr (arm::kEnabled) {  // build time: the pixels gathered by the GEMM itself
        arm::conv_im2col_rows(p, in, g, out, cs, gw, be, rq, gs, col);
        continue;
      }
      const int8_t* xs[kIm2colPixels];
      int8_t* outs[kIm2colPixels];
      for (int32_t i = 0; i < kIm2colPixels; ++i) xs[i] = col + static_cast<ptrdiff_t>(i) * K;
      for (int32_t y = out.row_begin; y < out.row_end; ++y) {
        int8_t* dst =
            out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride + (cs - c0);
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

}  // namespace tinyops
