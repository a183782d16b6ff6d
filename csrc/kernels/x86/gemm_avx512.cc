// AVX-512 level: output stage of int32 rows, and the GEMM over prepare-time
// packed constant weights with VNNI (vpdpbusd). See dispatch.h for the
// contracts and gemm.h for why the arithmetic equals TFLM's.
//
// Packed layout: block b (channels 16b..16b+15) occupies k4 * 64 bytes, k4 =
// ceil(K / 4); within it, depth group g holds w[16b + lane][4g + j] at
// (g * 16 + lane) * 4 + j, zero beyond nch / K. Inputs are fed to vpdpbusd as
// unsigned bytes u = x + 128 (x ^ 0x80); the -128 * sum(w) this adds is folded
// into bias_eff by the caller (gemm_input_shift = -128).
#include "kernels/x86/lanes.h"
#include "kernels/x86/requant_avx512.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace avx512 {

using conv_detail::kChannelBlock;
using conv_detail::kPixelBlock;
using conv_detail::Requant;

namespace {

inline uint32_t load_u32(const int8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// acc[p][16 j + lane] = sum_k u_p[k] * w[16 j + lane][k] for NP pixels and NB
// packed blocks of 16 channels starting at `blk` (block stride k4 * 64).
template <int NP, int NB>
TINYOPS_TARGET_AVX512 void vnni_block(const int8_t* const* xs, const int8_t* blk, int32_t K,
                                      int32_t k4, int32_t* acc) {
  __m512i a[NP][NB];
  for (int p = 0; p < NP; ++p)
    for (int j = 0; j < NB; ++j) a[p][j] = _mm512_setzero_si512();
  const int32_t full = K / 4;
  const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  for (int32_t g = 0; g < full; ++g) {
    __m512i wv[NB];
    for (int j = 0; j < NB; ++j) {
      wv[j] = _mm512_loadu_si512(blk + (static_cast<ptrdiff_t>(j) * k4 + g) * 64);
    }
    for (int p = 0; p < NP; ++p) {
      const __m512i xv =
          _mm512_xor_si512(_mm512_set1_epi32(static_cast<int32_t>(load_u32(xs[p] + 4 * g))), flip);
      for (int j = 0; j < NB; ++j) a[p][j] = _mm512_dpbusd_epi32(a[p][j], xv, wv[j]);
    }
  }
  const int32_t rem = K - full * 4;
  if (rem) {
    __m512i wv[NB];
    for (int j = 0; j < NB; ++j) {
      wv[j] = _mm512_loadu_si512(blk + (static_cast<ptrdiff_t>(j) * k4 + full) * 64);
    }
    for (int p = 0; p < NP; ++p) {
      uint32_t t = 0;
      __builtin_memcpy(&t, xs[p] + 4 * full, static_cast<size_t>(rem));
      const __m512i xv = _mm512_xor_si512(_mm512_set1_epi32(static_cast<int32_t>(t)), flip);
      for (int j = 0; j < NB; ++j) a[p][j] = _mm512_dpbusd_epi32(a[p][j], xv, wv[j]);
    }
  }
  for (int p = 0; p < NP; ++p)
    for (int j = 0; j < NB; ++j) _mm512_storeu_si512(acc + p * kChannelBlock + 16 * j, a[p][j]);
}

template <int NP>
TINYOPS_TARGET_AVX512 void vnni_blocks(const int8_t* const* xs, const int8_t* blk, int32_t K,
                                       int32_t k4, int32_t nb, int32_t* acc) {
  switch (nb) {
    case 4: vnni_block<NP, 4>(xs, blk, K, k4, acc); break;
    case 3: vnni_block<NP, 3>(xs, blk, K, k4, acc); break;
    case 2: vnni_block<NP, 2>(xs, blk, K, k4, acc); break;
    default: vnni_block<NP, 1>(xs, blk, K, k4, acc); break;
  }
}

// The packed layout for gemm_packed_lanes (x86/lanes.h).
struct Packed {
  static constexpr int32_t kLanes = 16;
  static ptrdiff_t block_bytes(int32_t K) { return static_cast<ptrdiff_t>((K + 3) / 4) * 64; }
  static TINYOPS_TARGET_AVX512 __attribute__((noinline)) void blocks(int32_t np,
                                                                     const int8_t* const* x4,
                                                                     const int8_t* blk, int32_t K,
                                                                     int32_t nb, int32_t* acc) {
    const int32_t k4 = (K + 3) / 4;
    if (np == 1) {
      vnni_blocks<1>(x4, blk, K, k4, nb, acc);
    } else {
      vnni_blocks<4>(x4, blk, K, k4, nb, acc);
    }
  }
};

}  // namespace

TINYOPS_TARGET_AVX512 __attribute__((flatten)) void requant_rows(
    const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n, const int32_t* bias,
    const Requant& rq, int32_t c0, int8_t* const* outs, int32_t out_off) {
  requant_rows_lanes<Lanes>(acc, acc_stride, rows, n, bias, rq, c0, outs, out_off);
}

uint32_t gemm_pack_bytes(int32_t K, int32_t nch) {
  return static_cast<uint32_t>(conv_detail::round_up16(nch)) * static_cast<uint32_t>((K + 3) / 4) *
         4u;
}

void gemm_pack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst) {
  const int32_t k4 = (K + 3) / 4;
  const int32_t nblocks = conv_detail::round_up16(nch) / 16;
  for (int32_t b = 0; b < nblocks; ++b) {
    int8_t* blk = dst + static_cast<ptrdiff_t>(b) * k4 * 64;
    for (int32_t lane = 0; lane < 16; ++lane) {
      const int32_t c = b * 16 + lane;
      for (int32_t g = 0; g < k4; ++g) {
        for (int32_t j = 0; j < 4; ++j) {
          const int32_t k = g * 4 + j;
          blk[(g * 16 + lane) * 4 + j] =
              (c < nch && k < K) ? w[static_cast<ptrdiff_t>(c) * K + k] : int8_t{0};
        }
      }
    }
  }
}

TINYOPS_TARGET_AVX512 __attribute__((flatten)) void gemm_packed(
    const int8_t* const* xs, int32_t npix, const int8_t* packed, int32_t K, int32_t row0,
    int32_t nch, const int32_t* bias_eff, const Requant& rq, int32_t c0, int8_t* const* outs,
    int32_t* acc) {
  gemm_packed_lanes<Packed, Lanes>(xs, npix, packed, K, row0, nch, bias_eff, rq, c0, outs, acc);
}

}  // namespace avx512
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
