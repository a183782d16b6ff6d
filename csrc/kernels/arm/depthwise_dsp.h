// Arm DSP-extension DEPTHWISE_CONV_2D (Cortex-M4 / Cortex-M7) for square
// KH = KW in {3, 5, 7} windows, horizontal stride 1 or 2, any vertical
// stride, no dilation, any channel count and depth multiplier. Private to
// csrc/kernels; depthwise_conv.cc dispatches here (dw_dsp_supported).
//
// Why it is fast: SMLAD multiplies two int16 pairs, so a depthwise tap pair
// needs one channel's inputs at two neighbouring columns in one word. Each
// input row is rearranged ONCE per group of 4 input channels ("unpacked",
// about 1.5 instructions per byte) into column pairs: for padded columns
// (2j, 2j + 1), word c holds channel c's (x[2j], x[2j+1]) as int16. Then,
// for two neighbouring output pixels x, x + 1 of one channel and a kernel
// row w0 .. w(2H) (KW = 2H + 1), stride 1, with P(k) the pair k pairs right:
//   out(x)   = sum_k<H SMLAD(P(k), (w2k, w2k+1))  + SMLABT(P(H), (w2H-1, w2H))
//   out(x+1) = SMLATB(P(0), (w0, w1)) + sum_1<=k<=H SMLAD(P(k), (w2k-1, w2k))
// -- KW + 1 instructions for 2 KW MACs, KW - 1 weight words a row, each input
// word loaded once for both pixels (the overlapping columns are shared).
// Stride 2 pairs columns (2x, 2x + 1):
//   out(x) = sum_k<H SMLAD(P(x + k), (w2k, w2k+1)) + SMLABT(P(x + H), (., w2H)).
// A channel group's weights are packed once per tile; an output row reads KH
// unpacked rows from a ring of KH slots, so an input row is unpacked once
// however many output rows read it.
//
// Exactness (as conv_common.h): taps outside the image read the input zero
// point (x + input_offset = 0), so every pixel accumulates all KH * KW taps:
// acc = bias + input_offset * sum(all weights) + pure int8 products (at most
// 49 of |x * w| <= 2^14), equal to TFLM's sum mod 2^32. The output stage is
// arm/output_stage.h's exact form, or TFLM's generic one.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/arm/output_stage.h"
#include "kernels/arm_dsp.h"

namespace tinyops {
namespace arm_kernels {

// Bytes of unpacked-row ring; wider output rows run in column chunks.
constexpr uint32_t kDwRingBytes = 4096;

// Whether the Arm DSP depthwise loops handle this geometry.
inline bool dw_dsp_supported(int32_t kh, int32_t kw, int32_t sw, int32_t dh, int32_t dw,
                             int32_t mult) {
  return kh == kw && (kw == 3 || kw == 5 || kw == 7) && (sw == 1 || sw == 2) && dh == 1 &&
         dw == 1 && mult >= 1 && mult <= 16;
}

// Input channels unpacked together (a compile-time stride of the ring):
// more for small windows, whose per-row bookkeeping weighs more.
constexpr int32_t dw_group(int32_t kh) { return kh == 3 ? 16 : (kh == 5 ? 8 : 4); }

// Weight words per kernel row.
constexpr int32_t dw_row_words(int32_t kw, int32_t sw) { return sw == 1 ? kw - 1 : kw / 2 + 1; }

// Scratch for one channel group's packed weights: dw_group * depth_multiplier
// channels x 2 KH rows (the ring's rotations) x dw_row_words words.
inline uint32_t dw_weight_bytes(int32_t kh, int32_t kw, int32_t sw, int32_t mult) {
  return static_cast<uint32_t>(dw_group(kh) * mult) * static_cast<uint32_t>(2 * kh) *
         static_cast<uint32_t>(dw_row_words(kw, sw)) * 4u;
}

// Column pairs an output row of out_w pixels reads.
inline int32_t dw_row_pairs(int32_t kw, int32_t sw, int32_t out_w) {
  return sw == 1 ? (out_w + 1) / 2 + kw / 2 : out_w + kw / 2;
}

// Scratch for the unpacked-row ring: KH slots of the row's pairs
// (dw_group words a pair), at most kDwRingBytes.
inline uint32_t dw_ring_bytes(int32_t kh, int32_t kw, int32_t sw, int32_t out_w) {
  const uint32_t need = static_cast<uint32_t>(kh * dw_group(kh)) * 4u *
                        static_cast<uint32_t>(dw_row_pairs(kw, sw, out_w));
  return need < kDwRingBytes ? need : kDwRingBytes;
}

}  // namespace arm_kernels
}  // namespace tinyops

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))

// Per tile channel: the accumulator's start value, bias + input_offset *
// (sum of all the channel's weights), and the output-stage constants.
struct DwConst {
  int32_t bias;
  OutConst out;
};

// The tile as the loops see it. Channel indices are tile-relative: output
// channel oc0 + i is i here.
struct DwTile {
  int32_t in_h, in_w, in_c;
  int32_t out_w;
  int32_t kh, kw, sh, sw, mult;
  int32_t pad_top, pad_left;
  const int8_t* in;         // input band
  int32_t in_row0;          // its first image row
  const int8_t* filter;     // full [1][KH][KW][OC] filter
  int32_t oc_total;         // OC
  int32_t oc0, noc;         // tile output channels [oc0, oc0 + noc)
  int8_t* out;              // output row y at out + (y - row_begin) * row_stride
  int32_t row_begin, row_end, row_stride, pixel_stride;
  uint32_t zp4;             // input zero point in every byte
  const DwConst* cst;       // [noc] per-channel start value and output-stage constants
  int32_t add;              // act_min + 128
  int32_t* wext;            // dw_weight_bytes scratch
  int32_t* ring;            // dw_ring_bytes scratch
  uint32_t ring_bytes;
  const int8_t* zpbuf;      // 16 bytes of the input zero point
};

