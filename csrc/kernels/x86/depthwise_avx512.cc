// AVX-512 level: one DEPTHWISE_CONV_2D output row (depth multiplier 1), 16
// channels per vector. Contract in dispatch.h (Kernels::dw_row).
//
// Interior pixels [xa, xb) (every kx tap inside) start from init = bias +
// input_offset * (weights of the rows inside) and add pure int8 products;
// border pixels accumulate bias + w * (x + input_offset) over the taps
// inside, exactly TFLM's sum (gemm.h explains why both are exact).
#include "kernels/depthwise_conv.h"
#include "kernels/x86/requant_avx512.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace avx512 {

TINYOPS_TARGET_AVX512 void dw_row(const DepthwiseConv2DParams& p, const int8_t* const* rows,
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
  const __m512i off = _mm512_set1_epi32(rq.output_offset);
  const __m512i lo = _mm512_set1_epi32(rq.act_min);
  const __m512i hi = _mm512_set1_epi32(rq.act_max);
  const __m512i in_off = _mm512_set1_epi32(p.input_offset);
  __m512i wv[kDwMaxRowTaps];
  for (int32_t cg = 0; cg < n; cg += 16) {
    const __mmask16 k = lanes_mask(n - cg);
    for (int32_t t = 0; t < T; ++t) {
      wv[t] = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(
          k, filter + static_cast<ptrdiff_t>(tap_index[t]) * p.out_c + c0 + cg));
    }
    const RequantLanes r = requant_lanes(rq, c0 + cg, k);
    const __m512i iv = _mm512_maskz_loadu_epi32(k, init + cg);
    const __m512i bv = bias ? _mm512_maskz_loadu_epi32(k, bias + c0 + cg) : _mm512_setzero_si512();
    for (int32_t x = 0; x < p.out_w; ++x) {
      const int32_t ix0 = x * p.stride_w - p.pad_left;
      const ptrdiff_t o = static_cast<ptrdiff_t>(ix0) * p.in_c + c0 + cg;
      __m512i acc;
      if (x >= xa && x < xb) {
        acc = iv;
        for (int32_t t = 0; t < T; ++t) {
          const __m512i xv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, tap_in[t] + o));
          acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(xv, wv[t]));
        }
      } else {
        acc = bv;
        for (int32_t t = 0; t < T; ++t) {
          const int32_t ix = ix0 + tap_dx[t];
          if (ix < 0 || ix >= p.in_w) continue;
          const __m512i xv = _mm512_add_epi32(
              _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, tap_in[t] + o)), in_off);
          acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(xv, wv[t]));
        }
      }
      const __m512i v = requant16(acc, r, off, lo, hi);
      _mm_mask_storeu_epi8(dst_row + static_cast<ptrdiff_t>(x) * pixel_stride + cg, k,
                           _mm512_cvtepi32_epi8(v));
    }
  }
}

}  // namespace avx512
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
