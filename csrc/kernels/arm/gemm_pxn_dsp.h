// Arm DSP GEMM, 2-6 pixels x a block's channels with K a multiple of 4: the
// whole channel loop in one naked assembly function per pixel count and
// output-stage kind (pxN_*). Part of gemm_dsp.h (see there for the design
// and the exactness argument); include that, not this.
#pragma once
#include <cstdint>

#include "kernels/arm/output_stage.h"

#if TINYOPS_ARM_DSP
namespace tinyops {
namespace arm_kernels {

// ---------------------------------------------------------------------------
// P = 2 .. 6 pixels x the block's channels, K a multiple of 4: the whole
// channel loop in one assembly function, as PxDot<P> + the output stage
// leave GCC no registers for the loop's own state (it spills and reloads
// about 25 words a channel). Here the 14 registers are fixed -- r4-r(3+P)
// the accumulators, r0-r3 the load targets, r10/r11 the unpacked weight
// word, ip the activations, lr the weights -- and the rest lives in a stack
// copy of PxFrame: a channel costs its MACs, the P output stages, one LDM /
// STM of the output pointers and 12 more instructions; four depth groups a
// loop iteration (the rest before the loop). Naked (the body is all
// assembly): the frame pointer arrives in r0 (AAPCS). (Balanced blocks put
// 5-pixel blocks in every 25-pixel layer, and deep rows leave room for fewer
// than 6 pixels (kGemmStackUnpackedBytes): PxDot<P>'s C++ channel loop, kept
// for K % 4 != 0, costs them about twice the cycles.)
struct PxFrame {
  int8_t* ob[6];        // +0: the pixels' outputs at the block's channel 0
  const int32_t* xend;  // +24: end of the unpacked pixels
  const int32_t* xb;    // +28: the unpacked pixels (expand_pixels)
  const OutConst* oc;   // +32: channel 0's output-stage constants
  const int32_t* be;    // +36: channel 0's bias
  int32_t add;          // +40: act_min + 128 (kOutRange)
  const int8_t* w;      // +44: channel 0's weight row (rows K bytes apart)
  const int8_t* wend;   // +48: end of the block's rows
};
// The accumulators of P pixels, and P's output pointers' registers.
#define TINYOPS_PXN_EACH2(OP) OP("r4") OP("r5")
#define TINYOPS_PXN_EACH3(OP) TINYOPS_PXN_EACH2(OP) OP("r6")
#define TINYOPS_PXN_EACH4(OP) TINYOPS_PXN_EACH3(OP) OP("r7")
#define TINYOPS_PXN_EACH5(OP) TINYOPS_PXN_EACH4(OP) OP("r8")
#define TINYOPS_PXN_EACH6(OP) TINYOPS_PXN_EACH5(OP) OP("r9")
#define TINYOPS_PXN_OBREGS2 "{r0-r1}"
#define TINYOPS_PXN_OBREGS3 "{r0-r2}"
#define TINYOPS_PXN_OBREGS4 "{r0-r3}"
#define TINYOPS_PXN_OBREGS5 "{r0-r3, r10}"
#define TINYOPS_PXN_OBREGS6 "{r0-r3, r10, r11}"
#define TINYOPS_PXN_STORE2 "strb   r4, [r0], #1\n\tstrb   r5, [r1], #1\n\t"
#define TINYOPS_PXN_STORE3 TINYOPS_PXN_STORE2 "strb   r6, [r2], #1\n\t"
#define TINYOPS_PXN_STORE4 TINYOPS_PXN_STORE3 "strb   r7, [r3], #1\n\t"
#define TINYOPS_PXN_STORE5 TINYOPS_PXN_STORE4 "strb   r8, [r10], #1\n\t"
#define TINYOPS_PXN_STORE6 TINYOPS_PXN_STORE5 "strb   r9, [r11], #1\n\t"
// Pixels 1 .. P-1 start from the bias in r4 (the M4's first group starts
// pixel 1 itself).
#define TINYOPS_PXN_BIAS_FROM2_2 ""
#define TINYOPS_PXN_BIAS_FROM2_3 "mov    r6, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_4 TINYOPS_PXN_BIAS_FROM2_3 "mov    r7, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_5 TINYOPS_PXN_BIAS_FROM2_4 "mov    r8, r4\n\t"
#define TINYOPS_PXN_BIAS_FROM2_6 TINYOPS_PXN_BIAS_FROM2_5 "mov    r9, r4\n\t"
// The odd half of the weight word is unpacked after the first LDM, where the
// M7 issues it together with the first SMLAD (an SXTB16 pairs only as the
// older instruction, an LDM with nothing).
#define TINYOPS_PXN_MACS(a, b)        \
  "smlad  " a ", r0, r10, " a "\n\t"  \
  "smlad  " a ", r1, r11, " a "\n\t"  \
  "smlad  " b ", r2, r10, " b "\n\t"  \
  "smlad  " b ", r3, r11, " b "\n\t"
#define TINYOPS_PXN_PAIR(a, b) "ldmia  ip!, {r0-r3}\n\t" TINYOPS_PXN_MACS(a, b)
#define TINYOPS_PXN_W_LDM          \
  "ldr    r11, [lr], #4\n\t"       \
  "sxtb16 r10, r11\n\t"            \
  "ldmia  ip!, {r0-r3}\n\t"        \
  "sxtb16 r11, r11, ror #8\n\t"
#if defined(TINYOPS_CORTEX_M7)
// Cortex-M7: an LDM issues alone, for 2 cycles per 4 registers, while a
// single LDR pairs with an SMLAD. So each unpacked word is loaded by its own
// LDR at a fixed offset (no write-back, so no load waits for the pointer),
// placed as the older instruction beside the SMLAD that consumes the word
// loaded one cycle before: about 13 cycles per 24 MACs instead of 20.
// TINYOPS_PXN_M7_GROUP##P(X, W): the group X bytes past ip, weight word W
// bytes past lr; TINYOPS_PXN_ADVANCE(P, n) then moves both past n groups.
#define TINYOPS_PXN_M7_TO2(X, W)          \
  "ldr    r11, [lr, #" W "]\n\t"          \
  "ldr    r0, [ip, #(" X ")]\n\t"         \
  "sxtb16 r10, r11\n\t"                   \
  "ldr    r1, [ip, #(" X "+4)]\n\t"       \
  "sxtb16 r11, r11, ror #8\n\t"           \
  "smlad  r4, r0, r10, r4\n\t"            \
  "ldr    r2, [ip, #(" X "+8)]\n\t"       \
  "smlad  r4, r1, r11, r4\n\t"            \
  "ldr    r3, [ip, #(" X "+12)]\n\t"      \
  "smlad  r5, r2, r10, r5\n\t"
#define TINYOPS_PXN_M7_GROUP2(X, W) TINYOPS_PXN_M7_TO2(X, W) "smlad  r5, r3, r11, r5\n\t"
#define TINYOPS_PXN_M7_TO3(X, W)          \
  TINYOPS_PXN_M7_TO2(X, W)                \
  "ldr    r0, [ip, #(" X "+16)]\n\t"      \
  "smlad  r5, r3, r11, r5\n\t"            \
  "ldr    r1, [ip, #(" X "+20)]\n\t"      \
  "smlad  r6, r0, r10, r6\n\t"
#define TINYOPS_PXN_M7_GROUP3(X, W) TINYOPS_PXN_M7_TO3(X, W) "smlad  r6, r1, r11, r6\n\t"
#define TINYOPS_PXN_M7_HEAD(X, W)         \
  TINYOPS_PXN_M7_TO3(X, W)                \
  "ldr    r2, [ip, #(" X "+24)]\n\t"      \
  "smlad  r6, r1, r11, r6\n\t"            \
  "ldr    r3, [ip, #(" X "+28)]\n\t"      \
  "smlad  r7, r2, r10, r7\n\t"
#define TINYOPS_PXN_M7_GROUP4(X, W) TINYOPS_PXN_M7_HEAD(X, W) "smlad  r7, r3, r11, r7\n\t"
#define TINYOPS_PXN_M7_TO5(X, W)          \
  TINYOPS_PXN_M7_HEAD(X, W)               \
  "ldr    r0, [ip, #(" X "+32)]\n\t"      \
  "smlad  r7, r3, r11, r7\n\t"            \
  "ldr    r1, [ip, #(" X "+36)]\n\t"      \
  "smlad  r8, r0, r10, r8\n\t"
#define TINYOPS_PXN_M7_GROUP5(X, W) TINYOPS_PXN_M7_TO5(X, W) "smlad  r8, r1, r11, r8\n\t"
#define TINYOPS_PXN_M7_GROUP6(X, W)       \
  TINYOPS_PXN_M7_TO5(X, W)                \
  "ldr    r2, [ip, #(" X "+40)]\n\t"      \
  "smlad  r8, r1, r11, r8\n\t"            \
  "ldr    r3, [ip, #(" X "+44)]\n\t"      \
  "smlad  r9, r2, r10, r9\n\t"            \
  "smlad  r9, r3, r11, r9\n\t"
#define TINYOPS_PXN_ADVANCE(P, n)             \
  "add    ip, ip, #(8*" #P "*" #n ")\n\t"     \
  "add    lr, lr, #(4*" #n ")\n\t"
#define TINYOPS_PXN_GRP(P, g) TINYOPS_PXN_M7_GROUP##P("8*" #P "*" #g, "4*" #g)
#define TINYOPS_PXN_GROUP4(P)                                                    \
  TINYOPS_PXN_GRP(P, 0) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_GRP(P, 3) \
      TINYOPS_PXN_ADVANCE(P, 4)
// The first group, at offset 0, starts every pixel from the bias in r4:
// pixels 1 .. P-1 first, through r2 / r3, then pixel 0 (kept in r0 / r1),
// so no accumulator needs a copy of the bias. The groups before the loop
// (PRE, from offset 8P) advance past it too; without PRE groups the first
// group advances alone.
#define TINYOPS_PXN_M7_FIRST_HEAD        \
  "ldr    r11, [lr]\n\t"                \
  "ldr    r0, [ip]\n\t"                 \
  "sxtb16 r10, r11\n\t"                 \
  "ldr    r1, [ip, #4]\n\t"             \
  "sxtb16 r11, r11, ror #8\n\t"         \
  "ldr    r2, [ip, #8]\n\t"             \
  "ldr    r3, [ip, #12]\n\t"
// Pixel a's two words (in r2 / r3) from the bias, loading the next pixel's
// (X bytes on) beside them; the last such pixel loads nothing.
#define TINYOPS_PXN_M7_FIRST_STEP(a, X)   \
  "smlad  " a ", r2, r10, r4\n\t"       \
  "ldr    r2, [ip, #" X "]\n\t"         \
  "smlad  " a ", r3, r11, " a "\n\t"    \
  "ldr    r3, [ip, #(" X "+4)]\n\t"
#define TINYOPS_PXN_M7_FIRST_LAST(a) \
  "smlad  " a ", r2, r10, r4\n\tsmlad  " a ", r3, r11, " a "\n\t"
#define TINYOPS_PXN_M7_FIRST_PIXEL0 "smlad  r4, r0, r10, r4\n\tsmlad  r4, r1, r11, r4\n\t"
#define TINYOPS_PXN_M7_STEPS2 TINYOPS_PXN_M7_FIRST_LAST("r5")
#define TINYOPS_PXN_M7_STEPS3 TINYOPS_PXN_M7_FIRST_STEP("r5", "16") TINYOPS_PXN_M7_FIRST_LAST("r6")
#define TINYOPS_PXN_M7_STEPS4 \
  TINYOPS_PXN_M7_FIRST_STEP("r5", "16") TINYOPS_PXN_M7_FIRST_STEP("r6", "24") \
      TINYOPS_PXN_M7_FIRST_LAST("r7")
#define TINYOPS_PXN_M7_STEPS5 \
  TINYOPS_PXN_M7_FIRST_STEP("r5", "16") TINYOPS_PXN_M7_FIRST_STEP("r6", "24") \
      TINYOPS_PXN_M7_FIRST_STEP("r7", "32") TINYOPS_PXN_M7_FIRST_LAST("r8")
#define TINYOPS_PXN_M7_STEPS6 \
  TINYOPS_PXN_M7_FIRST_STEP("r5", "16") TINYOPS_PXN_M7_FIRST_STEP("r6", "24") \
      TINYOPS_PXN_M7_FIRST_STEP("r7", "32") TINYOPS_PXN_M7_FIRST_STEP("r8", "40") \
          TINYOPS_PXN_M7_FIRST_LAST("r9")
#define TINYOPS_PXN_FIRST(P) \
  TINYOPS_PXN_M7_FIRST_HEAD TINYOPS_PXN_M7_STEPS##P TINYOPS_PXN_M7_FIRST_PIXEL0
#define TINYOPS_PXN_PRE0(P) TINYOPS_PXN_ADVANCE(P, 1)
#define TINYOPS_PXN_PRE1(P) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_ADVANCE(P, 2)
#define TINYOPS_PXN_PRE2(P) TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_ADVANCE(P, 3)
#define TINYOPS_PXN_PRE3(P) \
  TINYOPS_PXN_GRP(P, 1) TINYOPS_PXN_GRP(P, 2) TINYOPS_PXN_GRP(P, 3) TINYOPS_PXN_ADVANCE(P, 4)
#else
// Cortex-M4: LDM of two pixels' words (1 + 4 cycles; four LDRs would take
// as many and a register more), an odd fifth pixel by LDRD.
#define TINYOPS_PXN_REST2 ""
#define TINYOPS_PXN_REST3 \
  "ldrd   r0, r1, [ip], #8\n\tsmlad  r6, r0, r10, r6\n\tsmlad  r6, r1, r11, r6\n\t"
#define TINYOPS_PXN_REST4 TINYOPS_PXN_PAIR("r6", "r7")
#define TINYOPS_PXN_REST5 \
  TINYOPS_PXN_REST4 "ldrd   r0, r1, [ip], #8\n\tsmlad  r8, r0, r10, r8\n\tsmlad  r8, r1, r11, r8\n\t"
#define TINYOPS_PXN_REST6 TINYOPS_PXN_REST4 TINYOPS_PXN_PAIR("r8", "r9")
#define TINYOPS_PXN_GROUP(P) TINYOPS_PXN_W_LDM TINYOPS_PXN_MACS("r4", "r5") TINYOPS_PXN_REST##P
#define TINYOPS_PXN_GROUP4(P) \
  TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
// The first group starts pixels 2 .. P-1 from the bias in r4, then pixel 1
// from it before pixel 0 adds to it.
#define TINYOPS_PXN_FIRST(P)                                                     \
  TINYOPS_PXN_BIAS_FROM2_##P TINYOPS_PXN_W_LDM                                   \
  "smlad  r5, r2, r10, r4\n\t"                                                   \
  "smlad  r5, r3, r11, r5\n\t"                                                   \
  "smlad  r4, r0, r10, r4\n\t"                                                   \
  "smlad  r4, r1, r11, r4\n\t" TINYOPS_PXN_REST##P
#define TINYOPS_PXN_PRE0(P) ""
#define TINYOPS_PXN_PRE1(P) TINYOPS_PXN_GROUP(P)
#define TINYOPS_PXN_PRE2(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
#define TINYOPS_PXN_PRE3(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P) TINYOPS_PXN_GROUP(P)
#endif
#define TINYOPS_PXN_SMMLAR(a) "smmlar " a ", " a ", r0, " a "\n\t"
#define TINYOPS_PXN_SIGN(a) "add    " a ", " a ", " a ", asr #31\n\t"
#define TINYOPS_PXN_QADD(a) "qadd   " a ", " a ", r1\n\t"
#define TINYOPS_PXN_SHIFT(a) "asr    " a ", " a ", r2\n\t"
#define TINYOPS_PXN_SUB(a) "sub    " a ", " a ", r3\n\t"
#define TINYOPS_PXN_SSAT(a) "ssat   " a ", #8, " a "\n\t"
#define TINYOPS_PXN_ADD(a) "add    " a ", " a ", r0\n\t"
// Output stages (output_stage.h's out_apply) by kind.
#define TINYOPS_PXN_OUT_HIGH(P) \
  TINYOPS_PXN_EACH##P(TINYOPS_PXN_SUB) TINYOPS_PXN_EACH##P(TINYOPS_PXN_SSAT)
#define TINYOPS_PXN_OUT_RANGE(P) \
  TINYOPS_PXN_OUT_HIGH(P) "ldr    r0, [sp, #40]\n\t" TINYOPS_PXN_EACH##P(TINYOPS_PXN_ADD)
#define TINYOPS_PXN_OUT_PLAIN(P) TINYOPS_PXN_EACH##P(TINYOPS_PXN_SSAT)
// PRE: (groups - 1) % 4 more groups before the loop of four groups.
#define TINYOPS_PXN_FN(NAME, P, PRE, OUT)                                        \
  __attribute__((naked, noinline)) inline void NAME(const PxFrame*) {           \
    __asm__ volatile(                                                            \
        "push   {r4-r11, lr}\n\t"                                                \
        "sub    sp, sp, #52\n\t"                                                 \
        "ldmia  r0!, {r1-r7}\n\t"                                                \
        "stmia  sp, {r1-r7}\n\t"                                                 \
        "ldmia  r0, {r1-r6}\n\t"                                                 \
        "add    r7, sp, #28\n\t"                                                 \
        "stmia  r7, {r1-r6}\n\t"                                                 \
        "mov    lr, r5\n\t"                                                      \
        ".p2align 2\n\t3:\n\t"                                                   \
        "ldr    r0, [sp, #36]\n\t"                                               \
        "ldr    r4, [r0], #4\n\t"                                                \
        "str    r0, [sp, #36]\n\t"                                               \
        "ldr    ip, [sp, #28]\n\t" TINYOPS_PXN_FIRST(P) PRE(P)                   \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "beq    2f\n\t"                                                          \
        ".p2align 2\n\t1:\n\t" TINYOPS_PXN_GROUP4(P)                             \
        "ldr    r0, [sp, #24]\n\t"                                               \
        "cmp    ip, r0\n\t"                                                      \
        "bne    1b\n\t"                                                          \
        "2:\n\t"                                                                 \
        "ldr    ip, [sp, #32]\n\t"                                               \
        "ldmia  ip!, {r0-r3}\n\t"                                                \
        "str    ip, [sp, #32]\n\t" TINYOPS_PXN_EACH##P(TINYOPS_PXN_SMMLAR)       \
        TINYOPS_PXN_EACH##P(TINYOPS_PXN_SIGN) TINYOPS_PXN_EACH##P(TINYOPS_PXN_QADD) \
        TINYOPS_PXN_EACH##P(TINYOPS_PXN_SHIFT) OUT(P)                            \
        "ldmia  sp, " TINYOPS_PXN_OBREGS##P "\n\t" TINYOPS_PXN_STORE##P          \
        "stmia  sp, " TINYOPS_PXN_OBREGS##P "\n\t"                               \
        "ldr    r0, [sp, #48]\n\t"                                               \
        "cmp    lr, r0\n\t"                                                      \
        "bne    3b\n\t"                                                          \
        "add    sp, sp, #52\n\t"                                                 \
        "pop    {r4-r11, pc}\n\t");                                              \
  }
#define TINYOPS_PXN_FNS(P, KIND, OUT)                                            \
  TINYOPS_PXN_FN(px##P##_##KIND##_0, P, TINYOPS_PXN_PRE0, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_1, P, TINYOPS_PXN_PRE1, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_2, P, TINYOPS_PXN_PRE2, OUT)                   \
  TINYOPS_PXN_FN(px##P##_##KIND##_3, P, TINYOPS_PXN_PRE3, OUT)                   \
  /* By (groups - 1) % 4. */                                                     \
  inline void px##P##_##KIND(int32_t pre, const PxFrame* f) {                    \
    switch (pre) {                                                               \
      case 0: px##P##_##KIND##_0(f); break;                                      \
      case 1: px##P##_##KIND##_1(f); break;                                      \
      case 2: px##P##_##KIND##_2(f); break;                                      \
      default: px##P##_##KIND##_3(f); break;                                     \
    }                                                                            \
  }
#define TINYOPS_PXN_KINDS(P)                             \
  TINYOPS_PXN_FNS(P, high, TINYOPS_PXN_OUT_HIGH)         \
  TINYOPS_PXN_FNS(P, range, TINYOPS_PXN_OUT_RANGE)       \
  TINYOPS_PXN_FNS(P, plain, TINYOPS_PXN_OUT_PLAIN)
TINYOPS_PXN_KINDS(2)
TINYOPS_PXN_KINDS(3)
TINYOPS_PXN_KINDS(4)
TINYOPS_PXN_KINDS(5)
TINYOPS_PXN_KINDS(6)
static_assert(sizeof(PxFrame) == 52 && sizeof(OutConst) == 16, "offsets in TINYOPS_PXN_FN");

// The P-pixel channel loop of one output-stage kind (P = 2 .. 6).
template <int P, int kKind>
inline void pxn_channels(int32_t pre, const PxFrame* f) {
#define TINYOPS_PXN_CALL(N)                              \
  if (P == N) {                                          \
    if (kKind == kOutHigh) {                             \
      px##N##_high(pre, f);                              \
    } else if (kKind == kOutRange) {                     \
      px##N##_range(pre, f);                             \
    } else {                                             \
      px##N##_plain(pre, f);                             \
    }                                                    \
    return;                                              \
  }
  TINYOPS_PXN_CALL(2)
  TINYOPS_PXN_CALL(3)
  TINYOPS_PXN_CALL(4)
  TINYOPS_PXN_CALL(5)
  TINYOPS_PXN_CALL(6)
#undef TINYOPS_PXN_CALL
}

}  // namespace arm_kernels
}  // namespace tinyops
#endif  // TINYOPS_ARM_DSP
