// Host check of the Arm DSP convolution output stage (csrc/kernels/arm/
// output_stage.h): out_const_setup + out_apply, instantiated over portable
// emulations of SMMLAR / QADD / SSAT, against TFLM's generic stage
// (multiply_by_quantized_multiplier, + output offset, max(act_min) then
// min(act_max)). Built and run by tests/test_dsp_paths.py.
//
// For many parameter sets -- multipliers from random effective scales (as
// prepare computes them) and raw multipliers in [2^30, 2^31) with every right
// shift 0..31 (out-of-range ones must be refused), random output offsets and
// every kind of fused activation range (none, RELU, RELU6, RELU_N1_TO_1-like,
// arbitrary) -- it checks accumulators at the
// int32 extremes, random ones of every magnitude, and a sweep around each
// output value's boundaries (where TFLM's two roundings tie). Exits 1 on the
// first mismatch; prints "OK ..." with counts.
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "arm_emu.h"
#include "kernels/arm/output_stage.h"
#include "kernels/quant.h"

using namespace tinyops;
using namespace tinyops::arm_kernels;

namespace {

struct Emu : ArmEmuOutput {};

std::mt19937_64 rng(20241);
int64_t irand(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

int32_t reference(int32_t acc, int32_t m, int shift, int32_t off, int32_t lo, int32_t hi) {
  int32_t v = multiply_by_quantized_multiplier(acc, m, shift) + off;
  v = v > lo ? v : lo;
  return v < hi ? v : hi;
}

long long checked = 0, refused = 0, param_sets = 0, full_range = 0;
long long kinds[3] = {0, 0, 0};

void check_one(int32_t acc, int32_t m, int e, int32_t off, int32_t lo, int32_t hi, OutKind kind,
               const OutConst& c) {
  int32_t got = 0;
  if (kind == kOutHigh) {
    got = out_apply<Emu, kOutHigh>(acc, c.m2, c.round, c.shift, c.sub, lo + 128);
  } else if (kind == kOutRange) {
    got = out_apply<Emu, kOutRange>(acc, c.m2, c.round, c.shift, c.sub, lo + 128);
  } else {
    got = out_apply<Emu, kOutPlain>(acc, c.m2, c.round, c.shift, c.sub, lo + 128);
  }
  const int32_t want = reference(acc, m, -e, off, lo, hi);
  ++checked;
  if (got != want) {
    std::printf("MISMATCH acc=%ld m=%ld e=%d off=%ld act=[%ld,%ld] kind=%d: got %ld want %ld\n",
                static_cast<long>(acc), static_cast<long>(m), e, static_cast<long>(off),
                static_cast<long>(lo), static_cast<long>(hi), static_cast<int>(kind),
                static_cast<long>(got), static_cast<long>(want));
    std::exit(1);
  }
}

void act_range(int32_t off, int32_t* lo, int32_t* hi) {
  switch (irand(0, 5)) {
    case 0:
      *lo = -128;
      *hi = 127;
      break;  // NONE
    case 1:
      *lo = -128;
      *hi = static_cast<int32_t>(irand(off, 127));
      break;  // RELU6, zp -128
    case 2:
      *lo = off;
      *hi = 127;
      break;  // RELU
    case 3:
      *lo = off;
      *hi = static_cast<int32_t>(irand(off, 127));
      break;  // RELU6
    case 4:
      *lo = static_cast<int32_t>(irand(-128, 127));  // anything
      *hi = static_cast<int32_t>(irand(*lo, 127));
      break;
    default:
      *lo = -128;
      *hi = static_cast<int32_t>(irand(-128, 127));
      break;  // hi may be < off
  }
}

void run_params(int32_t m, int e, int32_t off, int32_t lo, int32_t hi, bool plain) {
  ++param_sets;
  const OutOp op = out_op(off, lo, hi, plain);
  const OutKind kind = op.kind;
  OutConst c{};
  if (!out_const_setup(op, m, 0, e, &c)) {
    ++refused;
    // Refusals are only allowed where the fast form is not proven.
    if (e >= 1 && e <= 23 && m >= (1 << 30) && (kind == kOutPlain || hi >= off)) {
      std::printf("REFUSED m=%ld e=%d off=%ld act=[%ld,%ld]\n", static_cast<long>(m), e,
                  static_cast<long>(off), static_cast<long>(lo), static_cast<long>(hi));
      std::exit(1);
    }
    return;
  }
  ++kinds[kind];
  if (kind == kOutHigh && lo == -128 && hi == 127) ++full_range;
  static const int32_t fixed[] = {INT32_MIN, INT32_MIN + 1, INT32_MIN + 2, -1,      0,
                                  1,         INT32_MAX - 1, INT32_MAX,     1 << 30, -(1 << 30)};
  for (int32_t a : fixed) check_one(a, m, e, off, lo, hi, kind, c);
  for (int i = 0; i < 400; ++i) {
    const int bits = static_cast<int>(irand(0, 31));
    const int64_t a = irand(-(int64_t{1} << bits), (int64_t{1} << bits) - 1);
    check_one(static_cast<int32_t>(a), m, e, off, lo, hi, kind, c);
  }
  // Around the boundaries of every output value t (and the clamp points): the
  // accumulator whose exact scaled value is (t - off + 1/2), +- a few.
  const double scale = static_cast<double>(m) / std::ldexp(1.0, 31 + e);
  for (int t = -140; t <= 140; ++t) {
    const double center = (t - off + 0.5) / scale;
    if (!(center > INT32_MIN + 8.0 && center < INT32_MAX - 8.0)) continue;
    const int64_t a0 = static_cast<int64_t>(std::floor(center));
    for (int64_t d = -3; d <= 3; ++d)
      check_one(static_cast<int32_t>(a0 + d), m, e, off, lo, hi, kind, c);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 2000;
  for (int it = 0; it < iters; ++it) {
    const int32_t off = static_cast<int32_t>(irand(-128, 127));
    int32_t lo, hi;
    act_range(off, &lo, &hi);
    if (it % 2 == 0) {
      // An effective scale as conv prepare computes it (QuantizeMultiplier).
      const double eff =
          std::exp(std::uniform_real_distribution<double>(std::log(1e-8), std::log(4.0))(rng));
      int32_t q = 0;
      int s = 0;
      if (!quantize_multiplier(eff, &q, &s) || s > 0) continue;
      run_params(q, -s, off, lo, hi, it % 4 == 0);
    } else {
      const int32_t m = static_cast<int32_t>(irand(int64_t{1} << 30, (int64_t{1} << 31) - 1));
      run_params(m, static_cast<int>(irand(0, 31)), off, lo, hi, it % 4 == 1);
    }
  }
  std::printf(
      "OK checked=%lld param_sets=%lld refused=%lld high=%lld range=%lld plain=%lld "
      "high_full_range=%lld\n",
      checked, param_sets, refused, kinds[kOutHigh], kinds[kOutRange], kinds[kOutPlain],
      full_range);
  return 0;
}
