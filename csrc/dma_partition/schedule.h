// How one op runs on a partitioned plan: its strategy, tile sizes and the
// internal-SRAM buffers (offsets in the plan's SRAM region) it streams
// through. Part of the plan format (stored in the plan's pool).
#pragma once
#include <cstdint>

namespace tinyops {

// Physical memories a plan region can be (values are part of the plan format
// and equal tinyops_tflm.boards.MEMORY_KIND_CODES).
enum class MemoryKind : uint32_t {
  kSram = 0,
  kCcm = 1,    // core-coupled: CPU only, DMA cannot reach it
  kFlash = 2,  // internal flash, read in place
  kSdram = 3,
  kQspi = 4,  // memory-mapped NOR, read-only
  kHost = 5,  // host memory of an unpartitioned plan
};

enum RegionFlags : uint32_t {
  kRegionDma = 1u << 0,        // the DMA engine reaches it
  kRegionCpuDirect = 1u << 1,  // kernels may read/write it in place
};

enum class Strategy : uint32_t {
  kInPlace = 0,   // every operand is CPU-direct: run the kernel on whole tensors
  kStaged = 1,    // DMA external operands whole into SRAM, run, DMA outputs back
  kCopy = 2,      // byte copy (RESHAPE/SQUEEZE): one DMA, memory to memory
  kRows = 3,      // output row bands (x channel tiles for conv weights)
  kFlat = 4,      // element-wise on flat chunks
  kChannels = 5,  // FULLY_CONNECTED: output-channel tiles of the weights
};

enum class TileOrder : uint32_t {
  kChannelsOuter = 0,  // weight tile loaded once, input bands re-fetched per tile
  kRowsOuter = 1,      // input band loaded once, weight tiles re-fetched per band
};

struct BufferSlot {
  uint32_t offset;  // in the SRAM region
  uint32_t bytes;   // 0: slot unused
};

constexpr uint32_t kNoSchedule = 0xFFFFFFFFu;

enum ScheduleFlags : uint32_t {
  // One buffer per streamed operand instead of two: transfers no longer
  // overlap compute, but the working set halves (for the tightest budgets).
  kSingleBuffer = 1u << 0,
};

struct OpSchedule {
  uint32_t strategy;          // Strategy
  uint32_t order;             // TileOrder (kRows with channel tiles)
  int32_t rows_per_band;      // kRows: output rows per band; kFlat: elements per chunk
  int32_t channels_per_tile;  // kRows (conv) / kChannels: output channels per tile
  BufferSlot in_band[2];      // streamed activation input 0 (ping, pong)
  BufferSlot in2_band[2];     // streamed activation input 1 (binary ops)
  BufferSlot weights[2];      // weight tiles (ping, pong)
  BufferSlot out_band[2];     // output bands written back by DMA
  BufferSlot scratch;         // kernel scratch / accumulators
  BufferSlot next_weights;    // where the NEXT op's first weight tile is prefetched
  uint32_t operand_slots;     // pool offset of BufferSlot[num_inputs + num_outputs]:
                              // whole-tensor staging (bytes 0: used in place)
  uint32_t flags;             // ScheduleFlags
  uint32_t reserved[2];
};
static_assert(sizeof(OpSchedule) == 16 + 10 * 8 + 16, "plan format");

}  // namespace tinyops