TINYOPS_ARM_INLINE int32_t pack16(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xffffu) |
                              (static_cast<uint32_t>(hi) << 16));
}

// ---------------------------------------------------------------------------
// One output channel, one, two or four pixels. The ring holds, for pair j
// and slot s, G channel words: q points at this channel's word of pair 0,
// slot 0, so pair j, slot s is q[(j * KH + s) * G]. w: the channel's packed
// weights in slot order (slot s's row at w + s * NW).
template <int KH, int KW, int SW, int G>
struct DwChannel {
  static constexpr int H = KW / 2;
  static constexpr int NW = SW == 1 ? KW - 1 : H + 1;

  static TINYOPS_ARM_INLINE int32_t P(const int32_t* q, int s, int j) {
    return q[(j * KH + s) * G];
  }

  static TINYOPS_ARM_INLINE void two(const int32_t* q, const int32_t* w, int32_t bias, int32_t& r0,
                                     int32_t& r1) {
    int32_t a0 = bias, a1 = bias;
#pragma GCC unroll 7
    for (int s = 0; s < KH; ++s) {
      const int32_t* ws = w + s * NW;
      if (SW == 1) {
        int32_t p[H + 1];
#pragma GCC unroll 4
        for (int k = 0; k <= H; ++k) p[k] = P(q, s, k);
        a1 = __smlatb(p[0], ws[0], a1);
#pragma GCC unroll 4
        for (int k = 0; k < H; ++k) a0 = __smlad(p[k], ws[k], a0);
#pragma GCC unroll 4
        for (int k = 1; k <= H; ++k) a1 = __smlad(p[k], ws[H + k - 1], a1);
        a0 = __smlabt(p[H], ws[2 * H - 1], a0);
      } else {
        int32_t p[H + 2];
#pragma GCC unroll 5
        for (int k = 0; k <= H + 1; ++k) p[k] = P(q, s, k);
#pragma GCC unroll 4
        for (int k = 0; k < H; ++k) {
          a0 = __smlad(p[k], ws[k], a0);
          a1 = __smlad(p[k + 1], ws[k], a1);
        }
        a0 = __smlabt(p[H], ws[H], a0);
        a1 = __smlabt(p[H + 1], ws[H], a1);
      }
    }
    r0 = a0;
    r1 = a1;
  }

  // Pixels x .. x + 3 (stride 1: pairs 0 .. H + 1; stride 2: 0 .. H + 3).
  static TINYOPS_ARM_INLINE void four(const int32_t* q, const int32_t* w, int32_t bias,
                                      int32_t (&r)[4]) {
    int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
#pragma GCC unroll 7
    for (int s = 0; s < KH; ++s) {
      const int32_t* ws = w + s * NW;
      if (SW == 1) {
        // Pixels x, x + 1 start at pair 0, pixels x + 2, x + 3 at pair 1.
        int32_t p[H + 2];
#pragma GCC unroll 5
        for (int k = 0; k <= H + 1; ++k) p[k] = P(q, s, k);
        a1 = __smlatb(p[0], ws[0], a1);
        a3 = __smlatb(p[1], ws[0], a3);
#pragma GCC unroll 4
        for (int k = 0; k < H; ++k) {
          a0 = __smlad(p[k], ws[k], a0);
          a2 = __smlad(p[k + 1], ws[k], a2);
        }
#pragma GCC unroll 4
        for (int k = 1; k <= H; ++k) {
          a1 = __smlad(p[k], ws[H + k - 1], a1);
          a3 = __smlad(p[k + 1], ws[H + k - 1], a3);
        }
        a0 = __smlabt(p[H], ws[2 * H - 1], a0);
        a2 = __smlabt(p[H + 1], ws[2 * H - 1], a2);
      } else {
        int32_t p[H + 4];
#pragma GCC unroll 7
        for (int k = 0; k <= H + 3; ++k) p[k] = P(q, s, k);
#pragma GCC unroll 4
        for (int k = 0; k < H; ++k) {
          a0 = __smlad(p[k], ws[k], a0);
          a1 = __smlad(p[k + 1], ws[k], a1);
          a2 = __smlad(p[k + 2], ws[k], a2);
          a3 = __smlad(p[k + 3], ws[k], a3);
        }
        a0 = __smlabt(p[H], ws[H], a0);
        a1 = __smlabt(p[H + 1], ws[H], a1);
        a2 = __smlabt(p[H + 2], ws[H], a2);
        a3 = __smlabt(p[H + 3], ws[H], a3);
      }
    }
    r[0] = a0;
    r[1] = a1;
    r[2] = a2;
    r[3] = a3;
  }

  static TINYOPS_ARM_INLINE int32_t one(const int32_t* q, const int32_t* w, int32_t bias) {
    int32_t a0 = bias;
#pragma GCC unroll 7
    for (int s = 0; s < KH; ++s) {
      const int32_t* ws = w + s * NW;
#pragma GCC unroll 4
      for (int k = 0; k < H; ++k) a0 = __smlad(P(q, s, k), ws[k], a0);
      a0 = __smlabt(P(q, s, H), ws[SW == 1 ? 2 * H - 1 : H], a0);
    }
    return a0;
  }
};

// ---------------------------------------------------------------------------
// Unpacking one input row into a ring slot.

// Column pair (a, b) of 4 channels as the channels' words (a_c, b_c).
TINYOPS_ARM_INLINE void dw_store_pair(uint32_t a, uint32_t b, int32_t* d) {
  using namespace arm_dsp;
  const uint32_t lo = pack_low_halves(a, b), hi = pack_high_halves(a, b);
  d[0] = even16(lo);
  d[1] = odd16(lo);
  d[2] = even16(hi);
  d[3] = odd16(hi);
}

