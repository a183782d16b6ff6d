// Host check of the Arm DSP ADD / MUL loops (csrc/kernels/elementwise.h,
// namespace ew_dsp): the very loop templates, instantiated over portable
// emulations of the Arm instructions they use, against add_reference /
// mul_reference on every int8 input pair (vector x vector, scalar x vector
// and vector x scalar) for many parameter sets. Built and run by
// tests/test_elementwise_dsp.py; exits 1 on the first mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "arm_emu.h"
#include "kernels/arm/elementwise_dsp.h"
#include "kernels/elementwise.h"
#include "kernels/quant.h"

using namespace tinyops;

namespace {

// Instruction semantics: arm_emu.h's output-stage instructions, plus what
// this harness needs besides.
struct Emu : ArmEmuOutput {
  static int32_t pack(int32_t lo, int32_t hi) {
    return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xffffu) |
                                (static_cast<uint32_t>(hi) << 16));
  }
  static int32_t lo16(int32_t v) {
    return static_cast<int16_t>(static_cast<uint32_t>(v) & 0xffffu);
  }
  static int32_t hi16(int32_t v) { return static_cast<int16_t>(static_cast<uint32_t>(v) >> 16); }
  static int32_t byte(int32_t v, int k) {
    return static_cast<int8_t>((static_cast<uint32_t>(v) >> (8 * k)) & 0xffu);
  }
  static int32_t sxtab16(int32_t a, int32_t x) {
    return pack(lo16(a) + byte(x, 0), hi16(a) + byte(x, 2));
  }
  static int32_t sxtab16_r8(int32_t a, int32_t x) {
    return pack(lo16(a) + byte(x, 1), hi16(a) + byte(x, 3));
  }
  static int32_t smulbb(int32_t a, int32_t b) { return lo16(a) * lo16(b); }
  static int32_t smultt(int32_t a, int32_t b) { return hi16(a) * hi16(b); }
};

