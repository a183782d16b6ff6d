// Arm DSP GEMM: 4 pixels x 2 channels over weights unpacked per channel
// pair (pair4_*), one schedule per core. Part of gemm_dsp.h through
// gemm_pair_dsp.h (see there for the design and the exactness argument);
// include that, not this.
//
// A depth group of 4 pixels x 2 channels is 16 SMLAD over 8 pixel words (the
// expand_pixels layout, P = 4, read at fixed offsets from ip) and 4 weight
// words (unpack_pair's we0, wo0, we1, wo1, at fixed offsets from lr): 28
// instructions per 32 MACs, where the P-pixel x 1-channel blocks
// (gemm_pxn_dsp.h) take 36 (an LDR and two SXTB16 per weight word).
//  * Cortex-M7: every LDR issues beside an SMLAD, so a group takes the MAC
//    pipe's 16 cycles (the 1-channel blocks 17). To keep each load a cycle
//    ahead of its use with two pixel registers (r10 / r11), a group ends by
//    loading the next group's first pixel word and weight words (r8-r10):
//    the last group of a sub-block reads one word past the pixels and 12
//    bytes past the weights, both in gemm()'s stack buffer (pair_gemm keeps
//    the weights ahead of the pixels on the M7) or its frame.
//  * Cortex-M4: an LDR takes 2 cycles, 1 right after another LDR, so the
//    loads run in chains of four and two (two weight and two pixel words,
//    then two pixel words): 16 load cycles and 16 SMLAD, 32 cycles per 32
//    MACs (the 3 x 2 blocks with LDM / LDRD took 26 per 24).
//
// Registers: r0-r3 channel 0's pixels 0-3, r4-r7 channel 1's, r8 / r9 the
// channels' weight word of the half being summed, r10 / r11 pixel words, ip
// the pixels, lr the weights.
#pragma once
#include <cstdint>

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

#if defined(TINYOPS_CORTEX_M7)
// One half (even or odd 16-bit lanes) of a depth group: pixel 0's word in
// r10 and the weights in r8 / r9 on entry; X1-X3 pixels 1-3's words, XN the
// next half's pixel 0 word, W0 / W1 the next half's weight words.
#define TINYOPS_PAIR4_HALF(X1, X2, X3, XN, W0, W1) \
  "ldr    r11, [ip, #(" X1 ")]\n\t"               \
  "smlad  r0, r10, r8, r0\n\t"                    \
  "smlad  r4, r10, r9, r4\n\t"                    \
  "ldr    r10, [ip, #(" X2 ")]\n\t"               \
  "smlad  r1, r11, r8, r1\n\t"                    \
  "smlad  r5, r11, r9, r5\n\t"                    \
  "ldr    r11, [ip, #(" X3 ")]\n\t"               \
  "smlad  r2, r10, r8, r2\n\t"                    \
  "smlad  r6, r10, r9, r6\n\t"                    \
  "ldr    r10, [ip, #(" XN ")]\n\t"               \
  "smlad  r3, r11, r8, r3\n\t"                    \
  "ldr    r8, [lr, #(" W0 ")]\n\t"                \
  "smlad  r7, r11, r9, r7\n\t"                    \
  "ldr    r9, [lr, #(" W1 ")]\n\t"
// The odd half of the group X bytes past ip (weights W past lr), loading the
// next group's even half.
#define TINYOPS_PAIR4_ODD(X, W) \
  TINYOPS_PAIR4_HALF(X "+12", X "+20", X "+28", X "+32", W "+16", W "+24")
// The group X bytes past ip, weights W bytes past lr (pw: we0, wo0, we1, wo1).
#define TINYOPS_PAIR4_GROUP(X, W) \
  TINYOPS_PAIR4_HALF(X "+8", X "+16", X "+24", X "+4", W "+4", W "+12") TINYOPS_PAIR4_ODD(X, W)
// The first group's even half starts pixels 1-3 from the biases in r0 / r4,
// then pixel 0 adds to them (no copies of the biases); r10 holds pixel 1's
// word on entry.
#define TINYOPS_PAIR4_FIRST              \
  "ldr    r11, [ip, #16]\n\t"            \
  "smlad  r1, r10, r8, r0\n\t"           \
  "smlad  r5, r10, r9, r4\n\t"           \
  "ldr    r10, [ip, #24]\n\t"            \
  "smlad  r2, r11, r8, r0\n\t"           \
  "smlad  r6, r11, r9, r4\n\t"           \
  "ldr    r11, [ip]\n\t"                 \
  "smlad  r3, r10, r8, r0\n\t"           \
  "smlad  r7, r10, r9, r4\n\t"           \
  "ldr    r10, [ip, #4]\n\t"             \
  "smlad  r0, r11, r8, r0\n\t"           \
  "ldr    r8, [lr, #4]\n\t"              \
  "smlad  r4, r11, r9, r4\n\t"           \
  "ldr    r9, [lr, #12]\n\t" TINYOPS_PAIR4_ODD("0", "0")
