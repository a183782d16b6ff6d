// Arm DSP-extension GEMM + output stage (Cortex-M4 / Cortex-M7), the backend
// of conv_detail::gemm_requant when TINYOPS_ARM_DSP: 1x1 convolutions, im2col
// convolutions and FULLY_CONNECTED. Private to csrc/kernels.
//
// outs[p][i] = requant(bias_eff[i] + x_p . w_i) for pixels p < npix and tile
// channels i < nch (weight rows w + i * K), as the portable backend computes.
//
// Why it is fast (guest instructions per multiply-accumulate, see
// benchmarks/cortex_m_kernels.py): SMLAD does two 16x16 MACs, and an int8
// word needs two SXTB16 to become its two SMLAD operands (arm_dsp.h). Here
// the activations are unpacked ONCE per pixel into a scratch buffer
// (expand_pixels: int16 pairs, zero past K), so they cost loads only, and are
// reused across every output channel; each weight word is unpacked once per
// block of P pixels:
//  * P pixels x 1 channel (P = 2..6, PxDot): per 4 depths one LDR + two
//    SXTB16 of the weight word, then per two pixels one LDM of their four
//    unpacked words and four SMLAD -- 18 instructions per 24 MACs at P = 6
//    (where K % 4 == 0, the whole channel loop is assembly:
//    pxN_*);
//  * 1 pixel x 3 channels (FULLY_CONNECTED and single-pixel 1x1
//    convolutions with K % 8 == 0 and aligned rows, fc3_*): per 8 depths one
//    LDM of the pixel's four unpacked words and per channel one LDRD + four
//    SXTB16 + four SMLAD, the output stage in the same assembly loop; other
//    depths, and the last channel or two of a block, 1 pixel x 2 channels
//    (fc_pair) the same way;
//  * blocks of 8 or more pixels: 4 pixels x 2 channels over each channel
//    pair's weights unpacked once per block (pair_gemm, pair4_*,
//    gemm_pair_dsp.h / gemm_pair4_dsp.h) -- 28 instructions per 32 MACs,
//    32 cycles on the Cortex-M4, 16 on the Cortex-M7.
// The accumulators start at the channel's bias_eff (the first SMLAD adds it),
// and the output stage is output_stage.h's from per-channel constants
// prepared once per block of 64 channels (63 for one pixel: whole triples).
//
// Exactness: the products are pure int8 dot products accumulated in wrapping
// int32 exactly like the portable backend (see conv_common.h: fewer than 2^17
// terms of |x * w| <= 2^14 cannot overflow; bias_eff is added first, which
// changes nothing mod 2^32). Depths past K are zero in the unpacked
// activations, so the weight bytes they meet (the next row's, or a partial
// word built from the row's last bytes) contribute nothing. The output stage
// is arm_dsp.h's exact form, or TFLM's generic one for channels it refuses.
//
// The inner loops are inline assembly: GCC spills the 13-14 live registers
// they need and never forms LDRD/LDM from the unpacked-activation loads.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/gemm_fc_dsp.h"
#include "kernels/arm/gemm_pair_dsp.h"
#include "kernels/arm/gemm_px_dsp.h"
#include "kernels/arm/gemm_pxn_dsp.h"
#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"
#include "kernels/quant.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#ifndef TINYOPS_ARM_INLINE
#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))
#endif

// ---------------------------------------------------------------------------
// Output stage (arm/output_stage.h): the block's channel constants.

struct OutStage {
  const OutConst* oc;  // block constants
  int32_t add;         // act_min + 128
  const int8_t* wend;  // end of the weight rows (partial last words may read up to it)
};

template <int kKind>
TINYOPS_ARM_INLINE int8_t out_value(int32_t acc, const OutStage& s, int32_t i) {
  const OutConst& c = s.oc[i];
  return static_cast<int8_t>(
      out_apply<arm_dsp::Prims, kKind>(acc, c.m2, c.round, c.shift, c.sub, s.add));
}

// ---------------------------------------------------------------------------
// Block drivers.

