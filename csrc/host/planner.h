// The TinyOps planner (host only): places every tensor in a board memory and
// chooses each op's tiling so that internal SRAM never holds more than the
// budget, minimising estimated external-memory traffic.
//
// Two levels, DORY-style: a per-op tiler (tile_needs() over candidate band /
// channel-tile sizes) and a global allocator that decides which activations
// stay resident in SRAM, then packs resident tensors and per-op tile
// workspaces by lifetime. The result is turned into a plan by the Python
// front end and checked again when the executor loads it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dma_partition/op_tiler.h"
#include "dma_partition/schedule.h"
#include "dma_partition/tiling.h"
#include "runtime/executor.h"

namespace tinyops {

struct MemorySpec {
  MemoryKind kind;
  uint32_t capacity;  // bytes the plan may use
  bool dma;
  bool writable;
  bool cpu_direct;  // kernels may read it in place
  // DMA cycles per KiB between this memory and SRAM (0: the cost model's
  // dma_cycles_per_kib): QSPI streams several times slower than SDRAM.
  uint32_t dma_cycles_per_kib = 0;
};

struct PlannerConfig {
  std::vector<MemorySpec> memories;  // must include one kSram
  uint32_t sram_budget = 0;
  bool resident_activations = true;            // let the allocator keep activations in SRAM
  bool prefetch_weights = true;                // prefetch next op's first weight tile
  TileCostModel cost = kDefaultTileCostModel;  // the board's, from the estimator's tables
};

struct TensorPlacement {
  int32_t memory = -1;  // index into PlannerConfig::memories, -1: no storage
  uint32_t offset = 0;
  int32_t first_op = 0, last_op = 0;  // lifetime (activations)
};

struct OpPlan {
  TileRequest request{};
  TileNeeds needs{};
  OpSchedule schedule{};
  std::vector<BufferSlot> operand_slots;
  uint64_t cost = 0;
};

struct PlanResult {
  bool ok = false;
  std::string error;
  int32_t failed_op = -1;
  uint64_t needed_bytes = 0;
  std::vector<TensorPlacement> tensors;
  std::vector<OpPlan> ops;
  std::vector<uint32_t> memory_used;  // bytes per memory
  uint32_t sram_peak = 0;
};

PlanResult plan_partition(const Executor& exec, const PlannerConfig& config);

}  // namespace tinyops