// The first group's pixel 1 word and weight words, loaded ahead.
#define TINYOPS_PAIR4_PROLOGUE \
  "ldr    r8, [lr]\n\t"       \
  "ldr    r9, [lr, #8]\n\t"   \
  "ldr    r10, [ip, #8]\n\t"
#else
// One half of a depth group: the channels' weight words W0 / W1 and the
// pixels' words X0-X3, in load chains of four and two.
#define TINYOPS_PAIR4_HALF(W0, W1, X0, X1, X2, X3) \
  "ldr    r8, [lr, #(" W0 ")]\n\t"                \
  "ldr    r9, [lr, #(" W1 ")]\n\t"                \
  "ldr    r10, [ip, #(" X0 ")]\n\t"               \
  "ldr    r11, [ip, #(" X1 ")]\n\t"               \
  "smlad  r0, r10, r8, r0\n\t"                    \
  "smlad  r4, r10, r9, r4\n\t"                    \
  "smlad  r1, r11, r8, r1\n\t"                    \
  "smlad  r5, r11, r9, r5\n\t"                    \
  "ldr    r10, [ip, #(" X2 ")]\n\t"               \
  "ldr    r11, [ip, #(" X3 ")]\n\t"               \
  "smlad  r2, r10, r8, r2\n\t"                    \
  "smlad  r6, r10, r9, r6\n\t"                    \
  "smlad  r3, r11, r8, r3\n\t"                    \
  "smlad  r7, r11, r9, r7\n\t"
#define TINYOPS_PAIR4_ODD(X, W) \
  TINYOPS_PAIR4_HALF(W "+4", W "+12", X "+4", X "+12", X "+20", X "+28")
// The group X bytes past ip, weights W bytes past lr (pw: we0, wo0, we1, wo1).
#define TINYOPS_PAIR4_GROUP(X, W) \
  TINYOPS_PAIR4_HALF(W, W "+8", X, X "+8", X "+16", X "+24") TINYOPS_PAIR4_ODD(X, W)
// The first group's even half starts pixels 1-3 from the biases in r0 / r4,
// then pixel 0 adds to them (no copies of the biases).
#define TINYOPS_PAIR4_FIRST              \
  "ldr    r8, [lr]\n\t"                 \
  "ldr    r9, [lr, #8]\n\t"             \
  "ldr    r10, [ip, #8]\n\t"            \
  "ldr    r11, [ip, #16]\n\t"           \
  "smlad  r1, r10, r8, r0\n\t"          \
  "smlad  r5, r10, r9, r4\n\t"          \
  "smlad  r2, r11, r8, r0\n\t"          \
  "smlad  r6, r11, r9, r4\n\t"          \
  "ldr    r10, [ip, #24]\n\t"           \
  "ldr    r11, [ip]\n\t"                \
  "smlad  r3, r10, r8, r0\n\t"          \
  "smlad  r7, r10, r9, r4\n\t"          \
  "smlad  r0, r11, r8, r0\n\t"          \
  "smlad  r4, r11, r9, r4\n\t" TINYOPS_PAIR4_ODD("0", "0")
#define TINYOPS_PAIR4_PROLOGUE ""
#endif
#define TINYOPS_PAIR4_GRP(g) TINYOPS_PAIR4_GROUP("32*" #g, "16*" #g)
#define TINYOPS_PAIR4_ADVANCE(n) \
  "add    ip, ip, #(32*" #n ")\n\t" \
  "add    lr, lr, #(16*" #n ")\n\t"
// PRE: (groups - 1) % 4 groups after the first, before the loop of four.
#define TINYOPS_PAIR4_PRE0 TINYOPS_PAIR4_ADVANCE(1)
#define TINYOPS_PAIR4_PRE1 TINYOPS_PAIR4_GRP(1) TINYOPS_PAIR4_ADVANCE(2)
#define TINYOPS_PAIR4_PRE2 TINYOPS_PAIR4_GRP(1) TINYOPS_PAIR4_GRP(2) TINYOPS_PAIR4_ADVANCE(3)
#define TINYOPS_PAIR4_PRE3 \
  TINYOPS_PAIR4_GRP(1) TINYOPS_PAIR4_GRP(2) TINYOPS_PAIR4_GRP(3) TINYOPS_PAIR4_ADVANCE(4)
