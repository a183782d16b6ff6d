// DEPTHWISE_CONV_2D tiles on the Arm DSP loops (arm/depthwise_dsp.h):
// per-channel constants and scratch carved for dw_tile, reached through
// arm/dispatch.h; and that scratch's size, counted on every build.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/depthwise_dsp.h"
#include "kernels/depthwise_conv.h"
#include "kernels/requant.h"
#include "kernels/scratch.h"
#include "kernels/tile.h"

namespace tinyops {
namespace arm_kernels {

// Extra scratch of the Arm DSP loops (arm/depthwise_dsp.h) beyond the
// portable path's, counted on every build so plans do not depend on it.
inline uint32_t depthwise_tile_extra_scratch(const DepthwiseConv2DParams& p, int32_t channels) {
  if (!dw_dsp_supported(p.filter_h, p.filter_w, p.stride_w, p.dilation_h, p.dilation_w,
                        p.depth_multiplier)) {
    return 0;
  }
  return conv_detail::align16(static_cast<uint32_t>(channels) * 4u) +
         conv_detail::align16(dw_weight_bytes(p.filter_h, p.filter_w, p.stride_w,
                                              p.depth_multiplier)) +
         conv_detail::align16(dw_ring_bytes(p.filter_h, p.filter_w, p.stride_w, p.out_w));
}

#if TINYOPS_ARM_DSP

// The tile on the Arm DSP loops; scratch as depthwise_tile_extra_scratch
// plus the portable path's first 4 arrays (room for the output-stage
// constants).
// False (nothing written) when a channel's multiplier needs TFLM's generic
// output stage: the other loops then run the tile.
inline bool depthwise_tile(const DepthwiseConv2DParams& p, const InputBand& in,
                           const int8_t* filter, const int32_t* bias, const OutputTile& out,
                           void* scratch) {
  using conv_detail::align16;
  using conv_detail::wrap_add;
  using conv_detail::wrap_mul;
  const int32_t c0 = out.ch_begin, n = out.ch_end - c0;
  const int32_t KH = p.filter_h, KW = p.filter_w, OC = p.out_c;
  // The per-channel constants (5 words) fill the portable path's 4 arrays
  // of n int32 and depthwise_tile_extra_scratch's first n words.
  DwConst* cst = static_cast<DwConst*>(scratch);
  conv_detail::ScratchCursor sc{static_cast<uint8_t*>(scratch) +
                                5 * align16(static_cast<uint32_t>(n) * 4u)};
  int32_t* wext = reinterpret_cast<int32_t*>(
      sc.take<uint8_t>(dw_weight_bytes(KH, KW, p.stride_w, p.depth_multiplier)));
  const uint32_t ring_bytes = dw_ring_bytes(KH, KW, p.stride_w, p.out_w);
  int32_t* ring = reinterpret_cast<int32_t*>(sc.take<uint8_t>(ring_bytes));

  const OutOp op = out_op(p.output_offset, p.act_min, p.act_max);
  const int32_t* rs = p.row_sum ? p.row_sum + c0 : nullptr;
  const int32_t* mult = p.multiplier + c0;
  const int32_t* lsh = p.left_shift + c0;
  const int32_t* rsh = p.right_shift + c0;
  if (!op.ok) return false;
  const OutConstMaker maker(op);
  for (int32_t i = 0; i < n; ++i) {
    if (!maker.make(mult[i], lsh[i], rsh[i], &cst[i].out)) return false;
    // bias + input_offset * (all the channel's weights): every tap counts.
    uint32_t wsum = 0;
    if (rs) {
      const int32_t* r = rs + i;
      for (int32_t k = 0; k < KH; ++k, r += OC) wsum += static_cast<uint32_t>(*r);
    } else {
      for (int32_t t = 0; t < KH * KW; ++t) {
        wsum += static_cast<uint32_t>(static_cast<int32_t>(filter[static_cast<ptrdiff_t>(t) * OC + c0 + i]));
      }
    }
    cst[i].bias = wrap_add(bias ? bias[c0 + i] : 0,
                           wrap_mul(p.input_offset, static_cast<int32_t>(wsum)));
  }
  DwTile t;
  t.in_h = p.in_h;
  t.in_w = p.in_w;
  t.in_c = p.in_c;
  t.out_w = p.out_w;
  t.kh = KH;
  t.kw = KW;
  t.sh = p.stride_h;
  t.sw = p.stride_w;
  t.mult = p.depth_multiplier;
  t.pad_top = p.pad_top;
  t.pad_left = p.pad_left;
  t.in = in.data;
  t.in_row0 = in.row_begin;
  t.filter = filter;
  t.oc_total = OC;
  t.oc0 = c0;
  t.noc = n;
  t.out = out.data;
  t.row_begin = out.row_begin;
  t.row_end = out.row_end;
  t.row_stride = out.row_stride;
  t.pixel_stride = out.pixel_stride;
  t.zp4 = static_cast<uint8_t>(-p.input_offset) * 0x01010101u;
  t.cst = cst;
  t.add = p.act_min + 128;
  t.wext = wext;
  t.ring = ring;
  t.ring_bytes = ring_bytes;
  uint32_t zpbuf[4] = {t.zp4, t.zp4, t.zp4, t.zp4};
  t.zpbuf = reinterpret_cast<const int8_t*>(zpbuf);
  dw_tile(t, op.kind);
  return true;
}

#endif  // TINYOPS_ARM_DSP

}  // namespace arm_kernels
}  // namespace tinyops
