// CONV_2D, int8 activations x int8 weights (per-channel or per-tensor), int32
// bias: TFLM's reference_integer_ops::ConvPerChannel, bit for bit.
//
// Tile API: conv2d_tile() computes any row band x output-channel range of one
// image's output from the input rows the band needs. conv2d_eval() runs it once
// per batch over the whole output.
#pragma once
#include <cstdint>

#include "tile.h"
#include "tinyops/op_api.h"

namespace tinyops {

// Which implementation conv2d_tile() uses (chosen by prepare).
enum ConvPath : int32_t {
  kConvPathReference = 0,  // straight TFLM loops (very deep filters only)
  kConvPathPointwise = 1,  // 1x1 filter, no padding: GEMM over input pixels
  kConvPathIm2col = 2,     // any filter: im2col (zero-point filled) + GEMM
};

// Everything conv2d_tile() needs, computed by conv2d_prepare() in persistent
// memory. Arrays are indexed by absolute output channel.
struct Conv2DParams {
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t filter_h, filter_w, filter_c;  // filter is [out_c, filter_h, filter_w, filter_c]
  int32_t groups;                        // in_c / filter_c (1 for an ordinary conv)
  int32_t out_c_per_group;               // out_c / groups
  int32_t filter_volume;                 // filter_h * filter_w * filter_c
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;    // TFLM ComputePaddingHeightWidth
  int32_t input_offset;         // -input zero point
  int32_t output_offset;        // output zero point
  int32_t act_min, act_max;     // fused activation clamp
  const int32_t* multiplier;    // [out_c] Q31 multipliers
  const int32_t* shift;         // [out_c] TFLM shift (> 0: left)
  const int32_t* left_shift;    // [out_c] max(shift, 0)
  const int32_t* right_shift;   // [out_c] max(-shift, 0)
  const int32_t* filter_sum;    // [out_c] sum of each channel's weights,
                                // nullptr when the filter is not constant
  const int8_t* packed_filter;  // host SIMD builds only: prepare-time packed copy of
                                // constant weights (all channels), or nullptr. When
                                // set, tiles read it instead of `filter` (same values).
  int32_t path;                 // ConvPath
  int32_t has_bias;             // the op has a bias input (eval only)
};

// Computes output rows [out.row_begin, out.row_end) x channels
// [out.ch_begin, out.ch_end) of ONE image.
//  in:      input rows [in.row_begin, in.row_end) of that image (full width, all
//           in_c channels); must cover window_input_rows() of the tile's rows
//           (using filter_h, dilation_h, stride_h, pad_top, in_h). Other rows are
//           never read.
//  filter:  the weights of output channel out.ch_begin ([out_c, KH, KW, filter_c]
//           layout, channels outermost, so a channel range is contiguous).
//  bias:    int32 bias indexed by ABSOLUTE output channel, or nullptr.
//  scratch: conv2d_tile_scratch_size(p, rows, channels) bytes, 16-byte aligned.
void conv2d_tile(const Conv2DParams& p, const InputBand& in, const int8_t* filter,
                 const int32_t* bias, const OutputTile& out, void* scratch);

// Scratch conv2d_tile() needs for a tile of `rows` output rows x `channels`
// output channels (monotonic in both; `rows` does not currently matter).
uint32_t conv2d_tile_scratch_size(const Conv2DParams& p, int32_t rows, int32_t channels);

// The same tile computed by TFLM's plain loops (no scratch). For tests.
void conv2d_tile_reference(const Conv2DParams& p, const InputBand& in, const int8_t* filter,
                           const int32_t* bias, const OutputTile& out);

}  // namespace tinyops
