// Choosing the x86 kernel level once, from CPUID and TINYOPS_ISA (dispatch.h).
#include "kernels/x86/dispatch.h"

#if TINYOPS_X86_DISPATCH
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/x86/isa.h"

namespace tinyops {
namespace x86 {
namespace {

// What each level needs from the CPU. __builtin_cpu_supports also checks that
// the OS saves the AVX / AVX-512 register state (XCR0).
struct Requirement {
  Isa isa;
  const char* features[10];
};
constexpr Requirement kRequirements[] = {
    {Isa::kAvx2, {"avx2", "fma", "bmi", "bmi2", "popcnt", nullptr}},
    {Isa::kAvx512,
     {"avx2", "fma", "bmi", "bmi2", "popcnt", "avx512f", "avx512bw", "avx512vl", "avx512dq",
      "avx512vnni"}},
};

// __builtin_cpu_supports needs literal names, so each is spelled out once.
bool cpu_has(const char* f) {
  if (!std::strcmp(f, "avx2")) return __builtin_cpu_supports("avx2");
  if (!std::strcmp(f, "fma")) return __builtin_cpu_supports("fma");
  if (!std::strcmp(f, "bmi")) return __builtin_cpu_supports("bmi");
  if (!std::strcmp(f, "bmi2")) return __builtin_cpu_supports("bmi2");
  if (!std::strcmp(f, "popcnt")) return __builtin_cpu_supports("popcnt");
  if (!std::strcmp(f, "avx512f")) return __builtin_cpu_supports("avx512f");
  if (!std::strcmp(f, "avx512bw")) return __builtin_cpu_supports("avx512bw");
  if (!std::strcmp(f, "avx512vl")) return __builtin_cpu_supports("avx512vl");
  if (!std::strcmp(f, "avx512dq")) return __builtin_cpu_supports("avx512dq");
  if (!std::strcmp(f, "avx512vnni")) return __builtin_cpu_supports("avx512vnni");
  if (!std::strcmp(f, "avx512vbmi")) return __builtin_cpu_supports("avx512vbmi");
  return false;
}

// The first feature of `isa` this CPU lacks, or nullptr.
const char* missing_feature(Isa isa) {
  for (const Requirement& r : kRequirements) {
    if (r.isa != isa) continue;
    for (const char* f : r.features) {
      if (f != nullptr && !cpu_has(f)) return f;
    }
  }
  return nullptr;
}

Kernels table_for(Isa isa) {
  Kernels k{Isa::kPortable, nullptr, nullptr, nullptr, nullptr, 0,
            nullptr,        nullptr, nullptr, nullptr};
  k.isa = isa;
  if (isa == Isa::kAvx2) {
    k.requant_rows = avx2::requant_rows;
    k.gemm_pack_bytes = avx2::gemm_pack_bytes;
    k.gemm_pack = avx2::gemm_pack;
    k.gemm_packed = avx2::gemm_packed;
    k.gemm_input_shift = 0;
    k.dw_row = avx2::dw_row;
    k.add = avx2::add;
    k.mul = avx2::mul;
  } else if (isa == Isa::kAvx512) {
    k.requant_rows = avx512::requant_rows;
    k.gemm_pack_bytes = avx512::gemm_pack_bytes;
    k.gemm_pack = avx512::gemm_pack;
    k.gemm_packed = avx512::gemm_packed;
    k.gemm_input_shift = -128;
    k.dw_row = avx512::dw_row;
    k.add = avx512::add;
    k.mul = avx512::mul;
    if (cpu_has("avx512vbmi")) k.lut8 = avx512::lut8_vbmi;
  }
  return k;
}

struct State {
  Kernels kernels;
  uint32_t supported;
  char error[256];
};

State select() {
  __builtin_cpu_init();  // may run before the constructors of libgcc's CPU model
  State s{};
  s.supported = 1u << static_cast<int>(Isa::kPortable);
  for (const Requirement& r : kRequirements) {
    if (missing_feature(r.isa) == nullptr) s.supported |= 1u << static_cast<int>(r.isa);
  }
  Isa best = Isa::kPortable;
  for (int i = kNumIsas - 1; i > 0; --i) {
    if (s.supported & (1u << i)) {
      best = static_cast<Isa>(i);
      break;
    }
  }
  s.kernels = table_for(Isa::kPortable);
  const char* want = std::getenv("TINYOPS_ISA");
  if (want == nullptr || want[0] == '\0' || !std::strcmp(want, "auto")) {
    s.kernels = table_for(best);
    return s;
  }
  for (int i = 0; i < kNumIsas; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (std::strcmp(want, isa_name(isa)) != 0) continue;
    if (const char* f = missing_feature(isa)) {
      std::snprintf(s.error, sizeof(s.error),
                    "TINYOPS_ISA=%s, but this CPU (or OS) lacks %s; it supports: %s%s%s "
                    "(unset TINYOPS_ISA to pick the best)",
                    want, f, "portable", (s.supported & 2u) ? ", avx2" : "",
                    (s.supported & 4u) ? ", avx512" : "");
      return s;
    }
    s.kernels = table_for(isa);
    return s;
  }
  std::snprintf(s.error, sizeof(s.error),
                "TINYOPS_ISA=%.64s is not a kernel level: use portable, avx2, avx512 or auto "
                "(or leave it unset)",
                want);
  return s;
}

const State& state() {
  static const State s = select();
  return s;
}

}  // namespace

const Kernels& kernels() { return state().kernels; }

const char* isa_error() { return state().error[0] ? state().error : nullptr; }

uint32_t supported_isas() { return state().supported; }

}  // namespace x86
}  // namespace tinyops
#endif  // TINYOPS_X86_DISPATCH
