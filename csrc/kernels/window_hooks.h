// The descriptor hooks (tinyops/op_descriptor.h) CONV_2D and
// DEPTHWISE_CONV_2D share: both params name their window geometry alike, so
// one template serves both and only the weight and work figures of the
// geometry differ by op.
#pragma once
#include <cstdint>

#include "kernels/tile.h"
#include "tinyops/op_descriptor.h"

namespace tinyops {
namespace conv_detail {

template <class P, uint32_t (*Scratch)(const P&, int32_t, int32_t),
          void (*Tile)(const P&, const InputBand&, const int8_t*, const int32_t*, const OutputTile&,
                       void*)>
struct WindowHooks {
  static const P& params(const void* p) { return *static_cast<const P*>(p); }
  // `weights_per_channel` and `macs_per_output` are the op's own figures.
  static TileGeometry geometry(const P& p, int32_t weights_per_channel, uint64_t macs_per_output) {
    return TileGeometry{p.batches,
                        p.in_h,
                        p.in_w,
                        p.in_c,
                        p.out_h,
                        p.out_w,
                        p.out_c,
                        p.stride_h,
                        p.dilation_h,
                        p.filter_h,
                        weights_per_channel,
                        uint64_t(p.batches) * p.out_h * p.out_w * p.out_c * macs_per_output};
  }
  static void input_rows(const void* params, int32_t r0, int32_t r1, int32_t* first,
                         int32_t* last) {
    const P& p = WindowHooks::params(params);
    window_input_rows(r0, r1, p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.in_h, first, last);
  }
  static uint32_t scratch(const void* params, int32_t rows, int32_t channels) {
    return Scratch(WindowHooks::params(params), rows, channels);
  }
  static void window(const void* params, const InputBand& in, const int8_t* filter,
                     const int32_t* bias, const OutputTile& out, void* scratch) {
    Tile(WindowHooks::params(params), in, filter, bias, out, scratch);
  }
};

}  // namespace conv_detail
}  // namespace tinyops
