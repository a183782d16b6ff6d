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

// The per-element math of ADD and MUL in branch-free form, equal to
// add_reference / mul_reference: pa / pb prepare an element of input 1 / 2,
// out combines two prepared values. The loops of add.cc / mul.cc and the x86
// SIMD loops (x86/elementwise_x86.h) all compile these same lines.
struct AddMath {
  int32_t o1, o2, m1, m2, mo;
  Rdbpot r1, r2, ro;
  int32_t zo, lo, hi;
  explicit AddMath(const AddParams& p)
      : o1(p.input1_offset), o2(p.input2_offset), m1(p.input1_multiplier),
        m2(p.input2_multiplier), mo(p.output_multiplier), r1(-p.input1_shift),
        r2(-p.input2_shift), ro(-p.output_shift), zo(p.output_offset), lo(p.act_min),
        hi(p.act_max) {}
  int32_t pa(int32_t x) const { return r1(srdhm_pos((x + o1) * (1 << 20), m1)); }
  int32_t pb(int32_t y) const { return r2(srdhm_pos((y + o2) * (1 << 20), m2)); }
  int8_t out(int32_t sa, int32_t sb) const {
    const int32_t v = ro(srdhm_pos(sa + sb, mo)) + zo;
    return static_cast<int8_t>(clamp(v, lo, hi));
  }
};

struct MulMath {
  int32_t o1, o2, m, left;
  Rdbpot right;
  int32_t zo, lo, hi;
  explicit MulMath(const MulParams& p)
      : o1(p.input1_offset), o2(p.input2_offset), m(p.output_multiplier),
        left(p.output_shift > 0 ? p.output_shift : 0),
        right(p.output_shift > 0 ? 0 : -p.output_shift), zo(p.output_offset), lo(p.act_min),
        hi(p.act_max) {}
  int32_t pa(int32_t x) const { return x + o1; }
  int32_t pb(int32_t y) const { return y + o2; }
  int8_t out(int32_t va, int32_t vb) const {
    // The left shift wraps exactly like TFLM's int multiply by 2^left.
    const int32_t prod = static_cast<int32_t>(static_cast<uint32_t>(va * vb) << left);
    const int32_t v = zo + right(srdhm_pos(prod, m));
    return static_cast<int8_t>(clamp(v, lo, hi));
  }
};

}  // namespace ew