#define TINYOPS_PAIR4_GROUP4 \
  TINYOPS_PAIR4_GRP(0) TINYOPS_PAIR4_GRP(1) TINYOPS_PAIR4_GRP(2) TINYOPS_PAIR4_GRP(3) \
      TINYOPS_PAIR4_ADVANCE(4)
// Output stage (output_stage.h's out_apply) of four accumulators with the
// constants in r8 (m2), r9 (round), r10 (shift), r11 (sub) and add in ip.
#define TINYOPS_PAIR4_EACH(OP, a, b, c, d) OP(a) OP(b) OP(c) OP(d)
#define TINYOPS_PAIR4_SMMLAR(a) "smmlar " a ", " a ", r8, " a "\n\t"
#define TINYOPS_PAIR4_SIGN(a) "add    " a ", " a ", " a ", asr #31\n\t"
#define TINYOPS_PAIR4_QADD(a) "qadd   " a ", " a ", r9\n\t"
#define TINYOPS_PAIR4_SHIFT(a) "asr    " a ", " a ", r10\n\t"
#define TINYOPS_PAIR4_SUB(a) "sub    " a ", " a ", r11\n\t"
#define TINYOPS_PAIR4_SSAT(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_PAIR4_ADD(a) "add    " a ", " a ", ip\n\t"
#define TINYOPS_PAIR4_REQ(a, b, c, d)                                                 \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SMMLAR, a, b, c, d)                                \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SIGN, a, b, c, d)                                  \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_QADD, a, b, c, d)                                  \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SHIFT, a, b, c, d)
#define TINYOPS_PAIR4_OUT_HIGH(a, b, c, d)             \
  TINYOPS_PAIR4_REQ(a, b, c, d)                        \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SUB, a, b, c, d)    \
  TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SSAT, a, b, c, d)
#define TINYOPS_PAIR4_OUT_RANGE(a, b, c, d) \
  TINYOPS_PAIR4_OUT_HIGH(a, b, c, d) TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_ADD, a, b, c, d)
#define TINYOPS_PAIR4_OUT_PLAIN(a, b, c, d) \
  TINYOPS_PAIR4_REQ(a, b, c, d) TINYOPS_PAIR4_EACH(TINYOPS_PAIR4_SSAT, a, b, c, d)
// kOutRange's act_min + 128, into ip.
#define TINYOPS_PAIR4_ADDLD_high ""
#define TINYOPS_PAIR4_ADDLD_plain ""
#define TINYOPS_PAIR4_ADDLD_range "ldr    ip, [sp, #36]\n\t"
// LOOP: the loop of four groups (groups > 4: entered at least once, so it is
// not checked before) or none.
#define TINYOPS_PAIR4_LOOP                                                       \
  ".p2align 2\n\t"                                                              \
  "1:\n\t" TINYOPS_PAIR4_GROUP4                                                 \
  "ldr    r11, [sp, #12]\n\t"                                                   \
  "cmp    lr, r11\n\t"                                                          \
  "bne    1b\n\t"
// The 8 outputs, the 4 pixels' output pointers in r8-r11 and the pair's
// first channel (an offset from them) in lr. The M7 stores with register
// offsets; the M4, where those take 2 cycles, adds the offset first.
#if defined(TINYOPS_CORTEX_M7)
#define TINYOPS_PAIR4_STORES      \
  "strb   r0, [r8, lr]\n\t"      \
  "strb   r1, [r9, lr]\n\t"      \
  "strb   r2, [r10, lr]\n\t"     \
  "strb   r3, [r11, lr]\n\t"     \
  "add    lr, lr, #1\n\t"        \
  "strb   r4, [r8, lr]\n\t"      \
  "strb   r5, [r9, lr]\n\t"      \
  "strb   r6, [r10, lr]\n\t"     \
  "strb   r7, [r11, lr]\n\t"
#else
#define TINYOPS_PAIR4_STORES      \
  "add    r8, r8, lr\n\t"        \
  "add    r9, r9, lr\n\t"        \
  "add    r10, r10, lr\n\t"      \
  "add    r11, r11, lr\n\t"      \
  "strb   r0, [r8]\n\t"          \
  "strb   r4, [r8, #1]\n\t"      \
  "strb   r1, [r9]\n\t"          \
  "strb   r5, [r9, #1]\n\t"      \
  "strb   r2, [r10]\n\t"         \
  "strb   r6, [r10, #1]\n\t"     \
  "strb   r3, [r11]\n\t"         \
  "strb   r7, [r11, #1]\n\t"
