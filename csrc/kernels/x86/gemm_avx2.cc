// AVX2 level: output stage of int32 rows, and the GEMM over prepare-time
// packed constant weights with vpmaddwd. See dispatch.h for the contracts and
// gemm.h for why the arithmetic equals TFLM's.
//
// vpmaddwd multiplies int16 pairs and adds each pair's two products into an
// int32 lane, exactly (|x * w| <= 2^14 for int8 values), so the weights are
// packed as sign-extended int16 pairs: block b (channels 8b..8b+7) occupies
// k2 * 32 bytes, k2 = 4 * ceil(K / 8) depth pairs; pair g holds
// (w[8b + lane][2g], w[8b + lane][2g + 1]) at lane * 4 bytes, zero beyond nch
// / K. Inputs are taken 8 depths at a time, sign-extended to int16, and each
// of their 4 pairs broadcast to all lanes (vpshufd). (vpmaddubsw would do
// twice the work per instruction but saturates its int16 sums: not exact.)
#include <cstring>

#include "kernels/x86/lanes.h"
#include "kernels/x86/requant_avx2.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace avx2 {

using conv_detail::kChannelBlock;
using conv_detail::kPixelBlock;
using conv_detail::Requant;

namespace {

constexpr int32_t kLanes = 8;

inline int32_t pairs_of(int32_t K) { return (K + 7) / 8 * 4; }
inline int32_t blocks_of(int32_t nch) { return (nch + kLanes - 1) / kLanes; }

// The 8 depths [8s, 8s + 8) of pixel x as int16, the same 4 pairs in both
// 128-bit halves (bytes past K read as 0 from a copy).
TINYOPS_AVX2_INLINE __m256i load_depths(const int8_t* x, int32_t s, int32_t K) {
  __m128i b;
  if (8 * s + 8 <= K) {
    b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + 8 * s));
  } else {
    int8_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(t, x + 8 * s, static_cast<size_t>(K - 8 * s));
    b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t));
  }
  return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(b));
}

// a[p][j] += depth pair Q of the step (xw: the step's inputs, wg: its
// weights in block 0) for NP pixels and NB blocks.
template <int Q, int NP, int NB>
TINYOPS_AVX2_INLINE void madd_pair(const __m256i (&xw)[NP], const int8_t* wg, int32_t k2,
                                   __m256i (&a)[NP][NB]) {
  __m256i wv[NB];
  for (int j = 0; j < NB; ++j) {
    wv[j] = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(wg + static_cast<ptrdiff_t>(j) * k2 * 32 + Q * 32));
  }
  for (int p = 0; p < NP; ++p) {
    const __m256i xb = _mm256_shuffle_epi32(xw[p], Q * 0x55);
    for (int j = 0; j < NB; ++j) a[p][j] = _mm256_add_epi32(a[p][j], _mm256_madd_epi16(xb, wv[j]));
  }
}

// acc[p * kChannelBlock + 8 j + lane] = sum_k x_p[k] * w[8 j + lane][k] for NP
// pixels and NB packed blocks of 8 channels starting at `blk` (block stride
// k2 * 32 bytes).
template <int NP, int NB>
TINYOPS_TARGET_AVX2 void madd_block(const int8_t* const* xs, const int8_t* blk, int32_t K,
                                    int32_t k2, int32_t* acc) {
  __m256i a[NP][NB];
  for (int p = 0; p < NP; ++p)
    for (int j = 0; j < NB; ++j) a[p][j] = _mm256_setzero_si256();
  const int32_t steps = k2 / 4;
  for (int32_t s = 0; s < steps; ++s) {
    __m256i xw[NP];
    for (int p = 0; p < NP; ++p) xw[p] = load_depths(xs[p], s, K);
    const int8_t* wg = blk + static_cast<ptrdiff_t>(s) * 4 * 32;
    madd_pair<0, NP, NB>(xw, wg, k2, a);
    madd_pair<1, NP, NB>(xw, wg, k2, a);
    madd_pair<2, NP, NB>(xw, wg, k2, a);
    madd_pair<3, NP, NB>(xw, wg, k2, a);
  }
  for (int p = 0; p < NP; ++p)
    for (int j = 0; j < NB; ++j) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + p * kChannelBlock + kLanes * j),
                          a[p][j]);
    }
}

