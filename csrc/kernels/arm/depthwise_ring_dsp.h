// Arm DSP depthwise: the unpacked-row ring, weight packing and the generic
// (any window, 1/2/4-pixel C++) channel loops. Part of depthwise_dsp.h (see
// there for the design and the exactness argument); include that, not this.
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

#ifndef TINYOPS_ARM_INLINE
#define TINYOPS_ARM_INLINE inline __attribute__((always_inline))
#endif

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

// The interior of dw_unpack_row: n column pairs of G channels, the pair's
// columns at pa and pb, the next pair's c2 bytes on, into the ring at d (KH
// * G words a pair). Per 4 channels: 2 LDR, PKHBT / PKHTB, 4 SXTB16 and one
// STM of the 4 words, which needs fixed ascending registers (r0-r3), hence
// out of line. A lone edge pair (n = 1) passes the zero-point bytes as pa or pb.
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
__attribute__((noinline)) void dw_unpack_pairs(const int8_t* pa, const int8_t* pb, int32_t c2,
                                               int32_t* d, int32_t n) {
  register int32_t r0 __asm__("r0");
  register int32_t r1 __asm__("r1");
  register int32_t r2 __asm__("r2");
  register int32_t r3 __asm__("r3");
  int32_t a, b, t;
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

// The pairs for nc (a multiple of 4, <= G) channels.
template <int KH, int G>
TINYOPS_ARM_INLINE void dw_unpack_interior(const int8_t* pa, const int8_t* pb, int32_t c2,
                                           int32_t* d, int32_t n, int32_t nc) {
  switch (nc >> 2) {
    case 1: dw_unpack_pairs<KH, G, 1>(pa, pb, c2, d, n); break;
    case 2: dw_unpack_pairs<KH, G, (G >= 8 ? 2 : 1)>(pa, pb, c2, d, n); break;
    case 3: dw_unpack_pairs<KH, G, (G >= 12 ? 3 : 1)>(pa, pb, c2, d, n); break;
    default: dw_unpack_pairs<KH, G, G / 4>(pa, pb, c2, d, n); break;
  }
}

// A row outside the image: every pair of every channel is (zero point,
// zero point) as int16, one word for the `words` words of each of npairs
// pairs (step words apart). Eight words a STM.
TINYOPS_ARM_INLINE void dw_fill_pairs(int32_t* d, int32_t npairs, int32_t words, int32_t step,
                                      uint32_t zp4) {
  const uint32_t h = zp4 & 0xffffu;  // two zero-point bytes
  const int32_t v = arm_dsp::even16(h | (h << 16));
  for (int32_t j = 0; j < npairs; ++j, d += step) {
    int32_t* p = d;
    int32_t k = words;
    for (; k >= 8; k -= 8, p += 8) {
      p[0] = v, p[1] = v, p[2] = v, p[3] = v, p[4] = v, p[5] = v, p[6] = v, p[7] = v;
    }
    for (; k > 0; --k) *p++ = v;
  }
}

// Which of a chunk's column pairs lie inside the image: pairs [ja, jb) have
// both columns in, from image column ix0 (pair 0's first column) on; pairs
// before jl and from jr on have both in the padding.
struct DwRowPairs {
  int32_t ix0, ja, jb, jl, jr, npairs;
};
inline DwRowPairs dw_row_pairs_inside(const DwTile& t, int32_t q0, int32_t npairs) {
  DwRowPairs r;
  r.ix0 = q0 - t.pad_left;
  r.npairs = npairs;
  r.ja = r.ix0 >= 0 ? 0 : (1 - r.ix0) / 2;
  r.jb = t.in_w - r.ix0 >= 2 ? (t.in_w - r.ix0) / 2 : 0;
  r.jb = r.jb < npairs ? r.jb : npairs;
  r.ja = r.ja < r.jb ? r.ja : r.jb;
  r.jl = r.ix0 < 0 ? -r.ix0 / 2 : 0;
  r.jl = r.jl < r.ja ? r.jl : r.ja;
  r.jr = (t.in_w - r.ix0 + 1) / 2;
  r.jr = r.jr < r.jb ? r.jb : (r.jr > npairs ? npairs : r.jr);
  return r;
}

// Image row iy at input channel ci, and column ix of it (the zero-point
// bytes outside the image).
TINYOPS_ARM_INLINE const int8_t* dw_image_row(const DwTile& t, int32_t iy, int32_t ci) {
  return t.in + static_cast<ptrdiff_t>(iy - t.in_row0) * t.in_w * t.in_c + ci;
}
TINYOPS_ARM_INLINE const int8_t* dw_column(const DwTile& t, const int8_t* row, int32_t ix) {
  return ix >= 0 && ix < t.in_w ? row + static_cast<ptrdiff_t>(ix) * t.in_c : t.zpbuf;
}

// A pair with a column in the padding, nc (a multiple of 4) channels.
TINYOPS_ARM_INLINE void dw_unpack_edge_pair(const int8_t* a, const int8_t* b, int32_t* d,
                                            int32_t nc) {
  using namespace arm_dsp;
#pragma GCC unroll 4
  for (int32_t k = 0; k < nc >> 2; ++k) dw_store_pair(load4(a + 4 * k), load4(b + 4 * k), d + 4 * k);
}

// The pairs of every ring slot that lie wholly in the left or right padding
// (the same zero-point words for every image row), written once per chunk
// for dw_unpack_row_inside, which skips them.
template <int KH, int G>
void dw_fill_padding_pairs(const DwTile& t, const DwRowPairs& g) {
  for (int32_t s = 0; s < KH; ++s) {
    int32_t* d = t.ring + s * G;
    dw_fill_pairs(d, g.jl, G, KH * G, t.zp4);
    dw_fill_pairs(d + g.jr * KH * G, g.npairs - g.jr, G, KH * G, t.zp4);
  }
}

// Image row iy, inline in the row loop, for nc (a multiple of 4, <= G)
// channels, after dw_fill_padding_pairs: the interior in one call, and the
// few pairs with one column in the padding. (Out of line, a row costs about
// 120 instructions besides its pairs, as much as a whole 16-channel pair.)
template <int KH, int G>
TINYOPS_ARM_INLINE void dw_unpack_row_inside(const DwTile& t, int32_t iy, int32_t ci, int32_t nc,
                                             const DwRowPairs& g, int32_t s) {
  constexpr int32_t step = KH * G;
  const int32_t c = t.in_c;
  int32_t* const d = t.ring + s * G;
  const int8_t* const row = dw_image_row(t, iy, ci);
  for (int32_t j = g.jl; j < g.ja; ++j) {
    dw_unpack_edge_pair(dw_column(t, row, g.ix0 + 2 * j), dw_column(t, row, g.ix0 + 2 * j + 1),
                        d + j * step, nc);
  }
  if (g.jb > g.ja) {
    const int8_t* pa = row + static_cast<ptrdiff_t>(g.ix0 + 2 * g.ja) * c;
    dw_unpack_interior<KH, G>(pa, pa + c, 2 * c, d + g.ja * step, g.jb - g.ja, nc);
  }
  for (int32_t j = g.jb; j < g.jr; ++j) {
    dw_unpack_edge_pair(dw_column(t, row, g.ix0 + 2 * j), dw_column(t, row, g.ix0 + 2 * j + 1),
                        d + j * step, nc);
  }
}

// The rows dw_unpack_row_inside does not take, out of line: a row outside
// the image (every pair the zero point) and any row of a group whose last
// nc % 4 channels are not a whole word; padded columns [q0, q0 + 2 * npairs),
// input channels [ci, ci + nc) (nc <= G), into slot s.
template <int KH, int G>
void dw_unpack_row(const DwTile& t, int32_t iy, int32_t ci, int32_t nc, int32_t q0,
                   int32_t npairs, int32_t s) {
  using namespace arm_dsp;
  int32_t* d = t.ring + s * G;
  constexpr int32_t step = KH * G;  // words between pairs
  if (iy < 0 || iy >= t.in_h) {
    dw_fill_pairs(d, npairs, (nc + 3) & ~3, step, t.zp4);
    return;
  }
  const int32_t ix0 = q0 - t.pad_left;  // image column of pair 0's first column
  const int8_t* const row = dw_image_row(t, iy, ci);
  // Whole 4-channel words, then bytes for the last nc % 4 channels (never
  // read past the last channel; the rest is the zero point).
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
    const int8_t* a = dw_column(t, row, ix0 + 2 * j);
    const int8_t* b = dw_column(t, row, ix0 + 2 * j + 1);
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

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
