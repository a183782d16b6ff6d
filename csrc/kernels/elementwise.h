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
  int32_t kind;              // BinaryKind
  int64_t num_elements;      // output elements
  BinaryGeometry rows;       // the output's own (padded) dims: row-band semantics
  BinaryGeometry fast;       // dims collapsed as far as possible: whole-tensor eval
  int32_t a_row_elems;       // elements per row of input 1 (its last two dims)
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
  int32_t input1_offset, input2_offset;   // -zero_point
  int32_t input1_multiplier, input2_multiplier, output_multiplier;
  int32_t input1_shift, input2_shift, output_shift;  // <= 0 (right shifts)
  int32_t left_shift;                     // 20
  int32_t output_offset;                  // output zero point
  int32_t act_min, act_max;
  BinaryLayout layout;
};

struct MulParams {
  int32_t input1_offset, input2_offset;   // -zero_point
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

// ---------------------------------------------------------------------------
// Branch-free primitives for the per-element loops (identical results to the
// reference functions in kernels/quant.h under the stated preconditions).
namespace ew {

// saturating_rounding_doubling_high_mul(a, b) for b >= 0. With b >= 0 the
// saturating case (a == b == INT32_MIN) cannot occur, and for every int64
// product p TFLM's "(p + nudge) / 2^31 truncated" equals floor((p + 2^30) /
// 2^31): for p >= 0 trivially, for p < 0 because trunc((p + 1 - 2^30) / 2^31)
// = floor((p + 1 - 2^30 + 2^31 - 1) / 2^31).
inline int32_t srdhm_pos(int32_t a, int32_t b) {
  return static_cast<int32_t>((static_cast<int64_t>(a) * b + (int64_t{1} << 30)) >> 31);
}
// rounding_divide_by_pot(x, e) for a fixed e in [0, 31], with the masks
// precomputed so loops using it vectorize.
struct Rdbpot {
  int32_t e, mask, half_mask;
  Rdbpot() : e(0), mask(0), half_mask(0) {}
  explicit Rdbpot(int32_t exponent)
      : e(exponent), mask(static_cast<int32_t>((int64_t{1} << exponent) - 1)),
        half_mask(mask >> 1) {}
  int32_t operator()(int32_t x) const {
    const int32_t threshold = half_mask + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
  }
};
inline int32_t clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace ew

// ---------------------------------------------------------------------------
// Shared engine (used by add.cc and mul.cc). An Op provides
//   int32_t pa(int32_t a) const, pb(int32_t b) const  : per-input preparation
//   int8_t  out(int32_t pa, int32_t pb) const         : combine + requantize
// all branch-free so the loops below vectorize.
namespace binary_detail {

template <class Op>
inline void run_vv(const Op& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), op.pb(b[i]));
}
template <class Op>
inline void run_sv(const Op& op, int8_t a, const int8_t* b, int8_t* out, int64_t n) {
  const int32_t pa = op.pa(a);
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(pa, op.pb(b[i]));
}
template <class Op>
inline void run_vs(const Op& op, const int8_t* a, int8_t b, int8_t* out, int64_t n) {
  const int32_t pb = op.pb(b);
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), pb);
}

// One row: dims n1 x n0 with strides (sa1, sa0), (sb1, sb0); sa0/sb0 are 0 or 1.
template <class Op>
inline void run_row(const Op& op, const int8_t* a, const int8_t* b, int8_t* out, int32_t n1,
                    int32_t n0, int32_t sa1, int32_t sa0, int32_t sb1, int32_t sb0) {
  if (sa0 == 1 && sb0 == 1 && (n1 == 1 || (sa1 == n0 && sb1 == n0))) {
    run_vv(op, a, b, out, static_cast<int64_t>(n1) * n0);
    return;
  }
  if (sa0 == 0 && sb0 == 1 && (n1 == 1 || (sa1 == 0 && sb1 == n0))) {
    run_sv(op, a[0], b, out, static_cast<int64_t>(n1) * n0);
    return;
  }
  if (sa0 == 1 && sb0 == 0 && (n1 == 1 || (sb1 == 0 && sa1 == n0))) {
    run_vs(op, a, b[0], out, static_cast<int64_t>(n1) * n0);
    return;
  }
  for (int32_t j = 0; j < n1; ++j) {
    const int8_t* aj = a + static_cast<int64_t>(j) * sa1;
    const int8_t* bj = b + static_cast<int64_t>(j) * sb1;
    int8_t* oj = out + static_cast<int64_t>(j) * n0;
    if (sa0 == sb0) {
      if (sa0 == 1) {
        run_vv(op, aj, bj, oj, n0);
      } else {
        // Both constant along the row (only when n0 == 1 in a valid layout).
        const int8_t v = op.out(op.pa(aj[0]), op.pb(bj[0]));
        for (int32_t i = 0; i < n0; ++i) oj[i] = v;
      }
    } else if (sa0 == 0) {
      run_sv(op, aj[0], bj, oj, n0);
    } else {
      run_vs(op, aj, bj[0], oj, n0);
    }
  }
}

