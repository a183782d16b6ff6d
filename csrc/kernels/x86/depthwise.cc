// DEPTHWISE_CONV_2D output rows (depth multiplier 1) on the AVX2 level (8
// channels a vector, the last n % 8 channels one at a time) and the AVX-512
// level (16 channels a vector, the last partial vector masked): one loop,
// x86/lanes.h (dw_row_lanes), compiled into each level's entry point.
// Contract in dispatch.h (Kernels::dw_row).
#include "kernels/x86/lanes.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/requant_avx512.h"

#if TINYOPS_X86_DISPATCH
namespace tinyops {
namespace x86 {

namespace avx2 {
TINYOPS_TARGET_AVX2 __attribute__((flatten)) void dw_row(
    const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
    const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa, int32_t xb,
    const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride) {
  dw_row_lanes<Lanes>(p, rows, filter, bias, c0, n, init, xa, xb, rq, dst_row, pixel_stride);
}
}  // namespace avx2

namespace avx512 {
TINYOPS_TARGET_AVX512 __attribute__((flatten)) void dw_row(
    const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
    const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa, int32_t xb,
    const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride) {
  dw_row_lanes<Lanes>(p, rows, filter, bias, c0, n, init, xa, xb, rq, dst_row, pixel_stride);
}
}  // namespace avx512

}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