// The interior of dw_unpack_row: n column pairs of G channels from pa
// (pixel stride c bytes) into the ring at d (KH * G words a pair). Per 4
// channels: 2 LDR, PKHBT / PKHTB, 4 SXTB16 and one STM of the 4 words, which
// needs fixed ascending registers (r0-r3), hence out of line.
#define TINYOPS_DW_UNPACK4(k)                            \
  "ldr    %[a], [%[pa], #" #k "*4]\n\t"                  \
  "ldr    %[b], [%[pb], #" #k "*4]\n\t"                  \
  "pkhtb  %[t], %[b], %[a], asr #16\n\t"                 \
  "pkhbt  %[a], %[a], %[b], lsl #16\n\t"                 \
  "sxtb16 %[r0], %[a]\n\t"                               \
  "sxtb16 %[r1], %[a], ror #8\n\t"                       \
  "sxtb16 %[r2], %[t]\n\t"                               \
  "sxtb16 %[r3], %[t], ror #8\n\t"                       \
  "stmia  %[d]!, {%[r0], %[r1], %[r2], %[r3]}\n\t"
#define TINYOPS_DW_UNPACK_N1 TINYOPS_DW_UNPACK4(0)
#define TINYOPS_DW_UNPACK_N2 TINYOPS_DW_UNPACK_N1 TINYOPS_DW_UNPACK4(1)
#define TINYOPS_DW_UNPACK_N3 TINYOPS_DW_UNPACK_N2 TINYOPS_DW_UNPACK4(2)
#define TINYOPS_DW_UNPACK_N4 TINYOPS_DW_UNPACK_N3 TINYOPS_DW_UNPACK4(3)
#define TINYOPS_DW_UNPACK_LOOP(BODY)                                                           \
  __asm__ volatile("1:\n\t" BODY                                                               \
                   "add    %[pa], %[pa], %[c2]\n\t"                                             \
                   "add    %[pb], %[pb], %[c2]\n\t"                                             \
                   "add    %[d], %[d], %[skip]\n\t"                                             \
                   "cmp    %[d], %[dend]\n\t"                                                   \
                   "bne    1b\n\t"                                                              \
                   : [pa] "+r"(pa), [pb] "+r"(pb), [d] "+r"(d), [a] "=&r"(a), [b] "=&r"(b),   \
                     [t] "=&r"(t), [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2),             \
                     [r3] "=&r"(r3)                                                             \
                   : [c2] "r"(c2), [skip] "r"(skip), [dend] "r"(dend)                           \
                   : "cc", "memory")
// NSUB 4-channel words of each pair (a group's channels, a multiple of 4).
template <int KH, int G, int NSUB>
__attribute__((noinline)) void dw_unpack_pairs(const int8_t* pa, int32_t c, int32_t* d,
                                               int32_t n) {
  register int32_t r0 __asm__("r0");
  register int32_t r1 __asm__("r1");
  register int32_t r2 __asm__("r2");
  register int32_t r3 __asm__("r3");
  int32_t a, b, t;
  const int8_t* pb = pa + c;
  const int32_t c2 = 2 * c;
  const int32_t skip = (KH * G - 4 * NSUB) * 4;  // bytes from the last word to the next pair
  int32_t* const dend = d + n * KH * G;
  if (NSUB == 4) {
    TINYOPS_DW_UNPACK_LOOP(TINYOPS_DW_UNPACK_N4);
  } else if (NSUB == 3) {
    TINYOPS_DW_UNPACK_LOOP(TINYOPS_DW_UNPACK_N3);
  } else if (NSUB == 2) {
    TINYOPS_DW_UNPACK_LOOP(TINYOPS_DW_UNPACK_N2);
  } else {
    TINYOPS_DW_UNPACK_LOOP(TINYOPS_DW_UNPACK_N1);
  }
}

// The interior pairs for nc (a multiple of 4, <= G) channels.
template <int KH, int G>
TINYOPS_ARM_INLINE void dw_unpack_interior(const int8_t* pa, int32_t c, int32_t* d, int32_t n,
                                           int32_t nc) {
  switch (nc >> 2) {
    case 1: dw_unpack_pairs<KH, G, 1>(pa, c, d, n); break;
    case 2: dw_unpack_pairs<KH, G, (G >= 8 ? 2 : 1)>(pa, c, d, n); break;
    case 3: dw_unpack_pairs<KH, G, (G >= 12 ? 3 : 1)>(pa, c, d, n); break;
    default: dw_unpack_pairs<KH, G, G / 4>(pa, c, d, n); break;
  }
}

