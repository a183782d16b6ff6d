// The loops of ADD and MUL over any layout (elementwise.h): vectors,
// scalar-vector, rows of a broadcast geometry, flat ranges and row bands.
// An Op (BinaryOp below) provides
//   int32_t pa(int32_t a) const, pb(int32_t b) const  : per-input preparation
//   int8_t  out(int32_t pa, int32_t pb) const         : combine + requantize
// all branch-free so the loops vectorize, and
//   bool isa_vv(a, b, out, n), isa_sv(a, b, out, n), isa_vs(a, b, out, n) const
// which run a whole vector loop on an ISA path and return true, or return
// false to keep the portable loops.
#pragma once
#include <cstdint>

#include "kernels/arm/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_math.h"
#include "kernels/x86/dispatch.h"

namespace tinyops {
namespace binary_detail {

inline auto x86_loop(const ew::AddMath*) { return x86::kernels().add; }
inline auto x86_loop(const ew::MulMath*) { return x86::kernels().mul; }

// The Op of ADD (Math = ew::AddMath) or MUL (ew::MulMath): the op's
// branch-free per-element math, plus the one dispatch to the ISA vector loops
// that may take a whole vector instead of the loops below: Arm DSP
// (arm/dispatch.h, build time), then x86 SIMD (x86/dispatch.h, run time).
template <class Math>
struct BinaryOp : Math {
  arm::BinaryLoops<Math> arm_loops;
  explicit BinaryOp(const typename Math::Params& p) : Math(p), arm_loops(p) {}
  bool isa_vv(const int8_t* a, const int8_t* b, int8_t* out, int64_t n) const {
    return isa(a, b, out, n, x86::kVectorVector);
  }
  bool isa_sv(int8_t a, const int8_t* b, int8_t* out, int64_t n) const {
    return isa(&a, b, out, n, x86::kScalarVector);
  }
  bool isa_vs(const int8_t* a, int8_t b, int8_t* out, int64_t n) const {
    return isa(a, &b, out, n, x86::kVectorScalar);
  }
  bool isa(const int8_t* a, const int8_t* b, int8_t* out, int64_t n, x86::BinaryForm f) const {
    if (arm_loops.run(*this, a, b, out, n, f)) return true;
    const auto loop = x86_loop(static_cast<const Math*>(this));
    if (loop != nullptr) loop(*this, a, b, out, n, f);
    return loop != nullptr;
  }
};

template <class Op>
inline void run_vv(const Op& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  if (op.isa_vv(a, b, out, n)) return;
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), op.pb(b[i]));
}
template <class Op>
inline void run_sv(const Op& op, int8_t a, const int8_t* b, int8_t* out, int64_t n) {
  if (op.isa_sv(a, b, out, n)) return;
  const int32_t pa = op.pa(a);
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(pa, op.pb(b[i]));
}
template <class Op>
inline void run_vs(const Op& op, const int8_t* a, int8_t b, int8_t* out, int64_t n) {
  if (op.isa_vs(a, b, out, n)) return;
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
              const int8_t* b, int64_t b_origin, int8_t* out, int64_t row_begin, int64_t row_end) {
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
    case kBinarySameShape: run_vv(op, a + begin, b + begin, out + begin, n); return;
    case kBinaryScalarA: run_sv(op, a[0], b + begin, out + begin, n); return;
    case kBinaryScalarB: run_vs(op, a + begin, b[0], out + begin, n); return;
    default: break;
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
