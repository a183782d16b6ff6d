// Portable semantics of the Arm instructions the DSP output stages use (Arm
// ARM, ARMv7-M): the exact two's-complement bit patterns they produce. The
// harnesses instantiate the kernels' formulas over these on the host.
#pragma once
#include <cstdint>

struct ArmEmuOutput {
  static int32_t smmlar(int32_t a, int32_t b, int32_t c) {
    // SMMLAR: (R[c]:0 + R[a] * R[b] + 0x80000000)<63:32>, 64-bit wrap.
    const uint64_t sum = (static_cast<uint64_t>(static_cast<uint32_t>(c)) << 32) +
                         static_cast<uint64_t>(static_cast<int64_t>(a) * b) + 0x80000000ull;
    return static_cast<int32_t>(static_cast<uint32_t>(sum >> 32));
  }
  static int32_t qadd(int32_t a, int32_t b) {
    const int64_t s = static_cast<int64_t>(a) + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : static_cast<int32_t>(s));
  }
  static int32_t ssat8(int32_t x) { return x > 127 ? 127 : (x < -128 ? -128 : x); }
};
