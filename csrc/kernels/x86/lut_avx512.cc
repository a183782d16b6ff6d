// AVX-512 VBMI: 256-entry int8 table lookup (activations, QUANTIZE), 64 bytes
// at a time. Used on the AVX-512 level when the CPU also has VBMI.
#include "kernels/x86/isa.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace avx512 {

TINYOPS_TARGET_AVX512VBMI void lut8_vbmi(const int8_t* lut, const int8_t* in, int8_t* out,
                                         int64_t begin, int64_t end) {
  int64_t i = begin;
  // 256-entry byte table = two 128-entry two-register permutes, selected by
  // the index's top bit.
  const __m512i t0 = _mm512_loadu_si512(lut);
  const __m512i t1 = _mm512_loadu_si512(lut + 64);
  const __m512i t2 = _mm512_loadu_si512(lut + 128);
  const __m512i t3 = _mm512_loadu_si512(lut + 192);
  for (; i + 64 <= end; i += 64) {
    const __m512i idx = _mm512_loadu_si512(in + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);
    const __mmask64 top = _mm512_movepi8_mask(idx);
    _mm512_storeu_si512(out + i, _mm512_mask_blend_epi8(top, lo, hi));
  }
  for (; i < end; ++i) out[i] = lut[static_cast<uint8_t>(in[i])];
}

}  // namespace avx512
}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
