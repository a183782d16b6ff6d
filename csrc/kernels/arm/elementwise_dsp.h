// Arm DSP-extension inner loops of ADD and MUL (reached through
// arm/dispatch.h when TINYOPS_ARM_DSP, see kernels/arm_dsp.h; the portable and
// x86 builds never instantiate them). They are templates over a primitive set
// P so the host test tests/test_elementwise_dsp.py runs this very code with
// portable emulations of the instructions. P provides (all int32_t):
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
#pragma once
#include <cstdint>

#include "kernels/elementwise.h"

namespace tinyops {
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

// Long vectors: each input's rescale is a function of one int8 value, so
// it is tabulated once (256 words per input, on the stack) and an element
// costs two byte loads, two table loads, the add and the output stage --
// about 13 instructions instead of 21. The tables hold the very values
// add_input computes, so the sums are the same.
constexpr int32_t kAddTableMin = 1024;  // elements from which the tables pay off
template <class P>
inline void add_table(const AddInput& q, int32_t* t) {
  for (int32_t v = -128; v < 128; ++v) {
    t[v & 0xff] = q.shift != 0 ? add_input<P, true>(v, q.base, q.m2, q.round, q.shift)
                               : add_input<P, false>(v, q.base, q.m2, q.round, q.shift);
  }
}
template <class P, bool kClamp>
void add_vv_table(const AddDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  int32_t ta[256], tb[256];
  add_table<P>(d.in1, ta);
  add_table<P>(d.in2, tb);
  const uint8_t* ua = reinterpret_cast<const uint8_t*>(a);
  const uint8_t* ub = reinterpret_cast<const uint8_t*>(b);
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t s = ta[ua[i]] + tb[ub[i]];
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(s, om, orr, os), lo, hi));
  }
}
// Scalar + vector: the scalar's rescaled value sx folded into the table.
template <class P, bool kClamp>
void add_sv_table(const AddDsp& d, int32_t sx, const AddInput& qy, const int8_t* y, int8_t* out,
                  int32_t n) {
  int32_t ty[256];
  add_table<P>(qy, ty);
  for (int32_t k = 0; k < 256; ++k) ty[k] += sx;
  const uint8_t* uy = reinterpret_cast<const uint8_t*>(y);
  const int32_t om = d.out.m2, orr = d.out.round, os = d.out.shift, lo = d.lo, hi = d.hi;
  for (int32_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(clamp_act<kClamp>(requant<P>(ty[uy[i]], om, orr, os), lo, hi));
  }
}

// Dispatchers. `x_first` == true: x is input 1 (rescaled with d.in1).
template <class P, bool kClamp>
void add_vv_any(const AddDsp& d, const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  if (n >= kAddTableMin) {
    add_vv_table<P, kClamp>(d, a, b, out, n);
    return;
  }
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
  if (n >= kAddTableMin) {
    if (clamp) {
      add_sv_table<P, true>(d, sx, qy, y, out, n);
    } else {
      add_sv_table<P, false>(d, sx, qy, y, out, n);
    }
    return;
  }
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
}  // namespace tinyops
