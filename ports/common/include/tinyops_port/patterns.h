// The firmware's deterministic inputs and output checksums, shared by the
// plan runner (src/runner.cc) and the TFLM example (tflm_example/main.cc) so
// both print what the host side (tinyops_tflm/emulate.py) recomputes.
#pragma once
#include <cstdint>

namespace tinyops_port {

// 32-bit FNV-1a of n bytes (the "fnv1a32=" of the output lines).
inline uint32_t fnv1a32(const uint8_t* p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

// xorshift32 bytes from `seed` (seed 1 for input 0, ...).
inline void fill_pattern(uint8_t* p, uint32_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (uint32_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<uint8_t>(x);
  }
}

}  // namespace tinyops_port