// Output rows [row_begin, row_end) of geometry g. a_origin/b_origin: element
// offset (in the input's full tensor) that the a/b pointers correspond to.
template <class Op>
void run_rows(const Op& op, const BinaryGeometry& g, const int8_t* a, int64_t a_origin,
              const int8_t* b, int64_t b_origin, int8_t* out, int64_t row_begin,
              int64_t row_end) {
  if (row_end <= row_begin) return;
  const int R = g.rank;
  const int32_t n1 = g.dims[R - 2], n0 = g.dims[R - 1];
  const int32_t sa1 = g.a_strides[R - 2], sa0 = g.a_strides[R - 1];
  const int32_t sb1 = g.b_strides[R - 2], sb0 = g.b_strides[R - 1];
  const int64_t row_elems = static_cast<int64_t>(n1) * n0;
  const int outer = R - 2;
  // Decode row_begin into outer indices (last outer dim fastest).
  int32_t idx[kMaxRank] = {0};
  int64_t rem = row_begin;
  int64_t a_off = 0, b_off = 0;
  for (int k = outer - 1; k >= 0; --k) {
    idx[k] = static_cast<int32_t>(rem % g.dims[k]);
    rem /= g.dims[k];
    a_off += static_cast<int64_t>(idx[k]) * g.a_strides[k];
    b_off += static_cast<int64_t>(idx[k]) * g.b_strides[k];
  }
  int8_t* o = out;
  for (int64_t r = row_begin; r < row_end; ++r) {
    run_row(op, a + (a_off - a_origin), b + (b_off - b_origin), o, n1, n0, sa1, sa0, sb1, sb0);
    o += row_elems;
    // Advance the odometer.
    for (int k = outer - 1; k >= 0; --k) {
      a_off += g.a_strides[k];
      b_off += g.b_strides[k];
      if (++idx[k] < g.dims[k]) break;
      a_off -= static_cast<int64_t>(g.a_strides[k]) * g.dims[k];
      b_off -= static_cast<int64_t>(g.b_strides[k]) * g.dims[k];
      idx[k] = 0;
    }
  }
}

// Element at flat output index i of geometry g, decoding the index (slow;
// only used for the partial rows at the edges of a flat range).
template <class Op>
inline int8_t element_at(const Op& op, const BinaryGeometry& g, const int8_t* a, const int8_t* b,
                         int64_t i) {
  int64_t a_off = 0, b_off = 0;
  for (int k = g.rank - 1; k >= 0; --k) {
    const int64_t idx = i % g.dims[k];
    i /= g.dims[k];
    a_off += idx * g.a_strides[k];
    b_off += idx * g.b_strides[k];
  }
  return op.out(op.pa(a[a_off]), op.pb(b[b_off]));
}

// Flat output range [begin, end) of whole tensors, any layout.
template <class Op>
void run_flat(const Op& op, const BinaryLayout& l, const int8_t* a, const int8_t* b, int8_t* out,
              int64_t begin, int64_t end) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  switch (l.kind) {
    case kBinarySameShape:
      run_vv(op, a + begin, b + begin, out + begin, n);
      return;
    case kBinaryScalarA:
      run_sv(op, a[0], b + begin, out + begin, n);
      return;
    case kBinaryScalarB:
      run_vs(op, a + begin, b[0], out + begin, n);
      return;
    default:
      break;
  }
  const BinaryGeometry& g = l.fast;
  const int64_t row_elems = static_cast<int64_t>(g.dims[g.rank - 2]) * g.dims[g.rank - 1];
  int64_t i = begin;
  int64_t head_end = (begin + row_elems - 1) / row_elems * row_elems;
  if (head_end > end) head_end = end;
  for (; i < head_end; ++i) out[i] = element_at(op, g, a, b, i);
  const int64_t row0 = i / row_elems, row1 = end / row_elems;
  if (row0 < row1) {
    run_rows(op, g, a, 0, b, 0, out + row0 * row_elems, row0, row1);
    i = row1 * row_elems;
  }
  for (; i < end; ++i) out[i] = element_at(op, g, a, b, i);
}

// Whole tensors.
template <class Op>
void run_all(const Op& op, const BinaryLayout& l, const int8_t* a, const int8_t* b, int8_t* out) {
  if (l.num_elements <= 0) return;
  if (l.kind != kBinaryBroadcast) {
    run_flat(op, l, a, b, out, 0, l.num_elements);
    return;
  }
  int64_t rows = 1;
  for (int i = 0; i < l.fast.rank - 2; ++i) rows *= l.fast.dims[i];
  run_rows(op, l.fast, a, 0, b, 0, out, 0, rows);
}

// Row band in the layout's row geometry.
template <class Op>
void run_band(const Op& op, const BinaryLayout& l, const InputBand& a, const InputBand& b,
              int8_t* out, int64_t row_begin, int64_t row_end) {
  run_rows(op, l.rows, a.data, static_cast<int64_t>(a.row_begin) * l.a_row_elems, b.data,
           static_cast<int64_t>(b.row_begin) * l.b_row_elems, out, row_begin, row_end);
}

}  // namespace binary_detail
}  // namespace tinyops