// Unpacks image row iy (zero point when outside the image), padded columns
// [q0, q0 + 2 * npairs), input channels [ci, ci + nc) (nc <= G), into slot s.
// Columns outside the image read zpbuf (G bytes of the zero point).
template <int KH, int G>
void dw_unpack_row(const DwTile& t, int32_t iy, int32_t ci, int32_t nc, int32_t q0,
                   int32_t npairs, int32_t s, const int8_t* zpbuf) {
  using namespace arm_dsp;
  int32_t* d = t.ring + s * G;
  constexpr int32_t step = KH * G;  // words between pairs
  const int32_t ix0 = q0 - t.pad_left;  // image column of pair 0's first column
  const int32_t c = t.in_c;
  const bool row_in = iy >= 0 && iy < t.in_h;
  const int8_t* src =
      row_in ? t.in + static_cast<ptrdiff_t>(iy - t.in_row0) * t.in_w * c + ci : zpbuf;
  auto pixel = [&](int32_t ix) -> const int8_t* {
    return row_in && ix >= 0 && ix < t.in_w ? src + static_cast<ptrdiff_t>(ix) * c : zpbuf;
  };
  if ((nc & 3) == 0) {
    // Pairs whose two columns are inside the image: [ja, jb).
    int32_t ja = 0, jb = 0;
    if (row_in) {
      ja = ix0 >= 0 ? 0 : (1 - ix0) / 2;
      jb = t.in_w - ix0 >= 2 ? (t.in_w - ix0) / 2 : 0;
      jb = jb < npairs ? jb : npairs;
      ja = ja < jb ? ja : jb;
    }
    const int32_t nsub = nc >> 2;
    auto edge = [&](int32_t j) {
      const int8_t* a = pixel(ix0 + 2 * j);
      const int8_t* b = pixel(ix0 + 2 * j + 1);
      for (int32_t k = 0; k < nsub; ++k) dw_store_pair(load4(a + 4 * k), load4(b + 4 * k), d + 4 * k);
    };
    int32_t j = 0;
    for (; j < ja; ++j, d += step) edge(j);
    if (j < jb) {
      dw_unpack_interior<KH, G>(src + static_cast<ptrdiff_t>(ix0 + 2 * j) * c, c, d, jb - j, nc);
      d += (jb - j) * step;
      j = jb;
    }
    for (; j < npairs; ++j, d += step) edge(j);
    return;
  }
  // A partial group: whole 4-channel words, then bytes for the last nc % 4
  // channels (never read past the last channel; the rest is the zero point).
  const int32_t full = nc >> 2, rest = nc & 3;
  auto partial = [&](const int8_t* px) -> uint32_t {
    uint32_t v = t.zp4;
    for (int32_t i = 0; i < rest; ++i) {
      v = (v & ~(0xffu << (8 * i))) |
          (static_cast<uint32_t>(static_cast<uint8_t>(px[4 * full + i])) << (8 * i));
    }
    return v;
  };
  for (int32_t j = 0; j < npairs; ++j, d += step) {
    const int8_t* a = pixel(ix0 + 2 * j);
    const int8_t* b = pixel(ix0 + 2 * j + 1);
    for (int32_t k = 0; k < full; ++k) dw_store_pair(load4(a + 4 * k), load4(b + 4 * k), d + 4 * k);
    if (rest) dw_store_pair(partial(a), partial(b), d + 4 * full);
  }
}

// ---------------------------------------------------------------------------

// Packs the weights of tile channels [g0, g0 + ng) into t.wext: channel i,
// row r (and r + KH, the same) at wext + (i * 2 KH + r) * NW.
template <int KH, int KW, int SW>
void dw_pack_weights(const DwTile& t, int32_t g0, int32_t ng) {
  using namespace arm_dsp;
  constexpr int H = KW / 2;
  constexpr int NW = SW == 1 ? KW - 1 : H + 1;
  const int32_t OC = t.oc_total;
  int32_t i = 0;
  // Four channels at a time: the 4 channels' tap words, paired like the
  // input columns (dw_store_pair), stored straight to both row copies.
  for (; i + 4 <= ng; i += 4) {
    const int8_t* f = t.filter + t.oc0 + g0 + i;
    int32_t* w = t.wext + i * 2 * KH * NW;
#pragma GCC unroll 1
    for (int r = 0; r < KH; ++r, f += KW * OC) {
      uint32_t tap[KW];
#pragma GCC unroll 7
      for (int k = 0; k < KW; ++k) tap[k] = load4(f + static_cast<ptrdiff_t>(k) * OC);
#pragma GCC unroll 6
      for (int k = 0; k < NW; ++k) {
        // Slot k pairs taps (a, b): E_k = (2k, 2k+1) for k < H, then
        // O = (2k'-1, 2k') (stride 1) or (-, 2H) (stride 2).
        const int ka = k < H ? 2 * k : (SW == 1 ? 2 * (k - H + 1) - 1 : -1);
        const int kb = k < H ? 2 * k + 1 : (SW == 1 ? 2 * (k - H + 1) : 2 * H);
        const uint32_t a = ka >= 0 ? tap[ka] : 0u, b = tap[kb];
        const uint32_t lo = pack_low_halves(a, b), hi = pack_high_halves(a, b);
        const int32_t v[4] = {even16(lo), odd16(lo), even16(hi), odd16(hi)};
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          w[(c * 2 * KH + r) * NW + k] = v[c];
          w[(c * 2 * KH + r + KH) * NW + k] = v[c];
        }
      }
    }
  }
  for (; i < ng; ++i) {
    const int8_t* f = t.filter + t.oc0 + g0 + i;
    int32_t* w = t.wext + i * 2 * KH * NW;
    for (int r = 0; r < KH; ++r) {
      int32_t tap[KW];
      for (int k = 0; k < KW; ++k) tap[k] = f[static_cast<ptrdiff_t>(r * KW + k) * OC];
      int32_t* wr = w + r * NW;
      for (int k = 0; k < H; ++k) wr[k] = pack16(tap[2 * k], tap[2 * k + 1]);
      if (SW == 1) {
        for (int k = 1; k <= H; ++k) wr[H + k - 1] = pack16(tap[2 * k - 1], tap[2 * k]);
      } else {
        wr[H] = pack16(0, tap[2 * H]);
      }
      for (int k = 0; k < NW; ++k) wr[KH * NW + k] = wr[k];
    }
  }
}

template <int kKind>
TINYOPS_ARM_INLINE int8_t dw_out(int32_t acc, const OutConst& c, int32_t add) {
  return static_cast<int8_t>(
      out_apply<arm_dsp::Prims, kKind>(acc, c.m2, c.round, c.shift, c.sub, add));
}

