// Scratch carving shared by the kernels: 16-byte aligned pieces, sized the
// same way on every target so a plan's scratch sizes do not depend on the
// machine that computed them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyops {
namespace conv_detail {

inline uint32_t align16(uint32_t bytes) { return (bytes + 15u) & ~15u; }
inline int32_t round_up16(int32_t n) { return (n + 15) & ~15; }

// Scratch layout helper: carves 16-byte aligned pieces from a scratch pointer.
struct ScratchCursor {
  uint8_t* p;
  template <typename T>
  T* take(size_t n) {
    T* r = reinterpret_cast<T*>(p);
    p += (n * sizeof(T) + 15u) & ~size_t{15};
    return r;
  }
};

}  // namespace conv_detail
}  // namespace tinyops