#endif
// One call: every 4-pixel sub-block x one channel pair (PairFrame; its xb is
// the sub-block cursor). Naked (the body is all assembly): the frame pointer
// arrives in r0 (AAPCS) and is copied to the stack frame.
#define TINYOPS_PAIR4_FN(NAME, PRE, LOOP, KIND, OUT)                             \
  __attribute__((naked, noinline)) inline void NAME(const PairFrame*) {         \
    __asm__ volatile(                                                            \
        "push   {r4-r11, lr}\n\t"                                                \
        "sub    sp, sp, #40\n\t"                                                 \
        "ldmia  r0, {r1-r10}\n\t"                                                \
        "stmia  sp, {r1-r10}\n\t"                                                \
        "mov    ip, r1\n\t"                                                      \
        ".p2align 2\n\t"                                                         \
        "3:\n\t"                                                                 \
        "ldr    lr, [sp, #8]\n\t"                                                \
        "ldrd   r0, r4, [sp, #20]\n\t"                                           \
        TINYOPS_PAIR4_PROLOGUE TINYOPS_PAIR4_FIRST PRE LOOP                      \
        "str    ip, [sp]\n\t"                                                    \
        "ldr    lr, [sp, #16]\n\t" TINYOPS_PAIR4_ADDLD_##KIND                    \
        "ldmia  lr!, {r8-r11}\n\t" OUT("r0", "r1", "r2", "r3")                   \
        "ldmia  lr, {r8-r11}\n\t" OUT("r4", "r5", "r6", "r7")                    \
        "ldr    lr, [sp, #28]\n\t"                                               \
        "ldmia  lr!, {r8-r11}\n\t"                                               \
        "str    lr, [sp, #28]\n\t"                                               \
        "ldr    lr, [sp, #32]\n\t" TINYOPS_PAIR4_STORES                          \
        "ldr    ip, [sp]\n\t"                                                    \
        "ldr    r0, [sp, #4]\n\t"                                                \
        "cmp    ip, r0\n\t"                                                      \
        "bne    3b\n\t"                                                          \
        "add    sp, sp, #40\n\t"                                                 \
        "pop    {r4-r11, pc}\n\t");                                              \
  }
#define TINYOPS_PAIR4_FNS(KIND, OUT)                                                \
  TINYOPS_PAIR4_FN(pair4_##KIND##_0, TINYOPS_PAIR4_PRE0, TINYOPS_PAIR4_LOOP, KIND, OUT) \
  TINYOPS_PAIR4_FN(pair4_##KIND##_1, TINYOPS_PAIR4_PRE1, TINYOPS_PAIR4_LOOP, KIND, OUT) \
  TINYOPS_PAIR4_FN(pair4_##KIND##_2, TINYOPS_PAIR4_PRE2, TINYOPS_PAIR4_LOOP, KIND, OUT) \
  TINYOPS_PAIR4_FN(pair4_##KIND##_3, TINYOPS_PAIR4_PRE3, TINYOPS_PAIR4_LOOP, KIND, OUT) \
  TINYOPS_PAIR4_FN(pair4_##KIND##_0s, TINYOPS_PAIR4_PRE0, "", KIND, OUT)               \
  TINYOPS_PAIR4_FN(pair4_##KIND##_1s, TINYOPS_PAIR4_PRE1, "", KIND, OUT)               \
  TINYOPS_PAIR4_FN(pair4_##KIND##_2s, TINYOPS_PAIR4_PRE2, "", KIND, OUT)               \
  TINYOPS_PAIR4_FN(pair4_##KIND##_3s, TINYOPS_PAIR4_PRE3, "", KIND, OUT)               \
  /* By (groups - 1) % 4, and whether groups > 4. */                                  \
  inline void pair4_##KIND(int32_t pre, bool loop, const PairFrame* f) {              \
    switch (pre + (loop ? 0 : 4)) {                                                   \
      case 0: pair4_##KIND##_0(f); break;                                             \
      case 1: pair4_##KIND##_1(f); break;                                             \
      case 2: pair4_##KIND##_2(f); break;                                             \
      case 3: pair4_##KIND##_3(f); break;                                             \
      case 4: pair4_##KIND##_0s(f); break;                                            \
      case 5: pair4_##KIND##_1s(f); break;                                            \
      case 6: pair4_##KIND##_2s(f); break;                                            \
      default: pair4_##KIND##_3s(f); break;                                           \
    }                                                                                 \
  }
TINYOPS_PAIR4_FNS(high, TINYOPS_PAIR4_OUT_HIGH)
TINYOPS_PAIR4_FNS(range, TINYOPS_PAIR4_OUT_RANGE)
TINYOPS_PAIR4_FNS(plain, TINYOPS_PAIR4_OUT_PLAIN)

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