// ---------------------------------------------------------------------------
// 3x3 windows (the common case): the 4-pixel channel step in assembly, the
// whole channel loop of one step in one call. Per channel at stride 1: the
// bias, per kernel row three pair words, the row's two weight words (LDRD)
// and 8 MACs, then the output stage of the 4 pixels and 4 byte stores -- 72
// instructions for 36 MACs. Stride 2 streams the row's five pair words
// through two registers. The compiler allocates the 14 registers only out of
// line; a lone call per 4 pixels x up to 16 channels.
#define TINYOPS_DW_OFF(j, s) "#((" #j "*3+" #s ")*64)"
// Stride 1, kernel row s: pixels x (pairs 0, 1), x + 1, x + 2 (1, 2), x + 3.
#define TINYOPS_DW3_S1_ROW(s, WLD, A1, A3, A2, A0)                               \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, s) "]\n\t"                          \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"                          \
  "ldr    %[x2], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t"                          \
  WLD                                                                            \
  "smlatb %[a1], %[x0], %[w0], %[" A1 "]\n\t"                                   \
  "smlatb %[a3], %[x1], %[w0], %[" A3 "]\n\t"                                   \
  "smlad  %[a2], %[x1], %[w0], %[" A2 "]\n\t"                                   \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlad  %[a1], %[x1], %[w1], %[a1]\n\t"                                       \
  "smlad  %[a3], %[x2], %[w1], %[a3]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "smlabt %[a2], %[x2], %[w1], %[a2]\n\t"
// Stride 2, kernel row s: pixel k reads pairs k (E) and k + 1 (bottom x O).
#define TINYOPS_DW3_S2_ROW(s, WLD, A0, A1, A2, A3)                               \
  WLD                                                                            \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, s) "]\n\t"                          \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"                          \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t"                          \
  "smlad  %[a1], %[x1], %[w0], %[" A1 "]\n\t"                                   \
  "smlabt %[a1], %[x0], %[w1], %[a1]\n\t"                                       \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(3, s) "]\n\t"                          \
  "smlad  %[a2], %[x0], %[w0], %[" A2 "]\n\t"                                   \
  "smlabt %[a2], %[x1], %[w1], %[a2]\n\t"                                       \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(4, s) "]\n\t"                          \
  "smlad  %[a3], %[x1], %[w0], %[" A3 "]\n\t"                                   \
  "smlabt %[a3], %[x0], %[w1], %[a3]\n\t"
// Row 0 loads the channel's weights with post-increment to the next channel
// (12 words on), rows 1 and 2 relative to that.
#define TINYOPS_DW3_W0 "ldrd   %[w0], %[w1], [%[w]], #48\n\t"
#define TINYOPS_DW3_W1 "ldrd   %[w0], %[w1], [%[w], #-40]\n\t"
#define TINYOPS_DW3_W2 "ldrd   %[w0], %[w1], [%[w], #-32]\n\t"
#define TINYOPS_DW3_BODY_S1                                                      \
  "ldr    %[a0], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S1_ROW(0, TINYOPS_DW3_W0, "a0", "a0", "a0", "a0")                  \
  TINYOPS_DW3_S1_ROW(1, TINYOPS_DW3_W1, "a1", "a3", "a2", "a0")                  \
  TINYOPS_DW3_S1_ROW(2, TINYOPS_DW3_W2, "a1", "a3", "a2", "a0")
// Stride 2: the bias in x2 (the rows use x0 and x1 only), where kernel row
// 0 starts every pixel from it.
#define TINYOPS_DW3_BODY_S2                                                      \
  "ldr    %[x2], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S2_ROW(0, TINYOPS_DW3_W0, "x2", "x2", "x2", "x2")                  \
  TINYOPS_DW3_S2_ROW(1, TINYOPS_DW3_W1, "a0", "a1", "a2", "a3")                  \
  TINYOPS_DW3_S2_ROW(2, TINYOPS_DW3_W2, "a0", "a1", "a2", "a3")
// The output stage (arm/output_stage.h) of the 4 accumulators, stage by
// stage so independent instructions follow each other, then the stores.
#define TINYOPS_DW_REQ4(OP) OP("a0") OP("a1") OP("a2") OP("a3")
#define TINYOPS_DW_SMMLAR(a) "smmlar %[" a "], %[" a "], %[x0], %[" a "]\n\t"
#define TINYOPS_DW_SIGN(a) "add    %[" a "], %[" a "], %[" a "], asr #31\n\t"
#define TINYOPS_DW_QADD(a) "qadd   %[" a "], %[" a "], %[x1]\n\t"
#define TINYOPS_DW_SHIFT(a) "asr    %[" a "], %[" a "], %[x2]\n\t"
#define TINYOPS_DW_SUB(a) "sub    %[" a "], %[" a "], %[w0]\n\t"
#define TINYOPS_DW_SSAT(a) "ssat   %[" a "], #8, %[" a "]\n\t"
#define TINYOPS_DW_ADDLO(a) "add    %[" a "], %[" a "], %[w1]\n\t"
#define TINYOPS_DW3_OUT(RANGE)                                                   \
  "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                                        \
  "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                                         \
  TINYOPS_DW_REQ4(TINYOPS_DW_SMMLAR) TINYOPS_DW_REQ4(TINYOPS_DW_SIGN)            \
  TINYOPS_DW_REQ4(TINYOPS_DW_QADD) TINYOPS_DW_REQ4(TINYOPS_DW_SHIFT)             \
  TINYOPS_DW_REQ4(TINYOPS_DW_SUB) TINYOPS_DW_REQ4(TINYOPS_DW_SSAT) RANGE         \
  "add    %[w1], %[o], %[ps], lsl #1\n\t"                                        \
  "strb   %[a2], [%[w1]]\n\t"                                                    \
  "strb   %[a3], [%[w1], %[ps]]\n\t"                                             \
  "strb   %[a1], [%[o], %[ps]]\n\t"                                              \
  "strb   %[a0], [%[o]], #1\n\t"
