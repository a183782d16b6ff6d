// Views the partitioned scheduler hands to spatial kernels, so one kernel
// computes any row band x channel range of its output from whatever input
// rows are resident (in SRAM tile buffers on the MCU, anywhere on the host).
#pragma once
#include <cstdint>

namespace tinyops {

// Rows [row_begin, row_end) of one NHWC image (full width, all channels),
// stored contiguously: row y starts at data + (y - row_begin) * W * C.
struct InputBand {
  const int8_t* data;
  int32_t row_begin;
  int32_t row_end;
};

// Output tile: rows [row_begin, row_end) x all columns x channels
// [ch_begin, ch_end). Element (y, x, c) lives at
// data[(y - row_begin) * row_stride + x * pixel_stride + (c - ch_begin)].
struct OutputTile {
  int8_t* data;
  int32_t row_begin, row_end;
  int32_t ch_begin, ch_end;
  int32_t row_stride, pixel_stride;
};

// Input rows [*first, *last) that output rows [row_begin, row_end) read,
// clipped to [0, in_h): halo rows for a window of `filter_h` taps spaced
// `dilation_h` apart, stride `stride_h`, `pad_top` rows of implicit padding.
inline void window_input_rows(int32_t row_begin, int32_t row_end, int32_t stride_h,
                              int32_t dilation_h, int32_t filter_h, int32_t pad_top, int32_t in_h,
                              int32_t* first, int32_t* last) {
  int32_t lo = row_begin * stride_h - pad_top;
  int32_t hi = (row_end - 1) * stride_h - pad_top + (filter_h - 1) * dilation_h + 1;
  *first = lo < 0 ? 0 : (lo > in_h ? in_h : lo);
  *last = hi > in_h ? in_h : (hi < 0 ? 0 : hi);
}

// TFLite's SAME/VALID output size and padding (ComputePaddingHeightWidth),
// with 64-bit intermediates as there: strides and filters come from the model
// and may be near INT32_MAX. The output size is at most the input size; a
// VALID filter far larger than the input gives a negative size (saturated).
inline int32_t conv_output_size(int32_t padding, int32_t in, int32_t filter, int32_t stride,
                                int32_t dilation) {
  const int64_t eff = (static_cast<int64_t>(filter) - 1) * dilation + 1;
  const int64_t out = padding == 0 ? (static_cast<int64_t>(in) + stride - 1) / stride     // SAME
                                   : (static_cast<int64_t>(in) - eff + stride) / stride;  // VALID
  return out < INT32_MIN ? INT32_MIN : static_cast<int32_t>(out);
}
inline int32_t conv_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter,
                            int32_t out) {
  const int64_t eff = (static_cast<int64_t>(filter) - 1) * dilation + 1;
  int64_t total = (static_cast<int64_t>(out) - 1) * stride + eff - in;
  total = total > 0 ? total : 0;
  return total / 2 > INT32_MAX ? INT32_MAX : static_cast<int32_t>(total / 2);
}

}  // namespace tinyops
