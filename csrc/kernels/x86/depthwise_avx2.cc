// AVX2 level: one DEPTHWISE_CONV_2D output row (depth multiplier 1), 8
// channels per vector, the last n % 8 channels one at a time. Contract in
// dispatch.h (Kernels::dw_row); the same sums as depthwise_avx512.cc.
#include "kernels/depthwise_conv.h"
#include "kernels/x86/requant_avx2.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace avx2 {

using conv_detail::wrap_add;
using conv_detail::wrap_mul;

TINYOPS_TARGET_AVX2 void dw_row(const DepthwiseConv2DParams& p, const int8_t* const* rows,
                                const int8_t* filter, const int32_t* bias, int32_t c0,
                                int32_t n, const int32_t* init, int32_t xa, int32_t xb,
                                const conv_detail::Requant& rq, int8_t* dst_row,
                                int32_t pixel_stride) {
  const int8_t* tap_in[kDwMaxRowTaps];
  int32_t tap_index[kDwMaxRowTaps];
  int32_t tap_dx[kDwMaxRowTaps];  // kx * dilation_w
  int32_t T = 0;
  for (int32_t ky = 0; ky < p.filter_h; ++ky) {
    if (rows[ky] == nullptr) continue;
    for (int32_t kx = 0; kx < p.filter_w; ++kx) {
      tap_dx[T] = kx * p.dilation_w;
      tap_in[T] = rows[ky] + static_cast<ptrdiff_t>(tap_dx[T]) * p.in_c;
      tap_index[T] = ky * p.filter_w + kx;
      ++T;
    }
  }
  const __m256i off = _mm256_set1_epi32(rq.output_offset);
  const __m256i lo = _mm256_set1_epi32(rq.act_min);
  const __m256i hi = _mm256_set1_epi32(rq.act_max);
  const __m256i in_off = _mm256_set1_epi32(p.input_offset);
  __m256i wv[kDwMaxRowTaps];
  int32_t cg = 0;
  for (; cg + 8 <= n; cg += 8) {
    for (int32_t t = 0; t < T; ++t) {
      wv[t] = load8_epi32(filter + static_cast<ptrdiff_t>(tap_index[t]) * p.out_c + c0 + cg);
    }
    const RequantLanes r = requant_lanes(rq, c0 + cg);
    const __m256i iv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(init + cg));
    const __m256i bv = bias ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0 + cg))
                            : _mm256_setzero_si256();
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      const ptrdiff_t o = static_cast<ptrdiff_t>(ix0) * p.in_c + c0 + cg;
      __m256i acc;
      if (x >= xa && x < xb) {
        acc = iv;
        for (int32_t t = 0; t < T; ++t) {
          acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(load8_epi32(tap_in[t] + o), wv[t]));
        }
      } else {
        acc = bv;
        for (int32_t t = 0; t < T; ++t) {
          const int32_t ix = ix0 + tap_dx[t];
          if (ix < 0 || ix >= p.in_w) continue;
          const __m256i xv = _mm256_add_epi32(load8_epi32(tap_in[t] + o), in_off);
          acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(xv, wv[t]));
        }
      }
      store8(dst_row + static_cast<ptrdiff_t>(x) * pixel_stride + cg,
             requant8(acc, r, off, lo, hi));
    }
  }
  for (; cg < n; ++cg) {  // channels past the last full vector
    const int32_t c = c0 + cg;
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      const ptrdiff_t o = static_cast<ptrdiff_t>(ix0) * p.in_c + c;
      const bool interior = x >= xa && x < xb;
      int32_t acc = interior ? init[cg] : (bias ? bias[c] : 0);
      for (int32_t t = 0; t < T; ++t) {
        const int32_t w = filter[static_cast<ptrdiff_t>(tap_index[t]) * p.out_c + c];
        if (interior) {
          acc = wrap_add(acc, static_cast<int32_t>(tap_in[t][o]) * w);
        } else {
          const int32_t ix = ix0 + tap_dx[t];
          if (ix < 0 || ix >= p.in_w) continue;
          acc = wrap_add(acc, wrap_mul(static_cast<int32_t>(tap_in[t][o]) + p.input_offset, w));
        }
      }
      dst_row[static_cast<ptrdiff_t>(x) * pixel_stride + cg] = conv_detail::requant_clamp(
          acc, rq.multiplier[c], rq.left_shift[c], rq.right_shift[c], rq.output_offset,
          rq.act_min, rq.act_max);
    }
  }
}

}  // namespace avx2
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