#define TINYOPS_DW3_RANGE "ldr    %[w1], %[addv]\n\t" TINYOPS_DW_REQ4(TINYOPS_DW_ADDLO)
#define TINYOPS_DW3_ASM(BODY, RANGE)                                             \
  __asm__ volatile("1:\n\t"                                                      \
                   BODY                                                          \
                   "add    %[q], %[q], #4\n\t" TINYOPS_DW3_OUT(RANGE)            \
                   "ldr    %[x0], %[oend]\n\t"                                   \
                   "cmp    %[o], %[x0]\n\t"                                      \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),      \
                     [x1] "=&r"(x1), [x2] "=&r"(x2), [w0] "=&r"(w0), [w1] "=&r"(w1)       \
                   : [ps] "r"(ps), [oend] "m"(oend), [addv] "m"(add)                      \
                   : "cc", "memory")

// Two pixels (the step after the 4-pixel ones when 2 or 3 columns remain).
#define TINYOPS_DW3_S1_ROW2(s, WLD, A1, A0)                                      \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, s) "]\n\t"                          \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"                          \
  WLD                                                                            \
  "smlatb %[a1], %[x0], %[w0], %[" A1 "]\n\t"                                   \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "smlad  %[a1], %[x1], %[w1], %[a1]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"
#define TINYOPS_DW3_S2_ROW2(s, WLD, A0, A1)                                      \
  WLD                                                                            \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, s) "]\n\t"                          \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"                          \
  "smlad  %[a0], %[x0], %[w0], %[" A0 "]\n\t"                                   \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(2, s) "]\n\t"                          \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"                                       \
  "smlad  %[a1], %[x1], %[w0], %[" A1 "]\n\t"                                   \
  "smlabt %[a1], %[x0], %[w1], %[a1]\n\t"
#define TINYOPS_DW3_BODY2_S1                                                     \
  "ldr    %[a0], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S1_ROW2(0, TINYOPS_DW3_W0, "a0", "a0")                             \
  TINYOPS_DW3_S1_ROW2(1, TINYOPS_DW3_W1, "a1", "a0")                             \
  TINYOPS_DW3_S1_ROW2(2, TINYOPS_DW3_W2, "a1", "a0")
#define TINYOPS_DW3_BODY2_S2                                                     \
  "ldr    %[x2], [%[k]], #20\n\t"                                                 \
  TINYOPS_DW3_S2_ROW2(0, TINYOPS_DW3_W0, "x2", "x2")                             \
  TINYOPS_DW3_S2_ROW2(1, TINYOPS_DW3_W1, "a0", "a1")                             \
  TINYOPS_DW3_S2_ROW2(2, TINYOPS_DW3_W2, "a0", "a1")
#define TINYOPS_DW_REQ2(OP) OP("a0") OP("a1")
#define TINYOPS_DW3_OUT2(RANGE)                                                  \
  "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                                        \
  "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                                         \
  TINYOPS_DW_REQ2(TINYOPS_DW_SMMLAR) TINYOPS_DW_REQ2(TINYOPS_DW_SIGN)            \
  TINYOPS_DW_REQ2(TINYOPS_DW_QADD) TINYOPS_DW_REQ2(TINYOPS_DW_SHIFT)             \
  TINYOPS_DW_REQ2(TINYOPS_DW_SUB) TINYOPS_DW_REQ2(TINYOPS_DW_SSAT) RANGE         \
  "strb   %[a1], [%[o], %[ps]]\n\t"                                              \
  "strb   %[a0], [%[o]], #1\n\t"
#define TINYOPS_DW3_RANGE2 "ldr    %[w1], %[addv]\n\t" TINYOPS_DW_REQ2(TINYOPS_DW_ADDLO)
#define TINYOPS_DW3_ASM2(BODY, RANGE)                                            \
  __asm__ volatile("1:\n\t"                                                      \
                   BODY                                                          \
                   "add    %[q], %[q], #4\n\t" TINYOPS_DW3_OUT2(RANGE)           \
                   "cmp    %[o], %[oend]\n\t"                                    \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [a1] "=&r"(a1), [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2),      \
                     [w0] "=&r"(w0), [w1] "=&r"(w1)                                       \
                   : [ps] "r"(ps), [oend] "r"(oend), [addv] "m"(add)                      \
                   : "cc", "memory")

// One pixel (the last column of an odd-width row), either stride: pairs 0
// and 1 of each kernel row, SMLAD (w0, w1) + SMLABT (., w2) -- the packed
// weights are (w0, w1), (w1, w2) at stride 1 and (w0, w1), (0, w2) at
// stride 2, the top half read either way. 28 instructions for 9 MACs, where
// the C++ loop took about 60.
#define TINYOPS_DW3_ROW1(s, WLD)                                                 \
  WLD                                                                            \
  "ldr    %[x0], [%[q], " TINYOPS_DW_OFF(0, s) "]\n\t"                          \
  "ldr    %[x1], [%[q], " TINYOPS_DW_OFF(1, s) "]\n\t"                          \
  "smlad  %[a0], %[x0], %[w0], %[a0]\n\t"                                       \
  "smlabt %[a0], %[x1], %[w1], %[a0]\n\t"
