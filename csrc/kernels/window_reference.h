// The loop nest of the window ops' reference tiles (CONV_2D,
// DEPTHWISE_CONV_2D): TFLM's reference order of output pixels, channels and
// taps, the taps outside the image skipped, then TFLM's output stage.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/requant.h"
#include "kernels/tile.h"

namespace tinyops {
namespace conv_detail {

// Fills `out` (input rows from `in`'s band): each element (y, x, c) is
// reference_output() of the wrapping sum over the in-image taps (ky, kx) of
// tap(c, src, ky, kx), where src points at input pixel (iy, ix), channel 0.
template <class P, class Tap>
inline void reference_window_tile(const P& p, const InputBand& in, const int32_t* bias,
                                  const OutputTile& out, Tap tap) {
  const int32_t row_bytes = p.in_w * p.in_c;
  for (int32_t y = out.row_begin; y < out.row_end; ++y) {
    const int32_t iy0 = y * p.stride_h - p.pad_top;
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      int8_t* dst = out.data + static_cast<ptrdiff_t>(y - out.row_begin) * out.row_stride +
                    static_cast<ptrdiff_t>(x) * out.pixel_stride;
      for (int32_t c = out.ch_begin; c < out.ch_end; ++c) {
        uint32_t acc = 0;
        for (int32_t ky = 0; ky < p.filter_h; ++ky) {
          const int32_t iy = iy0 + ky * p.dilation_h;
          for (int32_t kx = 0; kx < p.filter_w; ++kx) {
            const int32_t ix = ix0 + kx * p.dilation_w;
            if (ix < 0 || ix >= p.in_w || iy < 0 || iy >= p.in_h) continue;
            const int8_t* src = in.data + static_cast<ptrdiff_t>(iy - in.row_begin) * row_bytes +
                                static_cast<ptrdiff_t>(ix) * p.in_c;
            acc += tap(c, src, ky, kx);
          }
        }
        dst[c - out.ch_begin] = reference_output(p, c, acc, bias);
      }
    }
  }
}

}  // namespace conv_detail
}  // namespace tinyops
