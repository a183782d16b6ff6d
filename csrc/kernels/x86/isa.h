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

// Entry points of each level (x86/level_entry_points.h), and the ones only
// some levels have.
namespace avx512 {
#include "kernels/x86/level_entry_points.h"
void lut8_vbmi(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end);
}  // namespace avx512

namespace avx2 {
#include "kernels/x86/level_entry_points.h"
}  // namespace avx2

}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