#define TINYOPS_DW3_RANGE1 "ldr    %[w1], %[addv]\n\tadd    %[a0], %[a0], %[w1]\n\t"
#define TINYOPS_DW3_ASM1(RANGE)                                                  \
  __asm__ volatile("1:\n\t"                                                      \
                   "ldr    %[a0], [%[k]], #20\n\t"                               \
                   TINYOPS_DW3_ROW1(0, TINYOPS_DW3_W0)                           \
                   TINYOPS_DW3_ROW1(1, TINYOPS_DW3_W1)                           \
                   TINYOPS_DW3_ROW1(2, TINYOPS_DW3_W2)                           \
                   "add    %[q], %[q], #4\n\t"                                   \
                   "ldrd   %[x0], %[x1], [%[k], #-16]\n\t"                       \
                   "ldrd   %[x2], %[w0], [%[k], #-8]\n\t"                        \
                   TINYOPS_DW_SMMLAR("a0") TINYOPS_DW_SIGN("a0")                 \
                   TINYOPS_DW_QADD("a0") TINYOPS_DW_SHIFT("a0")                  \
                   TINYOPS_DW_SUB("a0") TINYOPS_DW_SSAT("a0") RANGE              \
                   "strb   %[a0], [%[o]], #1\n\t"                                \
                   "cmp    %[o], %[oend]\n\t"                                    \
                   "bne    1b\n\t"                                               \
                   : [q] "+r"(q), [w] "+r"(w), [k] "+r"(k), [o] "+r"(o), [a0] "=&r"(a0), \
                     [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [w0] "=&r"(w0),      \
                     [w1] "=&r"(w1)                                                       \
                   : [oend] "r"(oend), [addv] "m"(add)                                    \
                   : "cc", "memory")

// Channels [0, ng) of a 1-pixel step; arguments as dw3_step4.
template <int kKind>
__attribute__((noinline)) void dw3_step1(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ng, int32_t add) {
  int8_t* const oend = o + ng;
  int32_t a0, x0, x1, x2, w0, w1;
  if (kKind == kOutRange) {
    TINYOPS_DW3_ASM1(TINYOPS_DW3_RANGE1);
  } else {
    TINYOPS_DW3_ASM1("");
  }
}

// Channels [0, ng) of a 2-pixel step; arguments as dw3_step4.
template <int SW, int kKind>
__attribute__((noinline)) void dw3_step2(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ps, int32_t ng, int32_t add) {
  int8_t* const oend = o + ng;
  int32_t a0, a1, x0, x1, x2, w0, w1;
  if (SW == 1) {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S1, TINYOPS_DW3_RANGE2);
    } else {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S1, "");
    }
  } else {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S2, TINYOPS_DW3_RANGE2);
    } else {
      TINYOPS_DW3_ASM2(TINYOPS_DW3_BODY2_S2, "");
    }
  }
}

// Channels [0, ng) of one 4-pixel step (depth multiplier 1, ng >= 1): q the
// ring word of channel 0 (pair 0, slot 0), w its slot-ordered weights
// (channels 2 KH NW = 12 words apart), k its constants, o its pixel-0 output.
template <int SW, int kKind>
__attribute__((noinline)) void dw3_step4(const int32_t* q, const int32_t* w, const int32_t* k,
                                         int8_t* o, int32_t ps, int32_t ng, int32_t add) {
  static_assert(dw_group(3) == 16 && sizeof(DwConst) == 20, "offsets above");
  int8_t* const oend = o + ng;
  int32_t a0, a1, a2, a3, x0, x1, x2, w0, w1;
  if (SW == 1) {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S1, TINYOPS_DW3_RANGE);
    } else {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S1, "");
    }
  } else {
    if (kKind == kOutRange) {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S2, TINYOPS_DW3_RANGE);
    } else {
      TINYOPS_DW3_ASM(TINYOPS_DW3_BODY_S2, "");
    }
  }
}

// All output rows of the tile for output columns [xa, xb), input channels
// [ci, ci + nc), tile channels [g0, g0 + ng); cidx[i]: tile channel g0 + i's
// input channel - ci (kMult; without, depth_multiplier is 1 and it is i: the
// table costs a load and a register, whose spills cost more, in the hot loop).
template <int KH, int KW, int SW, bool kMult, int kKind>
void dw_chunk(const DwTile& t, int32_t ci, int32_t nc, int32_t g0, int32_t ng,
              const int8_t* cidx, int32_t xa, int32_t xb) {
  constexpr int G = dw_group(KH);
  using Ch = DwChannel<KH, KW, SW, G>;
  constexpr int NW = Ch::NW;
  constexpr int32_t wstride = 2 * KH * NW;            // words between channels' weights
  constexpr int32_t pair_words = (SW == 1 ? 1 : 2) * KH * G;  // ring words a 2-pixel step
  const int32_t nx = xb - xa;
  const int32_t npairs = dw_row_pairs(KW, SW, nx);
  const int32_t q0 = xa * SW;
  const int32_t ps = t.pixel_stride;
  // The ring holds image rows [next - KH, next); row iy sits in slot iy mod KH.
  int32_t next = INT32_MIN, next_slot = 0;
  const int32_t iy_first = t.row_begin * t.sh - t.pad_top;
  int32_t rho = ((iy_first % KH) + KH) % KH;  // slot of kernel row 0
  for (int32_t y = t.row_begin; y < t.row_end; ++y) {
    const int32_t iy0 = y * t.sh - t.pad_top;
    if (next < iy0) {
      next = iy0;
      next_slot = rho;
    }
    for (; next < iy0 + KH; ++next) {
      dw_unpack_row<KH, G>(t, next, ci, nc, q0, npairs, next_slot, t.zpbuf);
      next_slot = next_slot + 1 == KH ? 0 : next_slot + 1;
    }
    // Slot s holds kernel row (s - rho) mod KH: row t0 + s of the doubled
    // weights, t0 = (KH - rho) mod KH.
    const int32_t* wrow = t.wext + (rho == 0 ? 0 : KH - rho) * NW;
    rho += t.sh;
    while (rho >= KH) rho -= KH;
    int8_t* orow = t.out + static_cast<ptrdiff_t>(y - t.row_begin) * t.row_stride +
                   static_cast<ptrdiff_t>(xa) * ps + g0;
    const int32_t* qrow = t.ring;
    const DwConst* cst_g = t.cst + g0;
    int32_t x = 0;
    // Four pixels a step (2 pairs at stride 1, 4 at stride 2). Running
    // pointers let the compiler use immediate offsets throughout.
    for (; x + 4 <= nx; x += 4, qrow += 2 * pair_words, orow += 4 * ps) {
      if (KH == 3 && !kMult) {
        dw3_step4<SW, kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ps, ng,
                             t.add);
        continue;
      }
      const int32_t* w = wrow;
      const DwConst* k = cst_g;
      int8_t* o0 = orow;
      int8_t* const o_end = orow + ng;
      for (int32_t i = 0; o0 != o_end; ++i, w += wstride, ++k, ++o0) {
        int32_t a[4];
        Ch::four(qrow + (kMult ? cidx[i] : i), w, k->bias, a);
        int8_t v[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) v[j] = dw_out<kKind>(a[j], k->out, t.add);
        int8_t* o2 = o0 + 2 * ps;
        o0[ps] = v[1];
        o0[0] = v[0];
        o2[ps] = v[3];
        o2[0] = v[2];
      }
    }
    for (; x + 2 <= nx; x += 2, qrow += pair_words, orow += 2 * ps) {
      if (KH == 3 && !kMult) {
        dw3_step2<SW, kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ps, ng,
                             t.add);
        continue;
      }
      const int32_t* w = wrow;
      const DwConst* k = cst_g;
      int8_t* o0 = orow;
      int8_t* const o_end = orow + ng;
      for (int32_t i = 0; o0 != o_end; ++i, w += wstride, ++k, ++o0) {
        int32_t a0, a1;
        Ch::two(qrow + (kMult ? cidx[i] : i), w, k->bias, a0, a1);
        const int8_t v0 = dw_out<kKind>(a0, k->out, t.add);
        const int8_t v1 = dw_out<kKind>(a1, k->out, t.add);
        o0[ps] = v1;
        o0[0] = v0;
      }
    }
    if (x < nx && KH == 3 && !kMult) {
      dw3_step1<kKind>(qrow, wrow, reinterpret_cast<const int32_t*>(cst_g), orow, ng, t.add);
    } else if (x < nx) {
      const int32_t* w = wrow;
      for (int32_t i = 0; i < ng; ++i, w += wstride) {
        const int32_t a0 = Ch::one(qrow + (kMult ? cidx[i] : i), w, cst_g[i].bias);
        orow[i] = dw_out<kKind>(a0, cst_g[i].out, t.add);
      }
    }
  }
}

