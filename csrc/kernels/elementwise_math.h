// The per-element math of ADD and MUL in branch-free form (identical results
// to add_reference / mul_reference in elementwise.h, kernels/quant.h), the
// lines every loop compiles: the portable loops (elementwise_loops.h) and the
// x86 SIMD loops (x86/elementwise.cc).
#pragma once
#include <cstdint>

#include "kernels/elementwise.h"

namespace tinyops {
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
      : e(exponent),
        mask(static_cast<int32_t>((int64_t{1} << exponent) - 1)),
        half_mask(mask >> 1) {}
  int32_t operator()(int32_t x) const {
    const int32_t threshold = half_mask + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
  }
};
inline int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The per-element math of ADD and MUL in branch-free form, equal to
// add_reference / mul_reference: pa / pb prepare an element of input 1 / 2,
// out combines two prepared values. The loops of add.cc / mul.cc and the x86
// SIMD loops (x86/elementwise.cc) all compile these same lines.
struct AddMath {
  using Params = AddParams;
  int32_t o1, o2, m1, m2, mo;
  Rdbpot r1, r2, ro;
  int32_t zo, lo, hi;
  explicit AddMath(const AddParams& p)
      : o1(p.input1_offset),
        o2(p.input2_offset),
        m1(p.input1_multiplier),
        m2(p.input2_multiplier),
        mo(p.output_multiplier),
        r1(-p.input1_shift),
        r2(-p.input2_shift),
        ro(-p.output_shift),
        zo(p.output_offset),
        lo(p.act_min),
        hi(p.act_max) {}
  int32_t pa(int32_t x) const { return r1(srdhm_pos((x + o1) * (1 << 20), m1)); }
  int32_t pb(int32_t y) const { return r2(srdhm_pos((y + o2) * (1 << 20), m2)); }
  int8_t out(int32_t sa, int32_t sb) const {
    const int32_t v = ro(srdhm_pos(sa + sb, mo)) + zo;
    return static_cast<int8_t>(clamp(v, lo, hi));
  }
};

struct MulMath {
  using Params = MulParams;
  int32_t o1, o2, m, left;
  Rdbpot right;
  int32_t zo, lo, hi;
  explicit MulMath(const MulParams& p)
      : o1(p.input1_offset),
        o2(p.input2_offset),
        m(p.output_multiplier),
        left(p.output_shift > 0 ? p.output_shift : 0),
        right(p.output_shift > 0 ? 0 : -p.output_shift),
        zo(p.output_offset),
        lo(p.act_min),
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
}  // namespace tinyops
