// AVERAGE_POOL_2D and MAX_POOL_2D, int8, bit-exact with TFLM's reference
// integer pooling kernels.
//
// Numerics (both ops): the window of output (y, x) starts at input
// (y * stride_h - pad_top, x * stride_w - pad_left) and is clipped to the
// input, so border windows only see their valid taps.
//   average: acc = sum of the valid taps, count = number of valid taps,
//            out = (acc > 0 ? acc + count/2 : acc - count/2) / count with C++
//            truncating division, then clamped to [act_min, act_max].
//   max:     out = clamp(max of the valid taps, act_min, act_max).
// Input and output share scale and zero point (checked in prepare), so there
// is no requantization.
#pragma once
#include <cstdint>

#include "kernels/tile.h"

namespace tinyops {

// Everything a pooling tile needs; built by prepare (stored as ctx.params).
struct PoolParams {
  int32_t batches;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t act_min, act_max;
};

// Input rows [*first, *last) (clipped to [0, in_h)) that output rows
// [row_begin, row_end) of one image read.
inline void pool_input_rows(const PoolParams& p, int32_t row_begin, int32_t row_end, int32_t* first,
                            int32_t* last) {
  window_input_rows(row_begin, row_end, p.stride_h, 1, p.filter_h, p.pad_top, p.in_h, first, last);
}

// Tile entry points. Compute output rows [out.row_begin, out.row_end) x all
// out_w columns x channels [out.ch_begin, out.ch_end) of ONE image.
// Contract:
//   - `in` holds rows of that image (in_w * channels int8 each, all
//     channels) and covers at least pool_input_rows(p, out.row_begin,
//     out.row_end); rows outside the band are never read.
//   - 0 <= out.row_begin <= out.row_end <= p.out_h,
//     0 <= out.ch_begin <= out.ch_end <= p.channels.
//   - `out` must not overlap `in`.
// No allocation, no failure; uses < 2 KiB of stack.
void average_pool2d_tile(const PoolParams& p, const InputBand& in, const OutputTile& out);
void max_pool2d_tile(const PoolParams& p, const InputBand& in, const OutputTile& out);

// Pooling needs no scratch memory.
inline uint32_t pool2d_scratch_size(const PoolParams&) { return 0; }

}  // namespace tinyops