template <int KH, int KW, int SW, int kKind>
void dw_tile_t(const DwTile& t) {
  constexpr int32_t G = dw_group(KH);
  constexpr int32_t H = KW / 2;
  const int32_t M = t.mult;
  // Output columns per chunk so that KH slots of its pairs fit the ring.
  const int32_t max_pairs = static_cast<int32_t>(t.ring_bytes / (4u * KH * G));
  const int32_t chunk = SW == 1 ? 2 * (max_pairs - H) : max_pairs - H;
  const int32_t ic_first = t.oc0 / M, ic_last = (t.oc0 + t.noc - 1) / M;
  int8_t cidx[G * 16];  // tile channel -> input channel of the group (multipliers <= 16)
  for (int32_t ci = ic_first; ci <= ic_last; ci += G) {
    const int32_t nc = ic_last + 1 - ci < G ? ic_last + 1 - ci : G;
    // Tile channels of these input channels: [g0, g1).
    int32_t g0 = ci * M - t.oc0, g1 = (ci + nc) * M - t.oc0;
    if (g0 < 0) g0 = 0;
    if (g1 > t.noc) g1 = t.noc;
    for (int32_t i = g0; i < g1 && M > 1; ++i) {
      cidx[i - g0] = static_cast<int8_t>((t.oc0 + i) / M - ci);
    }
    dw_pack_weights<KH, KW, SW>(t, g0, g1 - g0);
    for (int32_t xa = 0; xa < t.out_w; xa += chunk) {
      const int32_t xb = t.out_w - xa < chunk ? t.out_w : xa + chunk;
      if (M > 1) {
        dw_chunk<KH, KW, SW, true, kKind>(t, ci, nc, g0, g1 - g0, cidx, xa, xb);
      } else {
        dw_chunk<KH, KW, SW, false, kKind>(t, ci, nc, g0, g1 - g0, cidx, xa, xb);
      }
    }
  }
}

template <int KH, int KW, int SW>
void dw_tile_kind(const DwTile& t, OutKind kind) {
  if (kind == kOutHigh) {
    dw_tile_t<KH, KW, SW, kOutHigh>(t);
  } else {
    dw_tile_t<KH, KW, SW, kOutRange>(t);
  }
}

// Runs the tile (dw_dsp_supported geometry, ring_bytes = dw_ring_bytes, every
// channel's constants set up).
inline void dw_tile(const DwTile& tile, OutKind kind) {
  // The ring on the stack, which the firmware ports keep in tightly coupled
  // RAM: the M7 reads it without its 4 KB D-cache (as gemm()'s unpacked
  // pixels); twice the scratch's, so rows up to 80 pixels at 3x3 (the
  // paper model's widest) need no column chunks, which re-unpack the rows
  // per chunk. The scratch stays reserved, so plans do not depend on this.
  alignas(16) int32_t ring[2 * kDwRingBytes / 4];
  DwTile t = tile;
  const uint32_t need = static_cast<uint32_t>(t.kh * dw_group(t.kh)) * 4u *
                        static_cast<uint32_t>(dw_row_pairs(t.kw, t.sw, t.out_w));
  t.ring = ring;
  t.ring_bytes = need < sizeof(ring) ? need : static_cast<uint32_t>(sizeof(ring));
  switch (t.kw * 2 + t.sw) {
    case 3 * 2 + 1: dw_tile_kind<3, 3, 1>(t, kind); break;
    case 3 * 2 + 2: dw_tile_kind<3, 3, 2>(t, kind); break;
    case 5 * 2 + 1: dw_tile_kind<5, 5, 1>(t, kind); break;
    case 5 * 2 + 2: dw_tile_kind<5, 5, 2>(t, kind); break;
    case 7 * 2 + 1: dw_tile_kind<7, 7, 1>(t, kind); break;
    default: dw_tile_kind<7, 7, 2>(t, kind); break;
  }
}

#undef TINYOPS_ARM_INLINE

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
