// Target attributes of the x86 SIMD kernels, and their entry points per level.
//
// The host engine is compiled for baseline x86-64; each SIMD function carries
// the target attribute of its level, so only that function uses the level's
// instructions, and only dispatch.cc decides (from CPUID) whether it runs.
// Everything these files include is compiled without those attributes, so an
// inline helper shared with the portable code (requant.h, gemm.h) is never emitted
// with AVX instructions in it. No lambdas in SIMD functions: a lambda's body
// does not inherit its enclosing function's target.
// Private to csrc/kernels/x86.
#pragma once
#include <cstdint>

#include "kernels/x86/dispatch.h"

#if TINYOPS_X86_DISPATCH
// GCC 12 reports spurious -Wmaybe-uninitialized inside the AVX-512 intrinsic
// headers (their _mm512_undefined_* placeholders) wherever they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The shared loops of lanes.h take and return vectors without a target of
// their own; they only ever run inlined into an entry point of their level.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#include <immintrin.h>

// x86-64-v3.
#define TINYOPS_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
// The AVX-512 level: Ice Lake / Zen 4 and later server and client cores.
#define TINYOPS_TARGET_AVX512 \
  __attribute__(( \
      target("avx2,fma,bmi,bmi2,popcnt,avx512f,avx512bw,avx512vl,avx512dq," \
             "avx512vnni")))
// The AVX-512 level plus VBMI (byte permutes), checked separately.
#define TINYOPS_TARGET_AVX512VBMI \
  __attribute__(( \
      target("avx2,fma,bmi,bmi2,popcnt,avx512f,avx512bw,avx512vl,avx512dq," \
             "avx512vnni,avx512vbmi")))

namespace tinyops {
namespace x86 {

// Entry points of each level (signatures as in Kernels, dispatch.h).
namespace avx512 {
void requant_rows(const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n,
                  const int32_t* bias, const conv_detail::Requant& rq, int32_t c0,
                  int8_t* const* outs, int32_t out_off);
uint32_t gemm_pack_bytes(int32_t K, int32_t nch);
void gemm_pack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst);
void gemm_packed(const int8_t* const* xs, int32_t npix, const int8_t* packed, int32_t K,
                 int32_t row0, int32_t nch, const int32_t* bias_eff, const conv_detail::Requant& rq,
                 int32_t c0, int8_t* const* outs, int32_t* acc);
void dw_row(const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
            const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa, int32_t xb,
            const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride);
void lut8_vbmi(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end);
void add(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
void mul(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
}  // namespace avx512

namespace avx2 {
void requant_rows(const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n,
                  const int32_t* bias, const conv_detail::Requant& rq, int32_t c0,
                  int8_t* const* outs, int32_t out_off);
uint32_t gemm_pack_bytes(int32_t K, int32_t nch);
void gemm_pack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst);
void gemm_packed(const int8_t* const* xs, int32_t npix, const int8_t* packed, int32_t K,
                 int32_t row0, int32_t nch, const int32_t* bias_eff, const conv_detail::Requant& rq,
                 int32_t c0, int8_t* const* outs, int32_t* acc);
void dw_row(const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
            const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa, int32_t xb,
            const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride);
void add(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
void mul(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
}  // namespace avx2

}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
