// ADD and MUL loops for the AVX2 and AVX-512 levels: the very per-element
// math of the portable loops (ew::AddMath / ew::MulMath, elementwise_math.h),
// inlined into functions compiled for each level, where GCC vectorizes it
// (64-bit products of int32 lanes and all). Contract in dispatch.h.
#include "kernels/elementwise_math.h"
#include "kernels/x86/isa.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {
namespace {

// Forced inline, so the loops take the target of the function they land in.
template <class Math>
inline __attribute__((always_inline)) void binary_loops(const Math& op, const int8_t* a,
                                                        const int8_t* b, int8_t* out, int64_t n,
                                                        BinaryForm form) {
  if (form == kScalarVector) {
    const int32_t pa = op.pa(a[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = op.out(pa, op.pb(b[i]));
  } else if (form == kVectorScalar) {
    const int32_t pb = op.pb(b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), pb);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = op.out(op.pa(a[i]), op.pb(b[i]));
  }
}

}  // namespace

namespace avx2 {
TINYOPS_TARGET_AVX2 void add(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out,
                             int64_t n, BinaryForm form) {
  binary_loops(op, a, b, out, n, form);
}
TINYOPS_TARGET_AVX2 void mul(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out,
                             int64_t n, BinaryForm form) {
  binary_loops(op, a, b, out, n, form);
}
}  // namespace avx2

namespace avx512 {
TINYOPS_TARGET_AVX512 void add(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out,
                               int64_t n, BinaryForm form) {
  binary_loops(op, a, b, out, n, form);
}
TINYOPS_TARGET_AVX512 void mul(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out,
                               int64_t n, BinaryForm form) {
  binary_loops(op, a, b, out, n, form);
}
}  // namespace avx512

}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
