#include "tinyops_port/pool.h"

extern "C" {
extern uint8_t __pool_fast_start, __pool_fast_end;
extern uint8_t __pool_sram_start, __pool_sram_end;
extern uint8_t __pool_sdram_start, __pool_sdram_end;
}

namespace tinyops_port {

void TieredPool::add_tier(const char* name, void* start, void* end) {
  if (num_tiers_ == kMaxTiers) return;
  const auto s = reinterpret_cast<uintptr_t>(start);
  const auto e = reinterpret_cast<uintptr_t>(end);
  tiers_[num_tiers_++] = PoolTier{name, s, e > s ? e : s, s};
}

void* TieredPool::alloc(size_t bytes, size_t align) {
  if (align < 4) align = 4;
  for (int i = 0; i < num_tiers_; ++i) {
    PoolTier& t = tiers_[i];
    const uintptr_t at = (t.next + align - 1) & ~(static_cast<uintptr_t>(align) - 1);
    if (at >= t.next && at <= t.end && bytes <= t.end - at) {
      t.next = at + bytes;
      return reinterpret_cast<void*>(at);
    }
  }
  failed_bytes_ += static_cast<uint32_t>(bytes);
  return nullptr;
}

tinyops::Allocator TieredPool::allocator() {
  return tinyops::Allocator{[](void* self, size_t bytes, size_t align) {
                              return static_cast<TieredPool*>(self)->alloc(bytes, align);
                            },
                            this};
}

TieredPool& firmware_pool() {
  static TieredPool pool;
  static bool ready = false;
  if (!ready) {
    pool.add_tier("fast", &__pool_fast_start, &__pool_fast_end);
    pool.add_tier("sram", &__pool_sram_start, &__pool_sram_end);
    pool.add_tier("sdram", &__pool_sdram_start, &__pool_sdram_end);
    ready = true;
  }
  return pool;
}

}  // namespace tinyops_port