// P (2..6) unpacked pixels at xb x the block's nc channels (rows w + i * K,
// bias be[i], K % 4 != 0); outputs ob[p][i].
template <int P, int kKind>
void px_channels(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
                 const OutStage& s, int8_t* const* obp) {
  int8_t* ob[P];  // in this frame: one load per store
  for (int p = 0; p < P; ++p) ob[p] = obp[p];
  const int32_t full = K >> 2, rem = K & 3;
  const int32_t* xtail = xb + 2 * P * full;
  for (int32_t i = 0; i < nc; ++i) {
    const int8_t* row = w + static_cast<ptrdiff_t>(i) * K;
    int32_t a[P];
    if (full > 0) {
      PxDot<P>::run(xb, row, full, be[i], a);
    } else {
      for (int p = 0; p < P; ++p) a[p] = be[i];
    }
    // The row's last partial word: the bytes past the row are the next
    // row's, met by zero activations; only the very last row reads bytes.
    const int8_t* last = row + 4 * full;
    const uint32_t wlast = last + 4 <= s.wend ? arm_dsp::load4(last) : partial_word(last, rem);
    PxDot<P>::tail(xtail, wlast, a);
    int8_t v[P];
#pragma GCC unroll 6
    for (int p = 0; p < P; ++p) v[p] = out_value<kKind>(a[p], s, i);
#pragma GCC unroll 6
    for (int p = 0; p < P; ++p) ob[p][i] = v[p];
  }
}

// K a multiple of 4: the whole channel loop in assembly (gemm_pxn_dsp.h);
// otherwise PxDot with the row's partial last word.
template <int P, int kKind>
void px_block(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
              const OutStage& s, int8_t* const* ob) {
  if ((K & 3) == 0) {
    const int32_t full = K >> 2;
    const PxFrame f{{ob[0], ob[P > 1 ? 1 : 0], ob[P > 2 ? 2 : 0], ob[P > 3 ? 3 : 0],
                     ob[P > 4 ? 4 : 0], ob[P > 5 ? 5 : 0]},
                    xb + 2 * P * full, xb, s.oc, be, s.add, w, w + static_cast<ptrdiff_t>(nc) * K};
    pxn_channels<P, kKind>((full - 1) & 3, &f);
    return;
  }
  px_channels<P, kKind>(xb, w, K, nc, be, s, ob);
}

// One unpacked pixel at xb x the block's nc channels, two channels at a time.
template <bool kAligned, int kKind>
void fc_block(const int32_t* xb, const int8_t* w, int32_t K, int32_t nc, const int32_t* be,
              const OutStage& s, int8_t* o) {
  int32_t done = 0;
  if (kAligned && (K & 7) == 0 && nc >= 3) {
    done = nc - nc % 3;
    const int32_t steps = K >> 3;
    const Fc3Frame f{xb, xb + 32 * (steps >> 3), xb + 4 * steps, w, K, be, s.oc, o, o + done,
                     s.add};
    if (kKind == kOutHigh) {
      fc3_high(&f);
    } else if (kKind == kOutRange) {
      fc3_range(&f);
    } else {
      fc3_plain(&f);
    }
    if (done == nc) return;
  }
  int32_t acc[kGemmChannelBlock];
  fc_rows<kAligned>(xb, w + static_cast<ptrdiff_t>(done) * K, K, nc - done, be + done, acc);
  for (int32_t i = done; i < nc; ++i) o[i] = out_value<kKind>(acc[i - done], s, i);
}

// The block's nc channels for the P unpacked pixels at xbuf (P = 1 reads
// the rows 2 at a time), outputs ob[p][i].
template <int kKind>
void block_channels(const int32_t* xbuf, int32_t P, const int8_t* w, int32_t K, int32_t nc,
                    const int32_t* be, const OutStage& s, int8_t* const* ob) {
  switch (P) {
    case 1:
      if (((reinterpret_cast<uintptr_t>(w) | static_cast<uintptr_t>(K)) & 3u) == 0) {
        fc_block<true, kKind>(xbuf, w, K, nc, be, s, ob[0]);
      } else {
        fc_block<false, kKind>(xbuf, w, K, nc, be, s, ob[0]);
      }
      break;
    case 2: px_block<2, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 3: px_block<3, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 4: px_block<4, kKind>(xbuf, w, K, nc, be, s, ob); break;
    case 5: px_block<5, kKind>(xbuf, w, K, nc, be, s, ob); break;
    default: px_block<6, kKind>(xbuf, w, K, nc, be, s, ob); break;
  }
}

