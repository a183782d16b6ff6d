// im2col for CONV_2D: the receptive field of one output pixel gathered into
// a contiguous [KH][KW][filter_c] row for the GEMM (gemm.h). Taps outside the
// image read the input zero point, so they contribute exactly zero (gemm.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/conv.h"
#include "kernels/tile.h"

namespace tinyops {
namespace conv_detail {

// Pixels gathered per im2col block (scratch: kIm2colPixels * filter_volume
// bytes); two blocks of the Arm DSP GEMM's 6 pixels.
constexpr int32_t kIm2colPixels = 12;

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
inline void im2col_pixel(const Conv2DParams& p, const InputBand& in, int32_t g, int32_t y,
                         int32_t x, int8_t* col) {
  const int32_t fc = p.filter_c;
  const int8_t zp = static_cast<int8_t>(-p.input_offset);
  const int32_t iy0 = y * p.stride_h - p.pad_top;
  const int32_t ix0 = x * p.stride_w - p.pad_left;
  const int32_t row_bytes = p.in_w * p.in_c;
  const int32_t tap_bytes = p.filter_w * fc;
  const bool x_inside = ix0 >= 0 && ix0 + (p.filter_w - 1) * p.dilation_w < p.in_w;
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

}  // namespace conv_detail
}  // namespace tinyops
