// The serialized plan: what the Python front end writes, what firmware embeds
// as a C array and what the executor validates on load. Little-endian, every
// record 4-byte aligned, offsets relative to the start of the plan.
//
// Version 2 adds physical memories per region and per-op schedules
// (partitioned plans).
//
// Layout: PlanHeader | RegionRecord[num_regions] | TensorRecord[num_tensors]
//         | OpRecord[num_ops] | int32 io[num_inputs + num_outputs] | pool
// The pool holds variable-length data: per-channel scales (float32), operator
// tensor lists (int32) and NUL-terminated tensor names.
#pragma once
#include <cstdint>

#include "dma_partition/schedule.h"
#include "tinyops/types.h"

namespace tinyops {

constexpr uint32_t kPlanMagic = 0x4C504F54;  // "TOPL"
constexpr uint32_t kPlanVersion = 2;

struct PlanHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t total_bytes;
  uint32_t num_regions;
  uint32_t num_tensors;
  uint32_t num_ops;
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint32_t pool_offset;
  uint32_t pool_bytes;
  uint32_t sram_region;  // region holding tile buffers, kNoRegion: unpartitioned
  uint32_t reserved[5];
};
static_assert(sizeof(PlanHeader) == 64, "plan format");

// Where tensor bytes live. The executor is handed one base pointer per region.
enum class RegionKind : uint32_t {
  kArena = 0,     // read-write activations (host arena, SRAM or SDRAM)
  kConstant = 1,  // read-only model constants (host blob, flash or QSPI)
};

struct RegionRecord {
  uint32_t kind;    // RegionKind
  uint32_t bytes;   // capacity the plan needs
  uint32_t memory;  // MemoryKind (dma_partition/schedule.h)
  uint32_t flags;   // RegionFlags: DMA-reachable, CPU-direct
};
static_assert(sizeof(RegionRecord) == 16, "plan format");

constexpr uint32_t kNoRegion = 0xFFFFFFFFu;

struct TensorRecord {
  uint8_t type;  // DType
  uint8_t rank;
  uint8_t reserved0[2];
  int32_t dims[kMaxRank];
  uint32_t region;  // index into the region table, kNoRegion for "no storage"
  uint32_t offset;  // byte offset in the region
  uint32_t bytes;   // == num_elements * dtype_size
  float scale;
  int32_t zero_point;
  uint32_t scales_offset;  // pool offset of num_scales float32 values
  uint32_t num_scales;     // 0: not quantized
  int32_t quantized_dimension;
  uint32_t name_offset;  // pool offset of a NUL-terminated name
};
static_assert(sizeof(TensorRecord) == 64, "plan format");

struct OpRecord {
  int32_t opcode;  // TFLite BuiltinOperator
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint32_t tensors_offset;  // pool offset: int32 inputs[num_inputs] then outputs
  OpOptions options;
  uint32_t schedule_offset;  // pool offset of an OpSchedule, kNoSchedule: in place
  uint32_t reserved[3];
};
static_assert(sizeof(OpRecord) == 32 + sizeof(OpOptions), "plan format");

}  // namespace tinyops