// nb blocks (<= 8, one window of kChannelBlock lanes) two at a time.
template <int NP>
TINYOPS_TARGET_AVX2 void madd_blocks(const int8_t* const* xs, const int8_t* blk, int32_t K,
                                     int32_t k2, int32_t nb, int32_t* acc) {
  const ptrdiff_t stride = static_cast<ptrdiff_t>(k2) * 32;
  int32_t j = 0;
  for (; j + 2 <= nb; j += 2) madd_block<NP, 2>(xs, blk + j * stride, K, k2, acc + kLanes * j);
  if (j < nb) madd_block<NP, 1>(xs, blk + j * stride, K, k2, acc + kLanes * j);
}

// The packed layout for gemm_packed_lanes (x86/lanes.h).
struct Packed {
  static constexpr int32_t kLanes = avx2::kLanes;
  static ptrdiff_t block_bytes(int32_t K) { return static_cast<ptrdiff_t>(pairs_of(K)) * 32; }
  static TINYOPS_TARGET_AVX2 __attribute__((noinline)) void blocks(int32_t np,
                                                                   const int8_t* const* x4,
                                                                   const int8_t* blk, int32_t K,
                                                                   int32_t nb, int32_t* acc) {
    const int32_t k2 = pairs_of(K);
    if (np == 1) {
      madd_blocks<1>(x4, blk, K, k2, nb, acc);
    } else if (np == 2) {
      madd_blocks<2>(x4, blk, K, k2, nb, acc);
    } else {
      madd_blocks<4>(x4, blk, K, k2, nb, acc);
    }
  }
};

}  // namespace

TINYOPS_TARGET_AVX2 __attribute__((flatten)) void requant_rows(
    const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n, const int32_t* bias,
    const Requant& rq, int32_t c0, int8_t* const* outs, int32_t out_off) {
  requant_rows_lanes<Lanes>(acc, acc_stride, rows, n, bias, rq, c0, outs, out_off);
}

uint32_t gemm_pack_bytes(int32_t K, int32_t nch) {
  return static_cast<uint32_t>(blocks_of(nch)) * static_cast<uint32_t>(pairs_of(K)) * 32u;
}

void gemm_pack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst) {
  const int32_t k2 = pairs_of(K);
  for (int32_t b = 0; b < blocks_of(nch); ++b) {
    int16_t* blk = reinterpret_cast<int16_t*>(dst) + static_cast<ptrdiff_t>(b) * k2 * 16;
    for (int32_t g = 0; g < k2; ++g) {
      for (int32_t lane = 0; lane < kLanes; ++lane) {
        const int32_t c = b * kLanes + lane;
        for (int32_t j = 0; j < 2; ++j) {
          const int32_t k = 2 * g + j;
          blk[(g * kLanes + lane) * 2 + j] =
              (c < nch && k < K) ? w[static_cast<ptrdiff_t>(c) * K + k] : int16_t{0};
        }
      }
    }
  }
}

TINYOPS_TARGET_AVX2 __attribute__((flatten)) void gemm_packed(const int8_t* const* xs, int32_t npix,
                                                              const int8_t* packed, int32_t K,
                                                              int32_t row0, int32_t nch,
                                                              const int32_t* bias_eff,
                                                              const Requant& rq, int32_t c0,
                                                              int8_t* const* outs, int32_t* acc) {
  gemm_packed_lanes<Packed, Lanes>(xs, npix, packed, K, row0, nch, bias_eff, rq, c0, outs, acc);
}

}  // namespace avx2
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
