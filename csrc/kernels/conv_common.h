// Private helpers shared by conv.cc, depthwise_conv.cc and fully_connected.cc:
// per-channel requantization setup, vectorizable requantization of int32
// accumulator rows, and the int8 dot-product GEMM cores.
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

#include "quant.h"
#include "kernels/tile.h"
#include "tinyops/op_api.h"

// Host x86 SIMD kernels (AVX2, AVX-512 VNNI), chosen at run time from CPUID
// and TINYOPS_ISA through x86::kernels(); a null entry (always, off x86-64
// hosts) means the portable C++ path below.
#include "kernels/x86/dispatch.h"
// Arm DSP-extension paths (Cortex-M4/M7: SMLAD, SXTB16), see arm_dsp.h.
#include "arm_dsp.h"
#include "arm/gemm_dsp.h"

namespace tinyops {
namespace conv_detail {

// |x * w| <= 2^14 for int8 operands, so a dot product of fewer than 2^17
// terms fits in int32. Longer filters use the (wrapping) reference loops.
constexpr int32_t kMaxFastDepth = (1 << 17) - 1;

inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wrap_mul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}

// TFLM's output stage: MultiplyByQuantizedMultiplier (double rounding), add the
// output offset, then std::max(act_min) followed by std::min(act_max).
// Requires multiplier >= 0 (prepare guarantees it), so the saturating case of
// SaturatingRoundingDoublingHighMul (both operands INT32_MIN) cannot occur.
// With multiplier >= 0 the product a * m never hits the saturating case, and
// TFLM's nudge-then-truncate (nudge 2^30 for a product >= 0, 1 - 2^30 below)
// equals floor((a * m + 2^30) / 2^31) in both cases.
inline int32_t requant_value(int32_t acc, int32_t multiplier, int32_t left_shift,
                             int32_t right_shift) {
  const int32_t a = static_cast<int32_t>(static_cast<uint32_t>(acc) << left_shift);
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(multiplier);
  const int32_t high = static_cast<int32_t>((ab + (int64_t{1} << 30)) >> 31);
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << right_shift) - 1u);
  const int32_t rem = high & mask;
  const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
  return (high >> right_shift) + (rem > threshold ? 1 : 0);
}

inline int8_t requant_clamp(int32_t acc, int32_t multiplier, int32_t left_shift,
                            int32_t right_shift, int32_t output_offset, int32_t act_min,
                            int32_t act_max) {
  int32_t v = requant_value(acc, multiplier, left_shift, right_shift) + output_offset;
  v = v < act_min ? act_min : v;
  v = v > act_max ? act_max : v;
  return static_cast<int8_t>(v);
}

// Per-channel output stage, arrays indexed by absolute output channel.
struct Requant {
  const int32_t* multiplier;
  const int32_t* left_shift;
  const int32_t* right_shift;
  int32_t output_offset;
  int32_t act_min;
  int32_t act_max;
};

// outs[r][out_off + i] = requant(acc[r * acc_stride + i] + bias[i]) (wrapping
// add; bias may be nullptr) for rows r < rows and channels c0 + i, i < n.
inline void requant_rows(const int32_t* __restrict acc, int32_t acc_stride, int32_t rows,
                         int32_t n, const int32_t* __restrict bias, const Requant& rq, int32_t c0,
                         int8_t* const* outs, int32_t out_off) {
  if (const auto simd = x86::kernels().requant_rows) {
    simd(acc, acc_stride, rows, n, bias, rq, c0, outs, out_off);
    return;
  }
  const int32_t* __restrict m = rq.multiplier + c0;
  const int32_t* __restrict ls = rq.left_shift + c0;
  const int32_t* __restrict rs = rq.right_shift + c0;
  const int32_t off = rq.output_offset, lo = rq.act_min, hi = rq.act_max;
  for (int32_t row = 0; row < rows; ++row) {
    const int32_t* __restrict a = acc + row * acc_stride;
    int8_t* __restrict out = outs[row] + out_off;
    if (bias) {
      for (int32_t i = 0; i < n; ++i) {
        out[i] = requant_clamp(wrap_add(a[i], bias[i]), m[i], ls[i], rs[i], off, lo, hi);
      }
    } else {
      for (int32_t i = 0; i < n; ++i) out[i] = requant_clamp(a[i], m[i], ls[i], rs[i], off, lo, hi);
    }
  }
}

