// FULLY_CONNECTED, int8 activations x int8 weights, int32 bias: TFLM's
// reference_integer_ops::FullyConnected (per-tensor weights, weight zero point
// applied) and FullyConnectedPerChannel (per-channel scales along dimension 0,
// weight zero points ignored), bit for bit.
//
// The input of any rank is viewed as [batches, accum_depth] and the output as
// [batches, units], batches = output elements / units (as TFLM does, so
// keep_num_dims only changes the output shape, not the math).
#pragma once
#include <cstdint>

#include "tinyops/op_api.h"

namespace tinyops {

enum FullyConnectedPath : int32_t {
  kFullyConnectedPathReference = 0,  // straight TFLM loops (accum_depth >= 2^17)
  kFullyConnectedPathGemm = 1,       // int8 dot products + effective bias
};

struct FullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;  // filter is [units, accum_depth]
  int32_t units;
  int32_t input_offset;   // -input zero point
  int32_t filter_offset;  // -filter zero point (per-tensor only; 0 per-channel)
  int32_t output_offset;  // output zero point
  int32_t act_min, act_max;
  int32_t per_channel;          // 1: per-channel multipliers, 0: one broadcast value
  const int32_t* multiplier;    // [units] (per-tensor value repeated)
  const int32_t* shift;         // [units] TFLM shift (> 0: left)
  const int32_t* left_shift;    // [units]
  const int32_t* right_shift;   // [units]
  const int32_t* filter_sum;    // [units] row sums of the weights, nullptr if not constant
  const int8_t* packed_filter;  // host SIMD builds only: prepare-time packed copy of
                                // constant weights (all channels), or nullptr. When
                                // set, tiles read it instead of `filter` (same values).
  int32_t path;                 // FullyConnectedPath
  int32_t has_bias;
};

// Computes output[b][c] for batches [batch_begin, batch_end) x units
// [ch_begin, ch_end). All pointers are relative to the tile:
//  input:   row b (accum_depth int8) at input + (b - batch_begin) * accum_depth.
//  filter:  the weights of unit ch_begin (row-major [units, accum_depth], so a
//           unit range is contiguous).
//  bias:    indexed by ABSOLUTE unit, or nullptr.
//  output:  element (b, c) at output[(b - batch_begin) * output_row_stride +
//           (c - ch_begin)]; eval uses output_row_stride = units.
//  scratch: fully_connected_tile_scratch_size(p, batches, channels) bytes.
void fully_connected_tile(const FullyConnectedParams& p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, int8_t* output, int32_t output_row_stride,
                          int32_t ch_begin, int32_t ch_end, int32_t batch_begin, int32_t batch_end,
                          void* scratch);

uint32_t fully_connected_tile_scratch_size(const FullyConnectedParams& p, int32_t batches,
                                           int32_t channels);

// The same tile computed by TFLM's plain loops (no scratch). For tests.
void fully_connected_tile_reference(const FullyConnectedParams& p, const int8_t* input,
                                    const int8_t* filter, const int32_t* bias, int8_t* output,
                                    int32_t output_row_stride, int32_t ch_begin, int32_t ch_end,
                                    int32_t batch_begin, int32_t batch_end);

}  // namespace tinyops
