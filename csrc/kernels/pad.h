// PAD and PADV2 (int8; also int32 and float32), bit-exact with TFLM.
//
// The tensor is viewed, like TFLM does, as 5-D [B, P, H, W, D] (shapes of
// lower rank are extended with leading 1s). Every output element inside the
// input's box is the input element, every other one is the pad value:
//   PAD,   int8:        the output zero point
//   PAD,   int32/float: 0
//   PADV2:              the scalar constant-value input (same type)
// Pure data movement: no requantization (TFLM does none either).
#pragma once
#include <cstdint>

#include "kernels/tile.h"

namespace tinyops {

struct PadParams {
  int32_t elem_size;   // bytes per element (1 for int8)
  int32_t in_dims[5];  // [B, P, H, W, D]
  int32_t out_dims[5];
  int32_t left[5];  // padding before / after, per 5-D dim
  int32_t right[5];
  uint8_t pad_value[8];     // bytes of one pad element
  int32_t pad_value_input;  // 1: PADV2 constant value is not constant, eval
                            // reads it from input 2 (pad_value is ignored)
};

// Input rows (dim H) [*first, *last) that output rows [row_begin, row_end)
// of one image copy from (empty when the rows are all padding).
inline void pad_input_rows(const PadParams& p, int32_t row_begin, int32_t row_end, int32_t* first,
                           int32_t* last) {
  int32_t lo = row_begin - p.left[2], hi = row_end - p.left[2];
  const int32_t h = p.in_dims[2];
  lo = lo < 0 ? 0 : (lo > h ? h : lo);
  hi = hi < 0 ? 0 : (hi > h ? h : hi);
  *first = lo;
  *last = hi < lo ? lo : hi;
}

// Tile entry point: output rows [out_row_begin, out_row_end) (full width, all
// of D) of one output image (b, p) whose input image exists (i.e. b and p are
// not in the B/P padding; for those use pad_fill on the whole image).
// Contract:
//   - `in` holds rows of the corresponding input image, each
//     in_dims[3] * in_dims[4] * elem_size bytes, covering at least
//     pad_input_rows(p, out_row_begin, out_row_end) (InputBand::data is a
//     byte pointer for non-int8 types).
//   - `out` points to output row out_row_begin of that image; rows are
//     out_dims[3] * out_dims[4] * elem_size bytes, stored contiguously.
//   - 0 <= out_row_begin <= out_row_end <= out_dims[2]; no overlap.
void pad_rows(const PadParams& p, const InputBand& in, int32_t out_row_begin, int32_t out_row_end,
              int8_t* out);

// Fills `count` elements at `out` with the pad value.
void pad_fill(const PadParams& p, void* out, int64_t count);

inline uint32_t pad_scratch_size(const PadParams&) { return 0; }

}  // namespace tinyops
