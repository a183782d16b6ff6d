// The one place where the engine picks its Arm DSP kernels.
//
// The choice is made at build time (kernels/arm_dsp.h: TINYOPS_ARM_DSP when
// the compiler targets a core with the DSP extension, Cortex-M4 / M7). The
// portable kernels call the hooks below and fall back to their own loops
// when a hook returns false; on every other build the hooks are constant
// `false` stubs, so the call sites need no #if and the compiler folds them
// away. The x86 counterpart, chosen at run time, is x86/dispatch.h.
#pragma once
#include <cstdint>

#include "kernels/arm_dsp.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/elementwise_math.h"
#include "kernels/gemm_layout.h"
#include "kernels/requant.h"
#include "kernels/tile.h"
#include "kernels/x86/dispatch.h"

#if TINYOPS_ARM_DSP
#include "kernels/arm/depthwise_tile.h"
#include "kernels/arm/elementwise_dsp.h"
#include "kernels/arm/gemm_dsp.h"
#include "kernels/arm/im2col_dsp.h"
#endif

namespace tinyops {
namespace arm {

constexpr bool kEnabled = TINYOPS_ARM_DSP != 0;

// Pixels a pointwise CONV_2D hands to one GEMM call (the portable and x86
// backends block by 4 pixels, the Arm DSP GEMM by 6).
#if TINYOPS_ARM_DSP
constexpr int32_t kGemmBatchPixels = arm_kernels::kGemmBatchPixels;
#else
constexpr int32_t kGemmBatchPixels = 64;
#endif

#if TINYOPS_ARM_DSP

// gemm.h's gemm_requant on the Arm DSP GEMM: the output-stage constants go
// to the accumulator scratch, the unpacked activations to xbuf.
inline bool gemm(const int8_t* const* xs, int32_t npix, const conv_detail::GemmWeights& gw,
                 const int32_t* bias_eff, const conv_detail::Requant& rq, int32_t c0,
                 int8_t* const* outs, const conv_detail::GemmScratch& gs) {
  static_assert(sizeof(arm_kernels::OutConst) * arm_kernels::kGemmChannelBlock <=
                    sizeof(int32_t) * conv_detail::kPixelBlock * conv_detail::kChannelBlock,
                "output-stage constants must fit the accumulator scratch");
  const arm_kernels::GemmOut o{rq.multiplier + c0, rq.left_shift + c0, rq.right_shift + c0,
                               rq.output_offset, rq.act_min, rq.act_max};
  arm_kernels::gemm(xs, npix, gw.w, gw.K, gw.nch, bias_eff, o, outs,
                    reinterpret_cast<arm_kernels::OutConst*>(gs.acc), gs.xbuf, gs.xbuf_bytes);
  return true;
}

// CONV_2D's im2col rows of group g with the pixels gathered by the GEMM
// itself (arm/im2col_dsp.h).
inline bool conv_im2col_rows(const Conv2DParams& p, const InputBand& in, int32_t g,
                             const OutputTile& out, int32_t cs,
                             const conv_detail::GemmWeights& gw, const int32_t* bias_eff,
                             const conv_detail::Requant& rq, const conv_detail::GemmScratch& gs,
                             int8_t* col) {
  arm_kernels::conv_im2col_rows(p, in, g, out, cs, gw, bias_eff, rq, gs, col);
  return true;
}

// A DEPTHWISE_CONV_2D tile on the DSP loops (arm/depthwise_tile.h), when
// its geometry and every channel's output stage allow.
inline bool depthwise_tile(const DepthwiseConv2DParams& p, const InputBand& in,
                           const int8_t* filter, const int32_t* bias, const OutputTile& out,
                           void* scratch) {
  return arm_kernels::dw_dsp_supported(p.filter_h, p.filter_w, p.stride_w, p.dilation_h,
                                       p.dilation_w, p.depth_multiplier) &&
         arm_kernels::depthwise_tile(p, in, filter, bias, out, scratch);
}

// ADD / MUL vector loops (arm/elementwise_dsp.h): set up once per call of
// the op from its parameters; run() returns false when the parameters need
// the generic loops. `op` is the op's ew:: math (its prepared scalars).
template <class Math>
struct BinaryLoops;

template <>
struct BinaryLoops<ew::AddMath> {
  bool ok;
  ew_dsp::AddDsp d;
  explicit BinaryLoops(const AddParams& p) : ok(ew_dsp::add_dsp_setup(p, &d)) {}
  bool run(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
           x86::BinaryForm form) const {
    if (!ok || n > INT32_MAX) return false;
    const int32_t m = static_cast<int32_t>(n);
    if (form == x86::kVectorVector) {
      ew_dsp::add_vv_dispatch<arm_dsp::Prims>(d, a, b, out, m);
    } else if (form == x86::kScalarVector) {
      ew_dsp::add_sv_dispatch<arm_dsp::Prims>(d, op.pa(a[0]), d.in2, b, out, m);
    } else {
      ew_dsp::add_sv_dispatch<arm_dsp::Prims>(d, op.pb(b[0]), d.in1, a, out, m);
    }
    return true;
  }
};

template <>
struct BinaryLoops<ew::MulMath> {
  bool ok;
  ew_dsp::MulDsp d;
  explicit BinaryLoops(const MulParams& p) : ok(ew_dsp::mul_dsp_setup(p, &d)) {}
  bool run(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
           x86::BinaryForm form) const {
    if (!ok || n > INT32_MAX) return false;
    const int32_t m = static_cast<int32_t>(n);
    if (form == x86::kVectorVector) {
      ew_dsp::mul_vv_dispatch<arm_dsp::Prims>(d, a, b, out, m);
    } else if (form == x86::kScalarVector) {
      ew_dsp::mul_sv_dispatch<arm_dsp::Prims>(d, a[0] + op.o1, op.o2, b, out, m);
    } else {
      ew_dsp::mul_sv_dispatch<arm_dsp::Prims>(d, b[0] + op.o2, op.o1, a, out, m);
    }
    return true;
  }
};

#else  // !TINYOPS_ARM_DSP: every hook declines.

inline bool gemm(const int8_t* const*, int32_t, const conv_detail::GemmWeights&, const int32_t*,
                 const conv_detail::Requant&, int32_t, int8_t* const*,
                 const conv_detail::GemmScratch&) {
  return false;
}
inline bool conv_im2col_rows(const Conv2DParams&, const InputBand&, int32_t, const OutputTile&,
                             int32_t, const conv_detail::GemmWeights&, const int32_t*,
                             const conv_detail::Requant&, const conv_detail::GemmScratch&,
                             int8_t*) {
  return false;
}
inline bool depthwise_tile(const DepthwiseConv2DParams&, const InputBand&, const int8_t*,
                           const int32_t*, const OutputTile&, void*) {
  return false;
}
template <class Math>
struct BinaryLoops {
  explicit BinaryLoops(const typename Math::Params&) {}
  bool run(const Math&, const int8_t*, const int8_t*, int8_t*, int64_t, x86::BinaryForm) const {
    return false;
  }
};

#endif  // TINYOPS_ARM_DSP

}  // namespace arm
}  // namespace tinyops