// ---------------------------------------------------------------------------
// Arm DSP-extension inner loops of ADD and MUL (used by add.cc / mul.cc only
// when TINYOPS_ARM_DSP, see kernels/arm_dsp.h; the portable and x86 builds
// never instantiate them). They are templates over a primitive set P so the
// host test tests/test_elementwise_dsp.py runs this very code with portable
// emulations of the instructions. P provides (all int32_t):
//   smmlar(a, b, c)  (c * 2^32 + a * b + 2^31) >> 32, the exact 64-bit sum  SMMLAR
//   qadd(a, b)       a + b saturated to int32                                QADD
//   ssat8(x)         x saturated to [-128, 127]                              SSAT #8
//   sxtab16(a, x)    halves (a.lo + sext(x.b0), a.hi + sext(x.b2)), mod 2^16 SXTAB16
//   sxtab16_r8(a, x) the same with bytes b1, b3                     SXTAB16 ROR #8
//   smulbb(a, b), smultt(a, b)  product of the bottom / top int16 halves  SMULBB/TT
//
// Exactness. Let m be a multiplier in [2^30, 2^31) and m2 = 2m - 2^32, which
// fits int32. For any int32 x, SRDHM(x, m) = floor((x m + 2^30) / 2^31)
// (ew::srdhm_pos, m > 0) = floor((x 2^32 + x m2 + 2^31) / 2^32), hence
//     smmlar(x, m2, x + k) = SRDHM(x, m) + k          (*)
// whenever that result fits int32 (SMMLAR adds c * 2^32 to the exact 64-bit
// product; it neither wraps nor saturates internally). RDBPOT(h, e) for
// e >= 1 equals floor((h + 2^(e-1) - [h < 0]) / 2^e).
//  * ADD input side: x = (a - za) 2^20 with |a - za| <= 255, so |x| < 2^28,
//    |SRDHM(x, m)| <= |x| and SRDHM(x, m) < 0 exactly when x < 0 (x != 0
//    gives |SRDHM| >= 2^19). With (*) and k = 2^(e-1) + (x >> 31):
//      a' = smmlar(x, m2, x + (x >> 31) + 2^(e-1)) >> e    (1 <= e <= 31)
//      a' = smmlar(x, m2, x)                                (e == 0)
//    every intermediate stays below 2^28 + 2^30 in magnitude.
//  * Output stage (ADD on a' + b', MUL on (a - za)(b - zb), |.| < 2^29):
//    the conv output stage of arm_dsp.h: h = smmlar(acc, m2, acc) = SRDHM,
//    v = ssat8(qadd(h + (h >> 31), 2^(e-1) + zo 2^e) >> e), 1 <= e <= 23;
//    when QADD saturates the true and the saturated quotients are both
//    >= 255 or both <= -256 and SSAT / the act clamp give the same byte.
//  * MUL operands: a - za and b - zb lie in [-255, 255] and fit the int16
//    halves; SMULBB / SMULTT multiply them exactly.
// Anything outside these ranges (multipliers below 2^30, MUL left shifts,
// output shifts outside [1, 23]) keeps the generic loops.
namespace ew_dsp {

struct Requant {
  int32_t m2;     // 2 * multiplier - 2^32
  int32_t round;  // 2^(e-1) + output_offset * 2^e
  int32_t shift;  // e
};
inline bool requant_setup(int32_t multiplier, int32_t right_shift, int32_t output_offset,
                          Requant* r) {
  if (right_shift < 1 || right_shift > 23 || multiplier < (1 << 30) || output_offset < -128 ||
      output_offset > 127) {
    return false;
  }
  r->m2 = static_cast<int32_t>(static_cast<uint32_t>(multiplier) << 1);
  r->round = static_cast<int32_t>((1u << (right_shift - 1)) +
                                  (static_cast<uint32_t>(output_offset) << right_shift));
  r->shift = right_shift;
  return true;
}
// Requantized accumulator plus output offset, saturated to int8.
template <class P>
inline int32_t requant(int32_t acc, int32_t m2, int32_t round, int32_t shift) {
  int32_t h = P::smmlar(acc, m2, acc);
  h += h >> 31;
  return P::ssat8(P::qadd(h, round) >> shift);
}
template <bool kClamp>
inline int32_t clamp_act(int32_t v, int32_t lo, int32_t hi) {
  if (kClamp) {
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
  }
  return v;
}

// ADD: one input's rescale a' = RDBPOT(SRDHM((a + offset) 2^20, m), e).
struct AddInput {
  int32_t base;   // offset * 2^20
  int32_t m2;     // 2 * m - 2^32
  int32_t round;  // 2^(e-1), 0 when e == 0
  int32_t shift;  // e
};
inline bool add_input_setup(int32_t offset, int32_t multiplier, int32_t shift, AddInput* q) {
  const int32_t e = -shift;
  if (multiplier < (1 << 30) || e < 0 || e > 31 || offset < -128 || offset > 128) return false;
  q->base = offset * (1 << 20);
  q->m2 = static_cast<int32_t>(static_cast<uint32_t>(multiplier) << 1);
  q->round = e > 0 ? static_cast<int32_t>(1u << (e - 1)) : 0;
  q->shift = e;
  return true;
}
// kRound: e >= 1 (with e == 0 the rescale is the bare SRDHM).
template <class P, bool kRound>
inline int32_t add_input(int32_t a, int32_t base, int32_t m2, int32_t round, int32_t shift) {
  const int32_t x = base + a * (1 << 20);
  if (kRound) return P::smmlar(x, m2, x + (x >> 31) + round) >> shift;
  return P::smmlar(x, m2, x);
}

struct AddDsp {
  AddInput in1, in2;
  Requant out;
  int32_t lo, hi;
};
inline bool add_dsp_setup(const AddParams& p, AddDsp* d) {
  d->lo = p.act_min;
  d->hi = p.act_max;
  return p.left_shift == 20 && p.act_min >= -128 && p.act_max <= 127 &&
         add_input_setup(p.input1_offset, p.input1_multiplier, p.input1_shift, &d->in1) &&
         add_input_setup(p.input2_offset, p.input2_multiplier, p.input2_shift, &d->in2) &&
         requant_setup(p.output_multiplier, -p.output_shift, p.output_offset, &d->out);
}

// out[i] = ADD(x[i], y[i]), x rescaled by qx, y by qy (ADD is symmetric in its
// two rescaled inputs, so callers pass the inputs in whichever order puts the
// kRound flags in one of the instantiated orders).
template <class P, bool kRx, bool kRy, bool kClamp>
void add_vv(const AddDsp& d, const AddInput& qx, const AddInput& qy, const int8_t* x,
            const int8_t* y, int8_t* out, int32_t n) {
  const int32_t xb = qx.base, xm = qx.m2, xr = qx.round, xs = qx.shift;
  const int32_t yb = qy.base, ym = qy.m2, yr = qy.round, ys = qy.shift;
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t s = add_input<P, kRx>(x[i], xb, xm, xr, xs) + add_input<P, kRy>(y[i], yb, ym, yr, ys);
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(s, om, orr, os), lo, hi));
  }
}
// out[i] = ADD(scalar, y[i]); sx is the scalar's rescaled value.
template <class P, bool kRy, bool kClamp>
void add_sv(const AddDsp& d, int32_t sx, const AddInput& qy, const int8_t* y, int8_t* out,
            int32_t n) {
  const int32_t yb = qy.base, ym = qy.m2, yr = qy.round, ys = qy.shift;
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t s = sx + add_input<P, kRy>(y[i], yb, ym, yr, ys);
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(s, om, orr, os), lo, hi));
  }
}