#if TINYOPS_ARM_GEMM_PAIRS
// nsub unpacked S-pixel sub-blocks at xb (S = kPairSubPixels, expand_pixels
// with P = S, one after another) x the block's nc channels (rows w + i * K),
// two at a time through pair_sub_blocks with each pair's weights unpacked
// into pw; a lone last channel by the S-pixel blocks of the P-pixel path.
// Outputs ob[p][ch0 + i].
template <int kKind>
void pair_channels(const int32_t* xb, int32_t nsub, const int8_t* w, int32_t K, int32_t nc,
                   const int32_t* be, const OutStage& s, int8_t* const* ob, int32_t ch0,
                   int32_t* pw) {
  constexpr int32_t S = kPairSubPixels;
  const int32_t groups = (K + 3) >> 2;
  const ptrdiff_t sub_words = 2 * S * static_cast<ptrdiff_t>(groups);
  PairFrame f{xb, xb + sub_words * nsub, pw, pw + 4 * groups, nullptr, 0, 0, ob, 0, s.add};
  int32_t i = 0;
  for (; i + 2 <= nc; i += 2) {
    unpack_pair(w + static_cast<ptrdiff_t>(i) * K, w + static_cast<ptrdiff_t>(i + 1) * K, K, pw);
    f.oc = s.oc + i;
    f.be0 = be[i];
    f.be1 = be[i + 1];
    f.ch = ch0 + i;
    pair_sub_blocks<kKind>(groups, &f);
  }
  if (i == nc) return;
  const OutStage one{s.oc + i, s.add, s.wend};
  for (int32_t b = 0; b < nsub; ++b) {
    int8_t* os[S];
    for (int32_t p = 0; p < S; ++p) os[p] = ob[S * b + p] + ch0 + i;
    px_block<S, kKind>(xb + sub_words * b, w + static_cast<ptrdiff_t>(i) * K, K, 1, be + i, one,
                       os);
  }
}

inline void dispatch_pairs(OutKind kind, const int32_t* xb, int32_t nsub, const int8_t* w,
                           int32_t K, int32_t nc, const int32_t* be, const OutStage& s,
                           int8_t* const* ob, int32_t ch0, int32_t* pw) {
  if (kind == kOutHigh) {
    pair_channels<kOutHigh>(xb, nsub, w, K, nc, be, s, ob, ch0, pw);
  } else if (kind == kOutRange) {
    pair_channels<kOutRange>(xb, nsub, w, K, nc, be, s, ob, ch0, pw);
  } else {
    pair_channels<kOutPlain>(xb, nsub, w, K, nc, be, s, ob, ch0, pw);
  }
}
#endif

// Prepares the output-stage constants of tile channels [cb, cb + nc); false
// when one of them needs TFLM's generic stage.
inline bool block_constants(const GemmOut& o, const OutOp& op, int32_t cb, int32_t nc,
                            OutConst* oc) {
  if (!op.ok) return false;
  const OutConstMaker maker(op);
  for (int32_t i = 0; i < nc; ++i) {
    if (!maker.make(o.multiplier[cb + i], o.left_shift[cb + i], o.right_shift[cb + i], &oc[i])) {
      return false;
    }
  }
  return true;
}

inline void dispatch_block(OutKind kind, const int32_t* xbuf, int32_t P, const int8_t* w,
                           int32_t K, int32_t nc, const int32_t* be, const OutStage& s,
                           int8_t* const* ob) {
  if (kind == kOutHigh) {
    block_channels<kOutHigh>(xbuf, P, w, K, nc, be, s, ob);
  } else if (kind == kOutRange) {
    block_channels<kOutRange>(xbuf, P, w, K, nc, be, s, ob);
  } else {
    block_channels<kOutPlain>(xbuf, P, w, K, nc, be, s, ob);
  }
}

