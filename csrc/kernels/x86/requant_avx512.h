// The int8 output stage (requant.h: requant_clamp) for 16 int32 lanes with
// per-lane multipliers and shifts, AVX-512. Private to csrc/kernels/x86.
#pragma once
#include "kernels/gemm_layout.h"
#include "kernels/requant.h"
#include "kernels/x86/isa.h"

#if TINYOPS_X86_DISPATCH
#define TINYOPS_AVX512_INLINE inline __attribute__((always_inline)) TINYOPS_TARGET_AVX512

namespace tinyops {
namespace x86 {
namespace avx512 {

// Per-lane constants of channels [c, c + 16) (lanes outside k are zero).
struct RequantLanes {
  __m512i m, ls, rs, mask, half_mask;
};

TINYOPS_AVX512_INLINE RequantLanes requant_lanes(const conv_detail::Requant& rq, int32_t c,
                                                 __mmask16 k) {
  RequantLanes r;
  r.m = _mm512_maskz_loadu_epi32(k, rq.multiplier + c);
  r.ls = _mm512_maskz_loadu_epi32(k, rq.left_shift + c);
  r.rs = _mm512_maskz_loadu_epi32(k, rq.right_shift + c);
  const __m512i one = _mm512_set1_epi32(1);
  r.mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, r.rs), one);
  r.half_mask = _mm512_srli_epi32(r.mask, 1);
  return r;
}

// floor((a * m + 2^30) / 2^31) of 64-bit products (see requant_value).
TINYOPS_AVX512_INLINE __m512i srdhm_high_epi64(__m512i ab) {
  return _mm512_srai_epi64(_mm512_add_epi64(ab, _mm512_set1_epi64(int64_t{1} << 30)), 31);
}

// The same arithmetic as requant_clamp: 64-bit products of even and odd
// lanes, nudge, truncating division by 2^31, gemmlowp rounding right shift,
// offset, max then min.
TINYOPS_AVX512_INLINE __m512i requant16(__m512i acc, const RequantLanes& r, __m512i off, __m512i lo,
                                        __m512i hi) {
  const __m512i a = _mm512_sllv_epi32(acc, r.ls);
  const __m512i even = srdhm_high_epi64(_mm512_mul_epi32(a, r.m));
  const __m512i odd =
      srdhm_high_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(r.m, 32)));
  const __m512i high = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  const __m512i rem = _mm512_and_si512(high, r.mask);
  const __m512i thr = _mm512_sub_epi32(r.half_mask, _mm512_srai_epi32(high, 31));
  __m512i v = _mm512_srav_epi32(high, r.rs);
  v = _mm512_mask_add_epi32(v, _mm512_cmpgt_epi32_mask(rem, thr), v, _mm512_set1_epi32(1));
  v = _mm512_add_epi32(v, off);
  v = _mm512_max_epi32(v, lo);
  return _mm512_min_epi32(v, hi);
}

// Lanes [0, n) of a block of 16 (n <= 16).
TINYOPS_AVX512_INLINE __mmask16 lanes_mask(int32_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
}

// The vector facts the shared row loops (x86/lanes.h) are written over: 16
// int32 lanes, the last partial vector masked. Not always_inline: the entry
// points inline them with `flatten`.
struct Lanes {
  using Vec = __m512i;
  using Mask = __mmask16;
  using Requant = RequantLanes;
  static constexpr int32_t kLanes = 16;
  static constexpr bool kMasked = true;
  static TINYOPS_TARGET_AVX512 Mask mask(int32_t n) { return lanes_mask(n); }
  static TINYOPS_TARGET_AVX512 Vec zero() { return _mm512_setzero_si512(); }
  static TINYOPS_TARGET_AVX512 Vec set1(int32_t v) { return _mm512_set1_epi32(v); }
  static TINYOPS_TARGET_AVX512 Vec add(Vec a, Vec b) { return _mm512_add_epi32(a, b); }
  static TINYOPS_TARGET_AVX512 Vec mul(Vec a, Vec b) { return _mm512_mullo_epi32(a, b); }
  static TINYOPS_TARGET_AVX512 Vec load_i8(Mask k, const int8_t* p) {
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, p));
  }
  static TINYOPS_TARGET_AVX512 Vec load_i32(Mask k, const int32_t* p) {
    return _mm512_maskz_loadu_epi32(k, p);
  }
  static TINYOPS_TARGET_AVX512 Requant requant_lanes(const conv_detail::Requant& rq, int32_t c,
                                                     Mask k) {
    return avx512::requant_lanes(rq, c, k);
  }
  static TINYOPS_TARGET_AVX512 void store_requant(Mask k, int8_t* dst, Vec acc, const Requant& r,
                                                  Vec off, Vec lo, Vec hi) {
    _mm_mask_storeu_epi8(dst, k, _mm512_cvtepi32_epi8(requant16(acc, r, off, lo, hi)));
  }
};

}  // namespace avx512
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
