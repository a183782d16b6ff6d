// CONV_2D's im2col on the Arm DSP GEMM (arm/gemm_dsp.h), reached through
// arm/dispatch.h.
//
// im2col fed straight to the Arm DSP GEMM (arm_kernels::GemmSource): the
// pixels of one output row segment, unpacked into the GEMM's int16 pairs as
// they are gathered. The 3-channel 3x3 stem's interior pixels are read as 7
// words (27 window bytes, 3 rows of 9, and a zero, for weight rows padded
// to 28 with a zero weight: conv_im2col_rows); every other pixel is gathered
// by im2col_pixel into `col` first.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/gemm_dsp.h"
#include "kernels/arm_dsp.h"
#include "kernels/conv.h"
#include "kernels/gemm_layout.h"
#include "kernels/im2col.h"
#include "kernels/requant.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

// Pixels a pointwise or im2col CONV_2D hands to one GEMM call: a multiple of
// 12, so full batches split into whole blocks of the P-pixel path (6) and of
// the channel-pair sub-blocks (4) with no short rest; large, as every call
// prepares its channels' output-stage constants and unpacks each channel
// pair's weights again, but its pointer arrays (8 bytes a pixel) share the
// stack with the GEMM's buffer (kGemmStackUnpackedBytes): 96 on the M7 (24
// KiB of DTCM), 192 on the M4 (mbv3-w1.00-r160: 1.3 % fewer modelled
// cycles than 96).
#if defined(TINYOPS_CORTEX_M7)
constexpr int32_t kGemmBatchPixels = 96;
#else
constexpr int32_t kGemmBatchPixels = 192;
#endif

struct Im2colSource {
  const Conv2DParams* p;
  const InputBand* in;
  int32_t g, y, x0;  // output row y, pixels x0 + i
  int8_t* col;       // kIm2colPixels * K bytes
};

inline void im2col_unpack(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf) {
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
    conv_detail::im2col_pixel(p, *s.in, s.g, s.y, xx, s.col);
    const int8_t* one = s.col;
    expand_pixels_strided(&one, 1, K, d, step);
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
          arm_dsp::load4(r0), arm_dsp::load4(r0 + 4),
          static_cast<uint8_t>(r0[8]) | (arm_dsp::load4(r1) << 8),
          arm_dsp::load4(r1 + 3),
          h1 | (arm_dsp::load4(r2) << 16),
          arm_dsp::load4(r2 + 2),
          h2 | (static_cast<uint32_t>(static_cast<uint8_t>(r2[8])) << 16)};
      int32_t* dd = d;
#pragma GCC unroll 7
      for (int32_t k = 0; k < 7; ++k, dd += step) {
        dd[0] = arm_dsp::even16(word[k]);
        dd[1] = arm_dsp::odd16(word[k]);
      }
    }
  }
  for (; x < x_first + P; ++x, d += 2) gathered(x);
}

inline void im2col_raw(const void* ctx, int32_t p0, int32_t P, const int8_t** xs) {
  const Im2colSource& s = *static_cast<const Im2colSource*>(ctx);
  const int32_t K = s.p->filter_volume;
  for (int32_t i = 0; i < P; ++i) {
    int8_t* c = s.col + static_cast<ptrdiff_t>(i) * K;
    conv_detail::im2col_pixel(*s.p, *s.in, s.g, s.y, s.x0 + p0 + i, c);
    xs[i] = c;
  }
}

// CONV_2D's im2col path on the Arm DSP GEMM, group g, output rows
// [out.row_begin, out.row_end): row segments of up to kGemmBatchPixels pixels,
// gathered by the GEMM itself (tile channels [cs, cs + gw.nch), cs - out.ch_begin
// columns into the tile).
inline void conv_im2col_rows(const Conv2DParams& p, const InputBand& in, int32_t g,
                             const OutputTile& out, int32_t cs,
                             const conv_detail::GemmWeights& gw, const int32_t* bias_eff,
                             const conv_detail::Requant& rq, const conv_detail::GemmScratch& gs,
                             int8_t* col) {
  static_assert(kGemmRawPixels <= conv_detail::kIm2colPixels, "raw pixels fit col");
  const GemmOut o{rq.multiplier + cs, rq.left_shift + cs, rq.right_shift + cs,
                  rq.output_offset, rq.act_min, rq.act_max};
  int8_t* row_outs[kGemmBatchPixels];
  // Small depths that are not whole depth groups (the 3-channel stem's 27)
  // get rows padded with zero weights in the reserved weight scratch, so the
  // GEMM's assembly block loops take them. The extra depth meets a gathered
  // byte (col holds kIm2colPixels >= 9 pixels of K) times a zero weight.
  const int8_t* w = gw.w;
  int32_t K = gw.K;
  if ((K & 3) != 0 && K <= conv_detail::kOuterMaxDepth) {
    const int32_t kp = conv_detail::wbuf_depth(K);
    for (int32_t c = 0; c < gw.nch; ++c) {
      int8_t* row = gs.wbuf + static_cast<ptrdiff_t>(c) * kp;
      __builtin_memcpy(row, w + static_cast<ptrdiff_t>(c) * K, static_cast<size_t>(K));
      for (int32_t k = K; k < kp; ++k) row[k] = 0;
    }
    w = gs.wbuf;
    K = kp;
  }
  for (int32_t y = out.row_begin; y < out.row_end; ++y) {
    int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                  (cs - out.ch_begin);
    for (int32_t x0 = 0; x0 < p.out_w; x0 += kGemmBatchPixels) {
      const int32_t np = p.out_w - x0 < kGemmBatchPixels ? p.out_w - x0 : kGemmBatchPixels;
      for (int32_t i = 0; i < np; ++i) {
        row_outs[i] = dst + static_cast<ptrdiff_t>(x0 + i) * out.pixel_stride;
      }
      const Im2colSource ctx{&p, &in, g, y, x0, col};
      const GemmSource src{im2col_unpack, im2col_raw, &ctx};
      gemm(src, np, w, K, gw.nch, bias_eff, o, row_outs, reinterpret_cast<OutConst*>(gs.acc),
           gs.xbuf, gs.xbuf_bytes);
    }
  }
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