// Where the GEMM's pixels come from: pointers to K contiguous int8 each
// (1x1 convolutions, FULLY_CONNECTED), or gathered on the fly (im2col).
struct GemmSource {
  // Unpacks pixels [p0, p0 + P) into buf (the expand_pixels layout).
  void (*unpack)(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf);
  // Pointers to pixels [p0, p0 + P) as K contiguous int8, P <= kGemmRawPixels.
  void (*raw)(const void* ctx, int32_t p0, int32_t P, const int8_t** xs);
  const void* ctx;
};
constexpr int32_t kGemmRawPixels = 8;

inline void pointer_unpack(const void* ctx, int32_t p0, int32_t P, int32_t K, int32_t* buf) {
  expand_pixels(static_cast<const int8_t* const*>(ctx) + p0, P, K, buf);
}
inline void pointer_raw(const void* ctx, int32_t p0, int32_t P, const int8_t** xs) {
  for (int32_t p = 0; p < P; ++p) xs[p] = static_cast<const int8_t* const*>(ctx)[p0 + p];
}

// Neither operand unpacked, TFLM's generic output stage where needed: channel
// blocks with a multiplier out of the fast stage's range, and pixels too deep
// for the unpacking scratch (K > 3072). Plain SMLAD loops; such layers are rare.
inline void raw_block(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K,
                      int32_t cb, int32_t nc, const int32_t* be, const GemmOut& o,
                      const OutConst* oc, bool fast, OutKind kind, int32_t add,
                      int8_t* const* outs) {
  using namespace arm_dsp;
  const int8_t* xs[kGemmRawPixels];
  for (int32_t p0 = 0; p0 < npix; p0 += kGemmRawPixels) {
    const int32_t np = npix - p0 < kGemmRawPixels ? npix - p0 : kGemmRawPixels;
    src.raw(src.ctx, p0, np, xs);
    for (int32_t p = 0; p < np; ++p) {
      const int8_t* x = xs[p];
      for (int32_t i = 0; i < nc; ++i) {
        const int8_t* row = w + static_cast<ptrdiff_t>(cb + i) * K;
        int32_t a = be[cb + i];
        int32_t k = 0;
        for (; k + 4 <= K; k += 4) {
          const uint32_t xv = load4(x + k), wv = load4(row + k);
          a = __smlad(even16(xv), even16(wv), a);
          a = __smlad(odd16(xv), odd16(wv), a);
        }
        for (; k < K; ++k) {
          a = static_cast<int32_t>(static_cast<uint32_t>(a) +
                                   static_cast<uint32_t>(static_cast<int32_t>(x[k]) * row[k]));
        }
        int32_t v;
        if (fast) {
          const OutConst& c = oc[i];
          v = kind == kOutRange  ? out_apply<Prims, kOutRange>(a, c.m2, c.round, c.shift, c.sub, add)
              : kind == kOutHigh ? out_apply<Prims, kOutHigh>(a, c.m2, c.round, c.shift, c.sub, add)
                                 : out_apply<Prims, kOutPlain>(a, c.m2, c.round, c.shift, c.sub, add);
        } else {
          v = out_generic(a, o, cb + i);
        }
        outs[p0 + p][cb + i] = static_cast<int8_t>(v);
      }
    }
  }
}

// The GEMM's channel blocks of `cblock` channels: body(cb, nc, stage, rows)
// for those whose output-stage constants the fast stage takes (and not
// `raw`), raw_block for the others.
template <class Body>
inline void for_channel_blocks(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K,
                               int32_t nch, int32_t cblock, const int32_t* bias_eff,
                               const GemmOut& o, const OutOp& op, OutConst* oc,
                               int8_t* const* outs, bool raw, Body body) {
  const int32_t add = o.act_min + 128;
  for (int32_t cb = 0; cb < nch; cb += cblock) {
    const int32_t nc = nch - cb < cblock ? nch - cb : cblock;
    const bool fast = block_constants(o, op, cb, nc, oc);
    if (!fast || raw) {
      raw_block(src, npix, w, K, cb, nc, bias_eff, o, oc, fast, op.kind, add, outs);
      continue;
    }
    const OutStage s{oc, add, w + static_cast<ptrdiff_t>(nch) * K};
    body(cb, nc, s, w + static_cast<ptrdiff_t>(cb) * K);
  }
}

