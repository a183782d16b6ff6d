// DEPTHWISE_CONV_2D, int8 activations x int8 weights (per-channel along
// dimension 3 or per-tensor), int32 bias: TFLM's
// reference_integer_ops::DepthwiseConvPerChannel, bit for bit.
//
// Tile API: depthwise_conv2d_tile() computes any row band x output-channel range
// of one image's output. depthwise_conv2d_eval() runs it once per batch.
#pragma once
#include <cstdint>

#include "tile.h"
#include "tinyops/op_api.h"

namespace tinyops {

enum DepthwisePath : int32_t {
  kDepthwisePathReference = 0,  // straight TFLM loops (absurdly large windows only)
  kDepthwisePathDirect = 1,     // channel-vectorized direct convolution
};

// Computed by depthwise_conv2d_prepare() in persistent memory. Arrays are
// indexed by absolute output channel (c = input_channel * depth_multiplier + m).
struct DepthwiseConv2DParams {
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;  // out_c = in_c * depth_multiplier
  int32_t filter_h, filter_w;   // filter is [1, filter_h, filter_w, out_c]
  int32_t depth_multiplier;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;
  int32_t input_offset;   // -input zero point
  int32_t output_offset;  // output zero point
  int32_t act_min, act_max;
  const int32_t* multiplier;   // [out_c]
  const int32_t* shift;        // [out_c] TFLM shift (> 0: left)
  const int32_t* left_shift;   // [out_c]
  const int32_t* right_shift;  // [out_c]
  const int32_t* row_sum;      // [filter_h][out_c]: sum over kx of w[ky][kx][c];
                               // nullptr when the filter is not constant
  const int8_t* zeros;         // >= max(in_c, out_c) zero bytes
  int32_t path;                // DepthwisePath
  int32_t has_bias;
};

// Computes output rows [out.row_begin, out.row_end) x channels
// [out.ch_begin, out.ch_end) of ONE image.
//  in:      input rows [in.row_begin, in.row_end) of that image, full width and
//           ALL in_c channels; must cover window_input_rows() of the tile's rows.
//  filter:  the START of the full [1, KH, KW, out_c] filter array (channels are
//           innermost, so a channel range is not contiguous; the tile reads
//           columns [ch_begin, ch_end) of every tap).
//  bias:    indexed by ABSOLUTE output channel, or nullptr.
//  scratch: depthwise_conv2d_tile_scratch_size(p, rows, channels) bytes.
void depthwise_conv2d_tile(const DepthwiseConv2DParams& p, const InputBand& in,
                           const int8_t* filter, const int32_t* bias, const OutputTile& out,
                           void* scratch);

uint32_t depthwise_conv2d_tile_scratch_size(const DepthwiseConv2DParams& p, int32_t rows,
                                            int32_t channels);

// The same tile computed by TFLM's plain loops (no scratch). For tests.
void depthwise_conv2d_tile_reference(const DepthwiseConv2DParams& p, const InputBand& in,
                                     const int8_t* filter, const int32_t* bias,
                                     const OutputTile& out);

}  // namespace tinyops