inline void requant_row(const int32_t* acc, int32_t n, const int32_t* bias, const Requant& rq,
                        int32_t c0, int8_t* out) {
  requant_rows(acc, 0, 1, n, bias, rq, c0, &out, 0);
}

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

// Output channels per accumulator block, pixels per micro-tile.
constexpr int32_t kChannelBlock = 64;
constexpr int32_t kPixelBlock = 4;
// K at or below which the portable backend uses the outer-product form.
constexpr int32_t kOuterMaxDepth = 48;

inline uint32_t align16(uint32_t bytes) { return (bytes + 15u) & ~15u; }
inline int32_t round_up16(int32_t n) { return (n + 15) & ~15; }

// Scratch layout helper: carves 16-byte aligned pieces from a scratch pointer.
struct ScratchCursor {
  uint8_t* p;
  template <typename T>
  T* take(size_t n) {
    T* r = reinterpret_cast<T*>(p);
    p += (n * sizeof(T) + 15u) & ~size_t{15};
    return r;
  }
};

// Bytes of the prepare-time packed copy of a whole [nch, K] constant weight
// matrix; 0 when the selected kernels have no SIMD backend that wants one.
inline uint32_t gemm_prepack_bytes(int32_t K, int32_t nch) {
  const auto bytes = x86::kernels().gemm_pack_bytes;
  return bytes ? bytes(K, nch) : 0u;
}

// Per-tile weight view handed to gemm_requant.
struct GemmWeights {
  const int8_t* w;       // the tile's rows: tile channel i at w + i * K
  const int8_t* wt;      // portable: transposed [K][nch] (small K), or nullptr
  const int8_t* packed;  // SIMD: the packed copy of the whole matrix, or nullptr
  int32_t row0;          // the matrix row of tile channel 0
  int32_t K;
  int32_t nch;
};

// What to add to input_offset when computing bias_eff = bias + (input_offset +
// shift) * sum(w) for these weights.
inline int32_t gemm_input_shift(const GemmWeights& g) {
  return g.packed ? x86::kernels().gemm_input_shift : 0;
}

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

// Scratch for the accumulator block, a bias_eff of nch channels, the
// portable transposed weights and the unpacked activations (each piece
// rounded as ScratchCursor does).
inline uint32_t gemm_scratch_bytes(int32_t K, int32_t nch) {
  return align16(static_cast<uint32_t>(kPixelBlock * kChannelBlock) * 4u) +
         align16(static_cast<uint32_t>(nch) * 4u) +
         align16(K <= kOuterMaxDepth ? static_cast<uint32_t>(K) * static_cast<uint32_t>(nch) : 0u) +
         align16(gemm_xbuf_bytes(K));
}