#if TINYOPS_ARM_GEMM_PAIRS
// gemm() on the pair path when it pays: pixels in blocks of whole S-pixel
// sub-blocks (S = kPairSubPixels; as many as fit the stack buffer `local`),
// at least kPairMinPixels a block; the last npix % S pixels with S more by
// one block of the P-pixel path (alone where that would exceed its 6). Each
// pair's unpacked weights (2 pixels' bytes) go to the plan's unpacking
// scratch on the Cortex-M4, and ahead of the pixels in `local` on the
// Cortex-M7 (DTCM, where its D-cache cannot evict them; its pair4_* reads
// 12 bytes past them). False: not taken, nothing done.
inline bool pair_gemm(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K,
                      int32_t nch, const int32_t* bias_eff, const GemmOut& o,
                      int8_t* const* outs, OutConst* oc, int32_t* local, uint32_t room,
                      int32_t* scratch, uint32_t scratch_bytes) {
  constexpr int32_t S = kPairSubPixels;
  const int32_t upb = unpacked_pixel_bytes(K);
#if defined(TINYOPS_CORTEX_M7)
  (void)scratch;
  (void)scratch_bytes;
  const uint32_t pw_bytes = 2u * static_cast<uint32_t>(upb) + 16u;
  if (room < pw_bytes) return false;
  int32_t* const pw = local;
  int32_t* const xbuf = local + pw_bytes / 4;
  const int32_t fit = static_cast<int32_t>((room - pw_bytes) / static_cast<uint32_t>(upb));
#else
  if (scratch_bytes < 2u * static_cast<uint32_t>(upb)) return false;
  int32_t* const pw = scratch;
  int32_t* const xbuf = local;
  const int32_t fit = static_cast<int32_t>(room / static_cast<uint32_t>(upb));
#endif
  const int32_t most = fit / S * S;
  const int32_t r = npix % S;
  const int32_t rest = r == 0 ? 0 : r + S <= kGemmMaxPixels ? r + S : r;
  const int32_t paired = npix - rest;
  if (most < kPairMinPixels || paired < kPairMinPixels || nch < 2) return false;
  const OutOp op = out_op(o.output_offset, o.act_min, o.act_max, /*plain=*/true);
  if (!op.ok) return false;
  const int32_t subs = paired / S, sub_words = 2 * S * ((K + 3) >> 2);
  // Blocks of nearly equal numbers of sub-blocks.
  const int32_t nblocks = (subs + most / S - 1) / (most / S);
  const int32_t base = subs / nblocks, extra = subs % nblocks;
  const bool once = nblocks == 1 && rest == 0;
  if (once) {
    for (int32_t b = 0; b < subs; ++b) src.unpack(src.ctx, S * b, S, K, xbuf + sub_words * b);
  }
  int8_t* ob[kGemmMaxPixels];
  const auto body = [&](int32_t cb, int32_t nc, const OutStage& s, const int8_t* wb) {
    int32_t p0 = 0;
    for (int32_t b = 0; b < nblocks; ++b) {
      const int32_t n = base + (b < extra ? 1 : 0);
      if (!once) {
        for (int32_t j = 0; j < n; ++j) src.unpack(src.ctx, p0 + S * j, S, K, xbuf + sub_words * j);
      }
      dispatch_pairs(op.kind, xbuf, n, wb, K, nc, bias_eff + cb, s, outs + p0, cb, pw);
      p0 += S * n;
    }
    if (rest) {
      src.unpack(src.ctx, p0, rest, K, xbuf);
      for (int32_t p = 0; p < rest; ++p) ob[p] = outs[p0 + p] + cb;
      dispatch_block(op.kind, xbuf, rest, wb, K, nc, bias_eff + cb, s, ob);
    }
  };
  for_channel_blocks(src, npix, w, K, nch, kGemmChannelBlock, bias_eff, o, op, oc, outs, false,
                     body);
  return true;
}
#endif