// Dispatchers. `x_first` == true: x is input 1 (rescaled with d.in1).
template <class P, bool kClamp>
void add_vv_any(const AddDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  const bool r1 = d.in1.shift != 0, r2 = d.in2.shift != 0;
  if (r1 && r2) {
    add_vv<P, true, true, kClamp>(d, d.in1, d.in2, a, b, out, n);
  } else if (r1) {
    add_vv<P, false, true, kClamp>(d, d.in2, d.in1, b, a, out, n);
  } else if (r2) {
    add_vv<P, false, true, kClamp>(d, d.in1, d.in2, a, b, out, n);
  } else {
    add_vv<P, false, false, kClamp>(d, d.in1, d.in2, a, b, out, n);
  }
}
template <class P>
void add_vv_dispatch(const AddDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  if (d.lo > -128 || d.hi < 127) {
    add_vv_any<P, true>(d, a, b, out, n);
  } else {
    add_vv_any<P, false>(d, a, b, out, n);
  }
}
// Scalar + vector; qy rescales the vector input, sx the scalar's rescaled value.
template <class P>
void add_sv_dispatch(const AddDsp& d, int32_t sx, const AddInput& qy, const int8_t* y,
                     int8_t* out, int32_t n) {
  const bool clamp = d.lo > -128 || d.hi < 127;
  if (qy.shift != 0) {
    if (clamp) {
      add_sv<P, true, true>(d, sx, qy, y, out, n);
    } else {
      add_sv<P, true, false>(d, sx, qy, y, out, n);
    }
  } else if (clamp) {
    add_sv<P, false, true>(d, sx, qy, y, out, n);
  } else {
    add_sv<P, false, false>(d, sx, qy, y, out, n);
  }
}