struct GemmScratch {
  int32_t* acc;
  int32_t* bias_eff;  // nch entries
  int8_t* wbuf;
  int32_t* xbuf;      // gemm_xbuf_bytes(K) bytes
  uint32_t xbuf_bytes;
};
inline GemmScratch take_gemm_scratch(ScratchCursor& sc, int32_t K, int32_t nch) {
  GemmScratch g;
  g.acc = sc.take<int32_t>(static_cast<size_t>(kPixelBlock * kChannelBlock));
  g.bias_eff = sc.take<int32_t>(static_cast<size_t>(nch));
  g.wbuf = sc.take<int8_t>(K <= kOuterMaxDepth ? static_cast<size_t>(K) * nch : 0);
  g.xbuf_bytes = gemm_xbuf_bytes(K);
  g.xbuf = reinterpret_cast<int32_t*>(sc.take<uint8_t>(g.xbuf_bytes));
  return g;
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
inline GemmWeights gemm_weights(const int8_t* w, int32_t K, int32_t c0, int32_t nch,
                                int8_t* buf, const int8_t* prepacked) {
  GemmWeights g{w, nullptr, nullptr, 0, K, nch};
  if (prepacked) {  // exists only when the selected kernels packed it
    g.packed = prepacked;
    g.row0 = c0;
    return g;
  }
  // The Arm DSP GEMM reads the rows as they are (the scratch stays reserved,
  // so plans do not depend on the build).
  if (K <= kOuterMaxDepth && !TINYOPS_ARM_DSP) {
    for (int32_t c = 0; c < nch; ++c) {
      const int8_t* row = w + static_cast<ptrdiff_t>(c) * K;
      for (int32_t k = 0; k < K; ++k) buf[static_cast<ptrdiff_t>(k) * nch + c] = row[k];
    }
    g.wt = buf;
  }
  return g;
}

// Reduction form (portable): each output a dot product along K.
template <int NP, int NC>
inline __attribute__((always_inline)) void dot_block(const int8_t* const* xs,
                                                     const int8_t* __restrict w, int32_t K,
                                                     int32_t* __restrict acc,
                                                     int32_t acc_stride) {
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
inline void dot_rows(const int8_t* const* xs, const int8_t* w, int32_t K, int32_t nch,
                     int32_t* acc, int32_t acc_stride) {
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


#if TINYOPS_ARM_DSP
// gemm_requant with the pixels from an Arm DSP GEMM source (gathered on the
// fly, e.g. by im2col).
inline void gemm_requant_source(const arm_kernels::GemmSource& src, int32_t npix,
                                const GemmWeights& gw, const int32_t* bias_eff, const Requant& rq,
                                int32_t c0, int8_t* const* outs, const GemmScratch& gs) {
  const arm_kernels::GemmOut o{rq.multiplier + c0, rq.left_shift + c0, rq.right_shift + c0,
                               rq.output_offset, rq.act_min, rq.act_max};
  arm_kernels::gemm(src, npix, gw.w, gw.K, gw.nch, bias_eff, o, outs,
                    reinterpret_cast<arm_kernels::OutConst*>(gs.acc), gs.xbuf, gs.xbuf_bytes);
}
#endif

// The whole GEMM + output stage for `npix` pixels and the nch tile channels
// of gw, absolute channels [c0, c0 + nch):
// outs[p][i] = requant(bias_eff[i] + x_p . w_i), in the scratch `gs`.
inline void gemm_requant(const int8_t* const* xs, int32_t npix, const GemmWeights& gw,
                         const int32_t* bias_eff, const Requant& rq, int32_t c0,
                         int8_t* const* outs, const GemmScratch& gs) {
#if TINYOPS_ARM_DSP
  static_assert(sizeof(arm_kernels::OutConst) * arm_kernels::kGemmChannelBlock <=
                    sizeof(int32_t) * kPixelBlock * kChannelBlock,
                "output-stage constants must fit the accumulator scratch");
  const arm_kernels::GemmOut o{rq.multiplier + c0, rq.left_shift + c0, rq.right_shift + c0,
                               rq.output_offset, rq.act_min, rq.act_max};
  arm_kernels::gemm(xs, npix, gw.w, gw.K, gw.nch, bias_eff, o, outs,
                    reinterpret_cast<arm_kernels::OutConst*>(gs.acc), gs.xbuf, gs.xbuf_bytes);
  return;
#endif
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

// ---------------------------------------------------------------------------
// Prepare helpers.
// ---------------------------------------------------------------------------

// Checks a quantized int8 activation tensor's scale/zero point.
inline Status check_activation_quant(PrepareContext& ctx, const TensorDesc* t, const char* what) {
  if (t->quant.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "%s must be quantized (has no scale)", what);
  }
  if (!(t->quant.scale > 0.0f) || !(t->quant.scale < 3.0e38f)) {
    return ctx.fail(Status::kUnsupported, "%s scale must be positive and finite, is %g", what,
                    static_cast<double>(t->quant.scale));
  }
  if (t->quant.zero_point < -128 || t->quant.zero_point > 127) {
    return ctx.fail(Status::kInvalidModel, "%s zero point %d is outside int8 range", what,
                    static_cast<int>(t->quant.zero_point));
  }
  return Status::kOk;
}

// Checks a conv/depthwise filter's quantization: one scale, or one per output
// channel along quantized_dimension. Sets *per_channel.
inline Status check_filter_quant(PrepareContext& ctx, const TensorDesc* filter, int32_t out_c,
                                 const char* op, bool* per_channel) {
  const QuantInfo& fq = filter->quant;
  if (fq.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "%s: filter must be quantized", op);
  }
  *per_channel = fq.num_scales > 1;
  if (!*per_channel) return Status::kOk;
  if (fq.num_scales != out_c) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: filter has %d scales, expected 1 or %d (output channels)", op,
                    static_cast<int>(fq.num_scales), static_cast<int>(out_c));
  }
  if (fq.quantized_dimension < 0 || fq.quantized_dimension >= 4 ||
      filter->shape.dims[fq.quantized_dimension] != fq.num_scales) {
    return ctx.fail(Status::kInvalidModel, "%s: filter quantized_dimension %d does not have %d entries",
                    op, static_cast<int>(fq.quantized_dimension), static_cast<int>(fq.num_scales));
  }
  return Status::kOk;
}

