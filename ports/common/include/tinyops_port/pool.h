// The engine's allocator on firmware: a bump allocator over the internal RAM
// the linker leaves free (CCM/DTCM, then SRAM), spilling into the free SDRAM.
// Nothing is ever freed; load() happens once.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tinyops/op_api.h"

namespace tinyops_port {

struct PoolTier {
  const char* name;
  uintptr_t start;
  uintptr_t end;
  uintptr_t next;
  uint32_t used() const { return static_cast<uint32_t>(next - start); }
  uint32_t capacity() const { return static_cast<uint32_t>(end - start); }
};

class TieredPool {
 public:
  static constexpr int kMaxTiers = 4;
  void add_tier(const char* name, void* start, void* end);
  void* alloc(size_t bytes, size_t align);
  tinyops::Allocator allocator();
  int num_tiers() const { return num_tiers_; }
  const PoolTier& tier(int i) const { return tiers_[i]; }
  uint32_t failed_bytes() const { return failed_bytes_; }

 private:
  PoolTier tiers_[kMaxTiers] = {};
  int num_tiers_ = 0;
  uint32_t failed_bytes_ = 0;
};

// The firmware's pool: free fast RAM, free SRAM, free SDRAM (linker symbols).
TieredPool& firmware_pool();

}  // namespace tinyops_port