// MUL: out = clamp(zo + MBQM((a + o1)(b + o2), m, -e)).
struct MulDsp {
  int32_t o1, o2;
  Requant out;
  int32_t lo, hi;
};
inline bool mul_dsp_setup(const MulParams& p, MulDsp* d) {
  d->o1 = p.input1_offset;
  d->o2 = p.input2_offset;
  d->lo = p.act_min;
  d->hi = p.act_max;
  return p.output_shift < 0 && p.input1_offset >= -128 && p.input1_offset <= 128 &&
         p.input2_offset >= -128 && p.input2_offset <= 128 && p.act_min >= -128 &&
         p.act_max <= 127 &&
         requant_setup(p.output_multiplier, -p.output_shift, p.output_offset, &d->out);
}
inline uint32_t load4(const int8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
// Both vectors: four elements per step (SXTAB16 adds the offsets to two
// bytes at once, SMULBB / SMULTT form the products).
template <class P, bool kClamp>
void mul_vv(const MulDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  const int32_t o1 = d.o1, o2 = d.o2;
  const int32_t o1x2 = static_cast<int32_t>((static_cast<uint32_t>(o1) & 0xffffu) |
                                            (static_cast<uint32_t>(o1) << 16));
  const int32_t o2x2 = static_cast<int32_t>((static_cast<uint32_t>(o2) & 0xffffu) |
                                            (static_cast<uint32_t>(o2) << 16));
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t wa = static_cast<int32_t>(load4(a + i));
    const int32_t wb = static_cast<int32_t>(load4(b + i));
    const int32_t ea = P::sxtab16(o1x2, wa), eb = P::sxtab16(o2x2, wb);
    const int32_t fa = P::sxtab16_r8(o1x2, wa), fb = P::sxtab16_r8(o2x2, wb);
    // Products first, then the stores: `out` may be `a` or `b` (in place).
    const int32_t p0 = P::smulbb(ea, eb), p1 = P::smulbb(fa, fb);
    const int32_t p2 = P::smultt(ea, eb), p3 = P::smultt(fa, fb);
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(p0, om, orr, os), lo, hi));
    out[i + 1] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(p1, om, orr, os), lo, hi));
    out[i + 2] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(p2, om, orr, os), lo, hi));
    out[i + 3] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(p3, om, orr, os), lo, hi));
  }
  for (; i < n; ++i) {
    const int32_t prod = (a[i] + o1) * (b[i] + o2);
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(prod, om, orr, os), lo, hi));
  }
}
// Scalar (already offset: sx = x + o_x) times vector y (offset oy).
template <class P, bool kClamp>
void mul_sv(const MulDsp& d, int32_t sx, int32_t oy, const int8_t* y, int8_t* out, int32_t n) {
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  const int32_t k = sx * oy;  // sx * (y + oy) = sx * y + k, exactly (|.| < 2^17)
  for (int32_t i = 0; i < n; ++i) {
    const int32_t prod = sx * y[i] + k;
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(prod, om, orr, os), lo, hi));
  }
}
template <class P>
void mul_vv_dispatch(const MulDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  if (d.lo > -128 || d.hi < 127) {
    mul_vv<P, true>(d, a, b, out, n);
  } else {
    mul_vv<P, false>(d, a, b, out, n);
  }
}
template <class P>
void mul_sv_dispatch(const MulDsp& d, int32_t sx, int32_t oy, const int8_t* y, int8_t* out,
                     int32_t n) {
  if (d.lo > -128 || d.hi < 127) {
    mul_sv<P, true>(d, sx, oy, y, out, n);
  } else {
    mul_sv<P, false>(d, sx, oy, y, out, n);
  }
}

}  // namespace ew_dsp

// ---------------------------------------------------------------------------
// Shared engine (used by add.cc and mul.cc). An Op provides
//   int32_t pa(int32_t a) const, pb(int32_t b) const  : per-input preparation
//   int8_t  out(int32_t pa, int32_t pb) const         : combine + requantize
// all branch-free so the loops below vectorize, and
//   bool dsp_vv(a, b, out, n), dsp_sv(a, b, out, n), dsp_vs(a, b, out, n) const
// which run a whole vector loop on an Arm DSP path (ew_dsp) or an x86 SIMD
// path (x86/dispatch.h) and return true, or return false to keep the loops
// below.
namespace binary_detail {

template <class Op>
inline void run_vv(const Op& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  if (op.dsp_vv(a, b, out, n)) return;
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), op.pb(b[i]));
}
template <class Op>
inline void run_sv(const Op& op, int8_t a, const int8_t* b, int8_t* out, int64_t n) {
  if (op.dsp_sv(a, b, out, n)) return;
  const int32_t pa = op.pa(a);
  for (int64_t i = 0; i < n; ++i) out[i] = op.out(pa, op.pb(b[i]));
}
template <class Op>
inline void run_vs(const Op& op, const int8_t* a, int8_t b, int8_t* out, int64_t n) {
  if (op.dsp_vs(a, b, out, n)) return;
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