// Computes the per-channel multiplier/shift arrays (size n) the way TFLM's
// PopulateConvolutionQuantizationParams does: effective scale =
// double(input_scale) * double(filter_scale[c]) / double(output_scale).
// `per_channel` selects filter scales[c] instead of scales[0].
inline Status per_channel_multipliers(PrepareContext& ctx, float input_scale,
                                      const QuantInfo& fq, float output_scale, int32_t n,
                                      bool per_channel, int32_t* mult, int32_t* shift,
                                      int32_t* left_shift, int32_t* right_shift) {
  for (int32_t c = 0; c < n; ++c) {
    const float fs = per_channel ? fq.scales[c] : (fq.scales ? fq.scales[0] : fq.scale);
    if (!(fs >= 0.0f) || !(fs < 3.0e38f)) {
      return ctx.fail(Status::kUnsupported,
                      "filter scale of channel %d must be non-negative and finite, is %g",
                      static_cast<int>(c), static_cast<double>(fs));
    }
    const double eff = static_cast<double>(input_scale) * static_cast<double>(fs) /
                       static_cast<double>(output_scale);
    int32_t q = 0;
    int s = 0;
    if (!quantize_multiplier(eff, &q, &s)) {
      return ctx.fail(Status::kUnsupported,
                      "effective scale %g of channel %d is not representable", eff,
                      static_cast<int>(c));
    }
    if (s > 31) {
      return ctx.fail(Status::kUnsupported,
                      "effective scale %g of channel %d needs a left shift of %d (> 31)", eff,
                      static_cast<int>(c), s);
    }
    mult[c] = q;
    shift[c] = s;
    left_shift[c] = s > 0 ? s : 0;
    right_shift[c] = s > 0 ? 0 : -s;
  }
  return Status::kOk;
}

