// The int8 GEMM with its output stage, shared by CONV_2D (pointwise and
// im2col), FULLY_CONNECTED and nothing else: the portable backend here, the
// ISA backends reached through their dispatch points (x86/dispatch.h at run
// time, arm/dispatch.h at build time).
//
// Exactness notes (why the fast paths equal TFLM's reference loops bit for bit):
// TFLM accumulates acc += w * (x + input_offset) in int32. Two's-complement
// int32 addition and multiplication are a ring homomorphism of Z -> Z/2^32, so
//   sum_i w_i * (x_i + off)  ==  sum_i w_i * x_i + off * sum_i w_i   (mod 2^32)
// for any set of taps. The fast paths therefore compute a pure int8 dot product
// and add a per-channel "effective bias" (bias + off * sum of the weights of the
// taps that TFLM visits), all in wrapping uint32 arithmetic (no signed-overflow
// UB). A padding tap that TFLM skips may equivalently be replaced by the value
// x = -off (the input zero point), because w * (x + off) is then exactly zero.
// Pure dot products of at most kMaxFastDepth int8 pairs cannot overflow int32.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/dispatch.h"
#include "kernels/gemm_layout.h"
#include "kernels/requant.h"
#include "kernels/x86/dispatch.h"

namespace tinyops {
namespace conv_detail {

// ---------------------------------------------------------------------------
// GEMM: out_p[c] = requant(bias_eff[c] + sum_k x_p[k] * w_c[k])  for npix pixels
// x_p (K contiguous int8 each, any addresses) and the channels of a tile.
//
// Backends:
//  * portable C++ written for auto-vectorization: an outer-product form over
//    weights transposed into scratch for small K, register-blocked dot
//    products otherwise;
//  * x86 SIMD (x86/, chosen at run time) for constant weights: prepare packs
//    them once (persistent memory) in the layout of the selected level
//    (AVX-512 VNNI: blocks of 16 channels x 4 depths, inputs fed as unsigned
//    bytes u = x + 128 with -128 * sum w folded into bias_eff, see
//    gemm_input_shift; AVX2: int16 pairs for vpmaddwd);
//  * Arm DSP extension (Cortex-M4/M7, built when the compiler targets it):
//    arm/gemm_dsp.h -- activations unpacked once per pixel into int16 pairs
//    (the `xbuf` scratch), P pixels x 1 channel or 1 pixel x 2 channels
//    SMLAD micro-kernels, and the output stage of arm/output_stage.h from
//    per-channel constants prepared in the `acc` scratch (4 words a channel,
//    64 channels a block).
// Scratch needs are the same for every backend, so a plan's scratch sizes do
// not depend on the machine that computed them.
// ---------------------------------------------------------------------------

// Bytes of the prepare-time packed copy of a whole [nch, K] constant weight
// matrix; 0 when the selected kernels have no SIMD backend that wants one.
inline uint32_t gemm_prepack_bytes(int32_t K, int32_t nch) {
  const auto bytes = x86::kernels().gemm_pack_bytes;
  return bytes ? bytes(K, nch) : 0u;
}

// What to add to input_offset when computing bias_eff = bias + (input_offset +
// shift) * sum(w) for these weights.
inline int32_t gemm_input_shift(const GemmWeights& g) {
  return g.packed ? x86::kernels().gemm_input_shift : 0;
}

// Packs a whole constant weight matrix at prepare time into dst
// (gemm_prepack_bytes), when the selected kernels have a backend for it.
inline void gemm_prepack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst) {
  if (const auto pack = x86::kernels().gemm_pack) pack(w, K, nch, dst);
}

// Prepares the weights of tile channels [c0, c0 + nch) (rows at w) for
// gemm_requant. `prepacked` is the prepare-time packed copy of the WHOLE
// matrix (channel 0 first) or nullptr; `buf` is the scratch gemm_scratch_bytes
// reserved for transposed weights.
inline GemmWeights gemm_weights(const int8_t* w, int32_t K, int32_t c0, int32_t nch, int8_t* buf,
                                const int8_t* prepacked) {
  GemmWeights g{w, nullptr, nullptr, 0, K, nch};
  if (prepacked) {  // exists only when the selected kernels packed it
    g.packed = prepacked;
    g.row0 = c0;
    return g;
  }
  // The Arm DSP GEMM reads the rows as they are (the scratch stays reserved,
  // so plans do not depend on the build).
  if (K <= kOuterMaxDepth && !arm::kEnabled) {
    for (int32_t c = 0; c < nch; ++c) {
      const int8_t* row = w + static_cast<ptrdiff_t>(c) * K;
      for (int32_t k = 0; k < K; ++k) buf[static_cast<ptrdiff_t>(k) * nch + c] = row[k];
    }
    g.wt = buf;
  }
  return g;
}

// Sum of n int8 weights (|s| <= 128 * n < 2^31 for the fast paths' depths).
inline int32_t weight_sum(const int8_t* w, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += w[i];
  return s;
}

// Reduction form (portable): each output a dot product along K.
template <int NP, int NC>
inline __attribute__((always_inline)) void dot_block(const int8_t* const* xs,
                                                     const int8_t* __restrict w, int32_t K,
                                                     int32_t* __restrict acc, int32_t acc_stride) {
  const int8_t* __restrict x[NP];
  for (int p = 0; p < NP; ++p) x[p] = xs[p];
  int32_t s[NP][NC];
  for (int p = 0; p < NP; ++p)
    for (int c = 0; c < NC; ++c) s[p][c] = 0;
  for (int32_t k = 0; k < K; ++k) {
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c)
        s[p][c] += static_cast<int32_t>(x[p][k]) * static_cast<int32_t>(w[c * K + k]);
  }
  for (int p = 0; p < NP; ++p)
    for (int c = 0; c < NC; ++c) acc[p * acc_stride + c] = s[p][c];
}

