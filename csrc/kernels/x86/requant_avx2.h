// The int8 output stage (requant.h: requant_clamp) for 8 int32 lanes with
// per-lane multipliers and shifts, AVX2. Private to csrc/kernels/x86.
#pragma once
#include "kernels/gemm_layout.h"
#include "kernels/requant.h"
#include "kernels/x86/isa.h"

#if TINYOPS_X86_DISPATCH
#define TINYOPS_AVX2_INLINE inline __attribute__((always_inline)) TINYOPS_TARGET_AVX2

namespace tinyops {
namespace x86 {
namespace avx2 {

// Per-lane constants of channels [c, c + 8).
struct RequantLanes {
  __m256i m, ls, rs, mask, half_mask;
};

TINYOPS_AVX2_INLINE RequantLanes requant_lanes(const conv_detail::Requant& rq, int32_t c) {
  RequantLanes r;
  r.m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rq.multiplier + c));
  r.ls = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rq.left_shift + c));
  r.rs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rq.right_shift + c));
  const __m256i one = _mm256_set1_epi32(1);
  r.mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, r.rs), one);
  r.half_mask = _mm256_srli_epi32(r.mask, 1);
  return r;
}

// Low 32 bits of floor((a * m + 2^30) / 2^31) of 64-bit products (see
// requant_value). AVX2 has no 64-bit arithmetic shift, but for a shift by 31
// the low 32 bits of the result are bits 31..62 of the sum either way.
TINYOPS_AVX2_INLINE __m256i srdhm_high_epi64(__m256i ab) {
  return _mm256_srli_epi64(_mm256_add_epi64(ab, _mm256_set1_epi64x(int64_t{1} << 30)), 31);
}

// The same arithmetic as requant_clamp: 64-bit products of even and odd
// lanes, nudge, truncating division by 2^31, gemmlowp rounding right shift,
// offset, max then min.
TINYOPS_AVX2_INLINE __m256i requant8(__m256i acc, const RequantLanes& r, __m256i off, __m256i lo,
                                     __m256i hi) {
  const __m256i a = _mm256_sllv_epi32(acc, r.ls);
  const __m256i even = srdhm_high_epi64(_mm256_mul_epi32(a, r.m));
  const __m256i odd =
      srdhm_high_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(r.m, 32)));
  const __m256i high = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  const __m256i rem = _mm256_and_si256(high, r.mask);
  const __m256i thr = _mm256_sub_epi32(r.half_mask, _mm256_srai_epi32(high, 31));
  __m256i v = _mm256_srav_epi32(high, r.rs);
  v = _mm256_sub_epi32(v, _mm256_cmpgt_epi32(rem, thr));  // + 1 where rem > thr
  v = _mm256_add_epi32(v, off);
  v = _mm256_max_epi32(v, lo);
  return _mm256_min_epi32(v, hi);
}

// Stores 8 int32 lanes already in [-128, 127] as 8 int8.
TINYOPS_AVX2_INLINE void store8(int8_t* dst, __m256i v) {
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packs_epi16(w16, w16));
}

// Loads 8 int8 and sign-extends them to 8 int32 lanes.
TINYOPS_AVX2_INLINE __m256i load8_epi32(const int8_t* src) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
}

// The vector facts the shared row loops (x86/lanes.h) are written over: 8
// int32 lanes, full vectors only (the last n % 8 channels take the scalar
// tail). Not always_inline: the entry points inline them with `flatten`.
struct Lanes {
  using Vec = __m256i;
  using Mask = int32_t;  // unused: full vectors only
  using Requant = RequantLanes;
  static constexpr int32_t kLanes = 8;
  static constexpr bool kMasked = false;
  static Mask mask(int32_t) { return 0; }
  static TINYOPS_TARGET_AVX2 Vec zero() { return _mm256_setzero_si256(); }
  static TINYOPS_TARGET_AVX2 Vec set1(int32_t v) { return _mm256_set1_epi32(v); }
  static TINYOPS_TARGET_AVX2 Vec add(Vec a, Vec b) { return _mm256_add_epi32(a, b); }
  static TINYOPS_TARGET_AVX2 Vec mul(Vec a, Vec b) { return _mm256_mullo_epi32(a, b); }
  static TINYOPS_TARGET_AVX2 Vec load_i8(Mask, const int8_t* p) { return load8_epi32(p); }
  static TINYOPS_TARGET_AVX2 Vec load_i32(Mask, const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static TINYOPS_TARGET_AVX2 Requant requant_lanes(const conv_detail::Requant& rq, int32_t c,
                                                   Mask) {
    return avx2::requant_lanes(rq, c);
  }
  static TINYOPS_TARGET_AVX2 void store_requant(Mask, int8_t* dst, Vec acc, const Requant& r,
                                                Vec off, Vec lo, Vec hi) {
    store8(dst, requant8(acc, r, off, lo, hi));
  }
};

}  // namespace avx2
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