// Validates stride/dilation/padding options and computes the output size and
// padding exactly as TFLM's ComputePaddingHeightWidth (64-bit intermediate).
struct SpatialGeometry {
  int32_t out_h, out_w, pad_top, pad_left;
};
inline Status spatial_geometry(PrepareContext& ctx, const char* op, const OpOptions& opt,
                               int32_t in_h, int32_t in_w, int32_t filter_h,
                               int32_t filter_w, SpatialGeometry* g) {
  if (opt.padding != kPaddingSame && opt.padding != kPaddingValid) {
    return ctx.fail(Status::kInvalidModel, "%s: unknown padding %d", op,
                    static_cast<int>(opt.padding));
  }
  if (opt.stride_h < 1 || opt.stride_w < 1 || opt.dilation_h < 1 || opt.dilation_w < 1) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: strides (%d, %d) and dilations (%d, %d) must be >= 1", op,
                    static_cast<int>(opt.stride_h), static_cast<int>(opt.stride_w),
                    static_cast<int>(opt.dilation_h), static_cast<int>(opt.dilation_w));
  }
  const int32_t in[2] = {in_h, in_w};
  const int32_t k[2] = {filter_h, filter_w};
  const int32_t st[2] = {opt.stride_h, opt.stride_w};
  const int32_t dl[2] = {opt.dilation_h, opt.dilation_w};
  int32_t out[2], pad[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t eff = (static_cast<int64_t>(k[i]) - 1) * dl[i] + 1;
    if (k[i] < 1 || eff > (int64_t{1} << 30) || st[i] > (1 << 30)) {
      return ctx.fail(Status::kUnsupported, "%s: filter extent or stride too large", op);
    }
    const int64_t o = opt.padding == kPaddingSame ? (static_cast<int64_t>(in[i]) + st[i] - 1) / st[i]
                                                  : (static_cast<int64_t>(in[i]) + st[i] - eff) / st[i];
    if (o < 1 || o > (int64_t{1} << 30)) {
      return ctx.fail(Status::kInvalidModel,
                      "%s: %s output size would be %lld (input %d, filter %d, stride %d, "
                      "dilation %d)",
                      op, i == 0 ? "height" : "width", static_cast<long long>(o),
                      static_cast<int>(in[i]), static_cast<int>(k[i]), static_cast<int>(st[i]),
                      static_cast<int>(dl[i]));
    }
    int64_t total = (o - 1) * st[i] + eff - in[i];
    total = total > 0 ? total : 0;
    if (total / 2 > (int64_t{1} << 30)) {
      return ctx.fail(Status::kUnsupported, "%s: padding too large", op);
    }
    out[i] = static_cast<int32_t>(o);
    pad[i] = static_cast<int32_t>(total / 2);
  }
  g->out_h = out[0];
  g->out_w = out[1];
  g->pad_top = pad[0];
  g->pad_left = pad[1];
  return Status::kOk;
}

inline bool dims_positive(const TensorDesc* t) {
  for (int i = 0; i < t->shape.rank; ++i) {
    if (t->shape.dims[i] < 1) return false;
  }
  return true;
}

inline const char* dtype_label(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
    case DType::kInt16: return "int16";
    case DType::kInt8: return "int8";
  }
  return "unknown";
}

// Whole-tensor eval of a window op (CONV_2D, DEPTHWISE_CONV_2D): one tile
// per image covering every row and channel. `tile` is the op's tile function.
template <typename Params, typename TileFn>
Status eval_per_image(const EvalContext& ctx, TileFn tile) {
  const Params& p = *static_cast<const Params*>(ctx.params);
  const int8_t* input = static_cast<const int8_t*>(ctx.inputs[0]);
  const int8_t* filter = static_cast<const int8_t*>(ctx.inputs[1]);
  const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(ctx.inputs[2]) : nullptr;
  int8_t* output = static_cast<int8_t*>(ctx.outputs[0]);
  const ptrdiff_t in_image = static_cast<ptrdiff_t>(p.in_h) * p.in_w * p.in_c;
  const ptrdiff_t out_image = static_cast<ptrdiff_t>(p.out_h) * p.out_w * p.out_c;
  for (int32_t b = 0; b < p.batches; ++b) {
    const InputBand in{input + b * in_image, 0, p.in_h};
    const OutputTile out{output + b * out_image, 0, p.out_h, 0, p.out_c, p.out_w * p.out_c,
                         p.out_c};
    tile(p, in, filter, bias, out, ctx.scratch);
  }
  return Status::kOk;
}

}  // namespace conv_detail
}  // namespace tinyops