template <int NP>
inline void dot_rows(const int8_t* const* xs, const int8_t* w, int32_t K, int32_t nch, int32_t* acc,
                     int32_t acc_stride) {
  int32_t c = 0;
  for (; c + 4 <= nch; c += 4) {
    dot_block<NP, 4>(xs, w + static_cast<ptrdiff_t>(c) * K, K, acc + c, acc_stride);
  }
  for (; c < nch; ++c) {
    dot_block<NP, 1>(xs, w + static_cast<ptrdiff_t>(c) * K, K, acc + c, acc_stride);
  }
}

// Outer-product form (portable) over transposed weights wt[k * nch + c], for
// tile channels [cb, cb + nc).
inline void outer_block(const int8_t* const* x4, const int8_t* wt, int32_t K, int32_t nch,
                        int32_t cb, int32_t nc, int32_t* acc) {
  for (int32_t i = 0; i < kPixelBlock * kChannelBlock; ++i) acc[i] = 0;
  for (int32_t k = 0; k < K; ++k) {
    const int8_t* __restrict wk = wt + static_cast<ptrdiff_t>(k) * nch + cb;
    int32_t* __restrict a0 = acc;
    int32_t* __restrict a1 = acc + kChannelBlock;
    int32_t* __restrict a2 = acc + 2 * kChannelBlock;
    int32_t* __restrict a3 = acc + 3 * kChannelBlock;
    const int32_t v0 = x4[0][k], v1 = x4[1][k], v2 = x4[2][k], v3 = x4[3][k];
    for (int32_t c = 0; c < nc; ++c) {
      const int32_t wv = wk[c];
      a0[c] += v0 * wv;  // pure int8 dot products: no overflow (K < 2^17)
      a1[c] += v1 * wv;
      a2[c] += v2 * wv;
      a3[c] += v3 * wv;
    }
  }
}

// The whole GEMM + output stage for `npix` pixels and the nch tile channels
// of gw, absolute channels [c0, c0 + nch):
// outs[p][i] = requant(bias_eff[i] + x_p . w_i), in the scratch `gs`.
inline void gemm_requant(const int8_t* const* xs, int32_t npix, const GemmWeights& gw,
                         const int32_t* bias_eff, const Requant& rq, int32_t c0,
                         int8_t* const* outs, const GemmScratch& gs) {
  if constexpr (arm::kEnabled) {  // chosen at build time: nothing below is compiled in
    arm::gemm(xs, npix, gw, bias_eff, rq, c0, outs, gs);
    return;
  }
  int32_t* acc = gs.acc;
  const int32_t K = gw.K, nch = gw.nch;
  if (gw.packed) {
    x86::kernels().gemm_packed(xs, npix, gw.packed, K, gw.row0, nch, bias_eff, rq, c0, outs, acc);
    return;
  }
  for (int32_t p = 0; p < npix; p += kPixelBlock) {
    const int32_t np = npix - p < kPixelBlock ? npix - p : kPixelBlock;
    const int8_t* x4[kPixelBlock];
    for (int32_t i = 0; i < kPixelBlock; ++i) x4[i] = xs[p + (i < np ? i : 0)];
    for (int32_t cb = 0; cb < nch; cb += kChannelBlock) {
      const int32_t nc = nch - cb < kChannelBlock ? nch - cb : kChannelBlock;
      if (gw.wt) {
        outer_block(x4, gw.wt, K, nch, cb, nc, acc);
      } else {
        const int8_t* wb = gw.w + static_cast<ptrdiff_t>(cb) * K;
        switch (np) {
          case 4: dot_rows<4>(x4, wb, K, nc, acc, kChannelBlock); break;
          case 3: dot_rows<3>(x4, wb, K, nc, acc, kChannelBlock); break;
          case 2: dot_rows<2>(x4, wb, K, nc, acc, kChannelBlock); break;
          default: dot_rows<1>(x4, wb, K, nc, acc, kChannelBlock); break;
        }
      }
      requant_rows(acc, kChannelBlock, np, nc, bias_eff + cb, rq, c0 + cb, outs + p, cb);
    }
  }
}

}  // namespace conv_detail
}  // namespace tinyops
