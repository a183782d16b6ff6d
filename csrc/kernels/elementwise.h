// ADD and MUL (int8): broadcasting geometry, derived parameters and the
// public range / row-band entry points the partitioned scheduler uses.
//
// Numerics (bit-exact with TFLM's reference integer kernels):
//   ADD  a' = RDBPOT(SRDHM((a - za) * 2^20, m1), r1)   (same for b with m2, r2)
//        out = clamp(RDBPOT(SRDHM(a' + b', mo), ro) + zo, act_min, act_max)
//        with m1, m2, mo derived from s1/(2 max(s1,s2)), s2/(2 max(s1,s2)) and
//        2 max(s1,s2) / (2^20 so) (QuantizeMultiplierSmallerThanOneExp).
//   MUL  out = clamp(zo + MultiplyByQuantizedMultiplier((a - za) * (b - zb), m, shift),
//                    act_min, act_max), m/shift from s1 * s2 / so.
// SRDHM = saturating rounding doubling high multiply, RDBPOT = rounding
// (half away from zero) right shift; see kernels/quant.h.
//
// Broadcasting follows TFLM (numpy rules): shapes are aligned at the last
// dimension and padded with leading 1s to the output's rank; an input
// dimension is either equal to the output's or 1. Any rank up to kMaxRank (6)
// is supported, as TFLM's BroadcastBinaryOpSimple does.
//
// Entry points (all no-allocation, no-failure, preconditions are the
// caller's responsibility and are validated once at plan load):
//
//   Flat ranges, any layout (straight vector loops for same-shape and
//   scalar layouts; broadcast layouts decode the index at partial rows):
//     add_range(p, a, b, out, begin, end)   out[i] for i in [begin, end);
//     mul_range(...)                         a, b, out are the WHOLE tensors
//                                            (a scalar input is read at [0]).
//
//   Row bands, any layout. The output is viewed as rows: a row is the
//   output's last two dimensions (W x C for NHWC), the rows are all leading
//   dimensions flattened (N x H for NHWC; one row for rank < 3).
//   Each input is viewed the same way over ITS shape padded to the output's
//   rank (a [1,1,1,C] input has one row of C elements, a [1,H,W,C] input has
//   H rows of W*C).
//     binary_input_rows(p.layout, which, r0, r1, &first, &last)
//         input `which` (0 or 1): the smallest row interval [first, last)
//         holding every input row that output rows [r0, r1) read (an input
//         that is constant along all row dimensions only needs row 0).
//     add_rows(p, a, b, out, r0, r1)
//         computes output rows [r0, r1); `a` and `b` are InputBands holding
//         (at least) the rows binary_input_rows reports, contiguously from
//         band.row_begin; `out` points at output row r0 (rows contiguous,
//         binary_row_elems(p.layout) int8 each).
//     mul_rows(...) likewise.
//   The output must not overlap an input, except that it may BE an input
//   that has the output's shape (in place, element for element).
#pragma once
#include <cstdint>

#include "kernels/tile.h"
#include "tinyops/op_api.h"
#include "tinyops/types.h"

namespace tinyops {

enum BinaryKind : int32_t {
  kBinarySameShape = 0,  // a and b hold the output's elements in order
  kBinaryScalarA = 1,    // a has one element, b the output's elements
  kBinaryScalarB = 2,    // b has one element
  kBinaryBroadcast = 3,  // anything else (per-channel, row, generic N-D)
};

// Output extents with each input's element strides (0 where it broadcasts).
// rank >= 2; dims[rank-2] x dims[rank-1] is one row, the others index rows.
struct BinaryGeometry {
  int32_t rank;
  int32_t dims[kMaxRank];
  int32_t a_strides[kMaxRank];
  int32_t b_strides[kMaxRank];
};

struct BinaryLayout {
  int32_t kind;          // BinaryKind
  int64_t num_elements;  // output elements
  BinaryGeometry rows;   // the output's own (padded) dims: row-band semantics
  BinaryGeometry fast;   // dims collapsed as far as possible: whole-tensor eval
  int32_t a_row_elems;   // elements per row of input 1 (its last two dims)
  int32_t b_row_elems;
};

inline int64_t binary_num_rows(const BinaryLayout& l) {
  int64_t n = 1;
  for (int i = 0; i < l.rows.rank - 2; ++i) n *= l.rows.dims[i];
  return n;
}
inline int32_t binary_row_elems(const BinaryLayout& l) {
  return l.rows.dims[l.rows.rank - 2] * l.rows.dims[l.rows.rank - 1];
}

// Input rows that output rows [row_begin, row_end) read (see above).
void binary_input_rows(const BinaryLayout& l, int which, int64_t row_begin, int64_t row_end,
                       int64_t* first, int64_t* last);

// Builds the layout from the two input shapes and the output shape. Returns
// nullptr, or (when they are not a valid broadcast) a static message with
// *bad_dim = the offending dimension counted from the back (1 = last), 0 if
// not about one dimension.
const char* binary_layout_init(const Shape& a, const Shape& b, const Shape& out, BinaryLayout* l,
                               int32_t* bad_dim);
// Prepare helper: binary_layout_init on ctx's inputs/output, failing ctx with
// kInvalidModel and a message naming the op and dimension on error.
Status binary_layout_fail(PrepareContext& ctx, const char* op, BinaryLayout* l);

struct AddParams {
  int32_t input1_offset, input2_offset;  // -zero_point
  int32_t input1_multiplier, input2_multiplier, output_multiplier;
  int32_t input1_shift, input2_shift, output_shift;  // <= 0 (right shifts)
  int32_t left_shift;                                // 20
  int32_t output_offset;                             // output zero point
  int32_t act_min, act_max;
  BinaryLayout layout;
};

struct MulParams {
  int32_t input1_offset, input2_offset;  // -zero_point
  int32_t output_multiplier, output_shift;
  int32_t output_offset;
  int32_t act_min, act_max;
  BinaryLayout layout;
};

// TFLM's per-element reference functions (the definitions; the range/row
// kernels compute exactly these).
int8_t add_reference(const AddParams& p, int8_t a, int8_t b);
int8_t mul_reference(const MulParams& p, int8_t a, int8_t b);

void add_range(const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
               int64_t end);
void mul_range(const MulParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
               int64_t end);

void add_rows(const AddParams& p, const InputBand& a, const InputBand& b, int8_t* out,
              int64_t row_begin, int64_t row_end);
void mul_rows(const MulParams& p, const InputBand& a, const InputBand& b, int8_t* out,
              int64_t row_begin, int64_t row_end);

inline uint32_t add_scratch_size(const AddParams&) { return 0; }
inline uint32_t mul_scratch_size(const MulParams&) { return 0; }

// Prepare-time checks shared by ADD and MUL: 2 inputs, 1 output, all int8
// and quantized with a positive finite scale, fused activation supported.
Status binary_check_tensors(PrepareContext& ctx, const char* op);

}  // namespace tinyops