// The whole GEMM + output stage: npix pixels from src (K int8 each), the nch
// weight rows at w, bias_eff[nch], outputs outs[p][0 .. nch). oc: scratch for
// kGemmChannelBlock OutConst; xbuf / xbuf_bytes: scratch for the unpacked
// pixels (16-byte aligned).
inline void gemm(const GemmSource& src, int32_t npix, const int8_t* w, int32_t K, int32_t nch,
                 const int32_t* bias_eff, const GemmOut& o, int8_t* const* outs, OutConst* oc,
                 int32_t* xbuf, uint32_t xbuf_bytes) {
  // The unpacked pixels are read again for every channel. The firmware ports
  // keep the stack in tightly coupled RAM (DTCM on the Cortex-M7, CCM on the
  // M4): there the M7 reads them without its 4 KB D-cache, which they and
  // the weight rows streaming past would overflow (every line a miss, about
  // as many stall cycles as MACs at K = 960). The scratch stays reserved, so
  // plans do not depend on this.
  // The stack buffer is larger than the plan's scratch, so deep rows get
  // more pixels a block (K > 3072, no scratch: the raw path as planned).
  alignas(16) int32_t local[kGemmStackUnpackedBytes / 4];
  int32_t* const scratch = xbuf;
  uint32_t room = xbuf_bytes;
  if (xbuf_bytes != 0 && xbuf_bytes <= sizeof(local)) {
    xbuf = local;
    room = sizeof(local);
  }
  const uint32_t fit = room / static_cast<uint32_t>(unpacked_pixel_bytes(K));
#if TINYOPS_ARM_GEMM_PAIRS
  if (xbuf == local &&
      pair_gemm(src, npix, w, K, nch, bias_eff, o, outs, oc, local, room, scratch, xbuf_bytes)) {
    return;
  }
#else
  (void)scratch;
#endif
  const int32_t max_pixels = fit > kGemmMaxPixels ? kGemmMaxPixels : static_cast<int32_t>(fit);
  const OutOp op = out_op(o.output_offset, o.act_min, o.act_max, /*plain=*/true);
  // Blocks of nearly equal size, so no block is left with a single pixel.
  const int32_t nblocks = max_pixels > 0 ? (npix + max_pixels - 1) / max_pixels : 0;
  const int32_t base = nblocks ? npix / nblocks : 0, extra = nblocks ? npix % nblocks : 0;
  int8_t* ob[kGemmMaxPixels];
  // One pixel block: unpack it once for all channel blocks.
  if (nblocks == 1) src.unpack(src.ctx, 0, npix, K, xbuf);
  // One pixel: blocks of whole channel triples (fc3_*).
  const int32_t cblock = npix == 1 ? kGemmChannelBlock - kGemmChannelBlock % 3 : kGemmChannelBlock;
  const auto body = [&](int32_t cb, int32_t nc, const OutStage& s, const int8_t* wb) {
    int32_t p0 = 0;
    for (int32_t b = 0; b < nblocks; ++b) {
      const int32_t P = base + (b < extra ? 1 : 0);
      if (nblocks > 1) src.unpack(src.ctx, p0, P, K, xbuf);
      for (int32_t p = 0; p < P; ++p) ob[p] = outs[p0 + p] + cb;
      dispatch_block(op.kind, xbuf, P, wb, K, nc, bias_eff + cb, s, ob);
      p0 += P;
    }
  };
  for_channel_blocks(src, npix, w, K, nch, cblock, bias_eff, o, op, oc, outs, nblocks == 0, body);
}

inline void gemm(const int8_t* const* xs, int32_t npix, const int8_t* w, int32_t K, int32_t nch,
                 const int32_t* bias_eff, const GemmOut& o, int8_t* const* outs, OutConst* oc,
                 int32_t* xbuf, uint32_t xbuf_bytes) {
  const GemmSource src{pointer_unpack, pointer_raw, xs};
  gemm(src, npix, w, K, nch, bias_eff, o, outs, oc, xbuf, xbuf_bytes);
}

#undef TINYOPS_ARM_INLINE

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
