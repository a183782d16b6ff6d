// What one GEMM call (gemm.h) is handed: its per-tile weight view and its
// scratch, with the sizes of both. Shared by the portable GEMM and the ISA
// microkernels (x86/, arm/), which all read the same layout.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/scratch.h"

namespace tinyops {
namespace conv_detail {

// |x * w| <= 2^14 for int8 operands, so a dot product of fewer than 2^17
// terms fits in int32. Longer filters use the (wrapping) reference loops.
constexpr int32_t kMaxFastDepth = (1 << 17) - 1;

// Output channels per accumulator block, pixels per micro-tile.
constexpr int32_t kChannelBlock = 64;
constexpr int32_t kPixelBlock = 4;
// K at or below which the portable backend uses the outer-product form.
constexpr int32_t kOuterMaxDepth = 48;

// Per-tile weight view handed to gemm_requant.
struct GemmWeights {
  const int8_t* w;       // the tile's rows: tile channel i at w + i * K
  const int8_t* wt;      // portable: transposed [K][nch] (small K), or nullptr
  const int8_t* packed;  // SIMD: the packed copy of the whole matrix, or nullptr
  int32_t row0;          // the matrix row of tile channel 0
  int32_t K;
  int32_t nch;
};

// Bytes for activations unpacked to int16 pairs (the Arm DSP backend): up to
// 6 pixels of 8 * ceil(K / 4) bytes within 6 KiB, at least one pixel; 0 for
// K > 3072 (that backend then reads the int8 activations directly).
constexpr uint32_t kUnpackedBytes = 6144;
inline uint32_t gemm_xbuf_bytes(int32_t K) {
  const uint32_t per_pixel = static_cast<uint32_t>((K + 3) / 4) * 8u;
  uint32_t pixels = kUnpackedBytes / per_pixel;
  pixels = pixels > 6u ? 6u : pixels;
  return pixels * per_pixel;
}

// Depth of a row of the weight scratch (small K): the portable path's
// transposed copy needs K, the Arm DSP im2col its rows padded to whole
// depth groups (arm/im2col_dsp.h).
inline int32_t wbuf_depth(int32_t K) { return (K + 3) & ~3; }

// Scratch for the accumulator block, a bias_eff of nch channels, the
// portable transposed weights and the unpacked activations (each piece
// rounded as ScratchCursor does).
inline uint32_t gemm_scratch_bytes(int32_t K, int32_t nch) {
  return align16(static_cast<uint32_t>(kPixelBlock * kChannelBlock) * 4u) +
         align16(static_cast<uint32_t>(nch) * 4u) +
         align16(K <= kOuterMaxDepth
                     ? static_cast<uint32_t>(wbuf_depth(K)) * static_cast<uint32_t>(nch)
                     : 0u) +
         align16(gemm_xbuf_bytes(K));
}

struct GemmScratch {
  int32_t* acc;
  int32_t* bias_eff;  // nch entries
  int8_t* wbuf;
  int32_t* xbuf;  // gemm_xbuf_bytes(K) bytes
  uint32_t xbuf_bytes;
};
inline GemmScratch take_gemm_scratch(ScratchCursor& sc, int32_t K, int32_t nch) {
  GemmScratch g;
  g.acc = sc.take<int32_t>(static_cast<size_t>(kPixelBlock * kChannelBlock));
  g.bias_eff = sc.take<int32_t>(static_cast<size_t>(nch));
  g.wbuf = sc.take<int8_t>(K <= kOuterMaxDepth ? static_cast<size_t>(wbuf_depth(K)) * nch : 0);
  g.xbuf_bytes = gemm_xbuf_bytes(K);
  g.xbuf = reinterpret_cast<int32_t*>(sc.take<uint8_t>(g.xbuf_bytes));
  return g;
}

}  // namespace conv_detail
}  // namespace tinyops