std::mt19937_64 rng(12345);
int64_t irand(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
double log_uniform(double lo, double hi) {
  return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
}

std::vector<int8_t> A(65536), B(65536), O(65536 + 8);
long long checked = 0;

void fill_pairs() {
  for (int i = 0; i < 65536; ++i) {
    A[i] = static_cast<int8_t>(i & 0xff);
    B[i] = static_cast<int8_t>(i >> 8);
  }
}

void act_range(int32_t* lo, int32_t* hi) {
  switch (irand(0, 3)) {
    case 0:
      *lo = -128;
      *hi = 127;
      break;
    case 1:
      *lo = static_cast<int32_t>(irand(-128, 127));
      *hi = 127;
      break;
    case 2:
      *lo = static_cast<int32_t>(irand(-128, 0));
      *hi = static_cast<int32_t>(irand(*lo, 127));
      break;
    default:
      *lo = -128;
      *hi = static_cast<int32_t>(irand(-128, 127));
      break;
  }
}

[[noreturn]] void fail(const char* what, int a, int b, int got, int want) {
  std::printf("MISMATCH %s a=%d b=%d got=%d want=%d\n", what, a, b, got, want);
  std::exit(1);
}

// Every (a, b): vv over the 65536 pairs (also misaligned and with an odd
// length for the 4-wide MUL loop), sv / vs over 256 x 256.
template <class Params, class Ref, class VV, class SV>
void check_all(const Params& p, const char* what, Ref ref, VV vv, SV sv) {
  static std::vector<int8_t> want(65536);
  for (int i = 0; i < 65536; ++i) want[i] = ref(p, A[i], B[i]);
  vv(A.data(), B.data(), O.data(), 65536);
  for (int i = 0; i < 65536; ++i) {
    if (O[i] != want[i]) fail(what, A[i], B[i], O[i], want[i]);
  }
  // Offset by 1 (unaligned words) with a length that leaves a 3-element tail.
  std::vector<int8_t> a1(A.begin() + 1, A.end()), b1(B.begin() + 1, B.end());
  vv(a1.data(), b1.data(), O.data() + 1, 65535);
  for (int i = 1; i < 65536; ++i) {
    if (O[i] != want[i]) fail(what, A[i], B[i], O[i], want[i]);
  }
  // A short vector (loops without the ADD tables).
  vv(A.data() + 3, B.data() + 3, O.data(), 1000);
  for (int i = 0; i < 1000; ++i) {
    if (O[i] != want[i + 3]) fail(what, A[i + 3], B[i + 3], O[i], want[i + 3]);
  }
  // In place (output == input 1).
  std::vector<int8_t> ip(A);
  vv(ip.data(), B.data(), ip.data(), 65536);
  for (int i = 0; i < 65536; ++i) {
    if (ip[i] != want[i]) fail(what, A[i], B[i], ip[i], want[i]);
  }
  // Scalar x a long vector (the ADD table with the scalar folded in).
  for (int s : {-128, -3, 0, 77, 127}) {
    for (int first = 0; first < 2; ++first) {
      sv(first == 1, static_cast<int8_t>(s), B.data(), O.data(), 4096);
      for (int k = 0; k < 4096; ++k) {
        const int8_t w =
            first ? ref(p, static_cast<int8_t>(s), B[k]) : ref(p, B[k], static_cast<int8_t>(s));
        if (O[k] != w) fail(what, first ? s : B[k], first ? B[k] : s, O[k], w);
      }
    }
  }
  int8_t row[256];
  for (int k = 0; k < 256; ++k) row[k] = static_cast<int8_t>(k - 128);
  for (int s = -128; s < 128; ++s) {
    int8_t o[256];
    sv(true, static_cast<int8_t>(s), row, o, 256);  // scalar is input 1
    for (int k = 0; k < 256; ++k) {
      const int8_t w = ref(p, static_cast<int8_t>(s), row[k]);
      if (o[k] != w) fail(what, s, row[k], o[k], w);
    }
    sv(false, static_cast<int8_t>(s), row, o, 256);  // scalar is input 2
    for (int k = 0; k < 256; ++k) {
      const int8_t w = ref(p, row[k], static_cast<int8_t>(s));
      if (o[k] != w) fail(what, row[k], s, o[k], w);
    }
  }
  checked += 65536 * 4;
}

// The portable rescale of one ADD input (AddOp::pa in add.cc).
int32_t add_rescale(int32_t v, int32_t offset, int32_t m, int32_t shift) {
  return multiply_by_quantized_multiplier_smaller_than_one_exp((v + offset) * (1 << 20), m, shift);
}

bool run_add(const AddParams& p, const char* what) {
  ew_dsp::AddDsp d;
  if (!ew_dsp::add_dsp_setup(p, &d)) return false;
  // Input-side formula alone, every int8 value.
  for (int v = -128; v < 128; ++v) {
    const int32_t w1 = add_rescale(v, p.input1_offset, p.input1_multiplier, p.input1_shift);
    const int32_t g1 =
        d.in1.shift
            ? ew_dsp::add_input<Emu, true>(v, d.in1.base, d.in1.m2, d.in1.round, d.in1.shift)
            : ew_dsp::add_input<Emu, false>(v, d.in1.base, d.in1.m2, d.in1.round, d.in1.shift);
    if (g1 != w1) fail("add input rescale", v, 0, g1, w1);
  }
  check_all(
      p, what, [](const AddParams& q, int8_t a, int8_t b) { return add_reference(q, a, b); },
      [&](const int8_t* a, const int8_t* b, int8_t* o, int32_t n) {
        ew_dsp::add_vv_dispatch<Emu>(d, a, b, o, n);
      },
      [&](bool scalar_first, int8_t s, const int8_t* v, int8_t* o, int32_t n) {
        if (scalar_first) {
          ew_dsp::add_sv_dispatch<Emu>(
              d, add_rescale(s, p.input1_offset, p.input1_multiplier, p.input1_shift), d.in2, v, o,
              n);
        } else {
          ew_dsp::add_sv_dispatch<Emu>(
              d, add_rescale(s, p.input2_offset, p.input2_multiplier, p.input2_shift), d.in1, v, o,
              n);
        }
      });
  return true;
}

bool run_mul(const MulParams& p, const char* what) {
  ew_dsp::MulDsp d;
  if (!ew_dsp::mul_dsp_setup(p, &d)) return false;
  check_all(
      p, what, [](const MulParams& q, int8_t a, int8_t b) { return mul_reference(q, a, b); },
      [&](const int8_t* a, const int8_t* b, int8_t* o, int32_t n) {
        ew_dsp::mul_vv_dispatch<Emu>(d, a, b, o, n);
      },
      [&](bool scalar_first, int8_t s, const int8_t* v, int8_t* o, int32_t n) {
        if (scalar_first) {
          ew_dsp::mul_sv_dispatch<Emu>(d, s + p.input1_offset, p.input2_offset, v, o, n);
        } else {
          ew_dsp::mul_sv_dispatch<Emu>(d, s + p.input2_offset, p.input1_offset, v, o, n);
        }
      });
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 200;
  fill_pairs();
  // Primitive sanity: SMMLAR against 128-bit arithmetic on random operands.
  for (int i = 0; i < 1000000; ++i) {
    const int32_t a = static_cast<int32_t>(rng()), b = static_cast<int32_t>(rng()),
                  c = static_cast<int32_t>(rng());
    const __int128 s = static_cast<__int128>(c) * (static_cast<__int128>(1) << 32) +
                       static_cast<__int128>(a) * b + (static_cast<__int128>(1) << 31);
    const int32_t want =
        static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s >> 32)));
    if (Emu::smmlar(a, b, c) != want) fail("smmlar emulation", a, b, Emu::smmlar(a, b, c), want);
  }
  int add_fast = 0, add_generic = 0, mul_fast = 0, mul_generic = 0;
  for (int it = 0; it < iters; ++it) {
    // ADD: parameters as add_prepare derives them from random scales, then
    // random raw multipliers / shifts (every input shift 0..31, output 1..23).
    AddParams ap;
    std::memset(&ap, 0, sizeof(ap));
    ap.left_shift = 20;
    ap.input1_offset = -static_cast<int32_t>(irand(-128, 127));
    ap.input2_offset = -static_cast<int32_t>(irand(-128, 127));
    ap.output_offset = static_cast<int32_t>(irand(-128, 127));
    act_range(&ap.act_min, &ap.act_max);
    bool ok = true;
    if (it % 2 == 0) {
      const double s1 = log_uniform(1e-4, 1.0), s2 = it % 8 == 0 ? s1 : log_uniform(1e-4, 1.0);
      const double so = log_uniform(1e-4, 2.0);
      const double twice = 2 * (s1 > s2 ? s1 : s2);
      int sh1, sh2, sho;
      ok = quantize_multiplier_smaller_than_one_exp(s1 / twice, &ap.input1_multiplier, &sh1) &&
           quantize_multiplier_smaller_than_one_exp(s2 / twice, &ap.input2_multiplier, &sh2) &&
           quantize_multiplier_smaller_than_one_exp(twice / ((1 << 20) * so), &ap.output_multiplier,
                                                    &sho);
      ap.input1_shift = sh1;
      ap.input2_shift = sh2;
      ap.output_shift = sho;
    } else {
      ap.input1_multiplier = static_cast<int32_t>(irand(1 << 30, INT32_MAX));
      ap.input2_multiplier = static_cast<int32_t>(irand(1 << 30, INT32_MAX));
      ap.output_multiplier = static_cast<int32_t>(irand(1 << 30, INT32_MAX));
      ap.input1_shift = -static_cast<int32_t>(irand(0, 31));
      ap.input2_shift = -static_cast<int32_t>(it % 3 == 0 ? 0 : irand(0, 31));
      ap.output_shift = -static_cast<int32_t>(irand(0, 24));
    }
    if (ok) {
      if (run_add(ap, "ADD")) ++add_fast;
      else ++add_generic;
    }
    // MUL.
    MulParams mp;
    std::memset(&mp, 0, sizeof(mp));
    mp.input1_offset = -static_cast<int32_t>(irand(-128, 127));
    mp.input2_offset = -static_cast<int32_t>(irand(-128, 127));
    mp.output_offset = static_cast<int32_t>(irand(-128, 127));
    act_range(&mp.act_min, &mp.act_max);
    if (it % 2 == 0) {
      const double r = log_uniform(1e-6, 2.0);
      int sh;
      if (!quantize_multiplier(r, &mp.output_multiplier, &sh)) continue;
      mp.output_shift = sh;
    } else {
      mp.output_multiplier = static_cast<int32_t>(irand(1 << 30, INT32_MAX));
      mp.output_shift = -static_cast<int32_t>(irand(0, 24));
    }
    if (run_mul(mp, "MUL")) ++mul_fast;
    else ++mul_generic;
  }
  std::printf("OK pairs=%lld add_fast=%d add_generic=%d mul_fast=%d mul_generic=%d\n", checked,
              add_fast, add_generic, mul_fast, mul_generic);
  return 0;
}
