// Runs one op of a partitioned plan: streams its operands between their
// memories and the internal-SRAM tile buffers of its OpSchedule with the DMA
// engine, computing tile k while tile k+1 is fetched and tile k-1 written back.
#pragma once
#include <cstdint>

#include "dma_partition/dma.h"
#include "dma_partition/schedule.h"
#include "dma_partition/tiling.h"

namespace tinyops {

constexpr uint32_t kMaxStatRegions = 8;

// What one op did during one invoke().
struct OpStats {
  uint32_t tiles;                         // kernel calls
  uint32_t transfers;                     // DMA copies started
  uint64_t read_bytes[kMaxStatRegions];   // DMA bytes read from each plan region
  uint64_t write_bytes[kMaxStatRegions];  // DMA bytes written to each plan region
  uint32_t sram_high_water;               // highest SRAM byte offset the op touched
};

struct ScheduledOp {
  OpView view;  // descs, params, in-place flags
  EvalFn eval;  // the kernel's whole-tensor eval
  const OpSchedule* schedule;
  const BufferSlot* operand_slots;  // [num_inputs + num_outputs]
  void* const* data;                // operand storage (inputs then outputs), nullptr if absent
  const uint32_t* region;           // operand plan region, kNoStatRegion if absent
  const uint32_t* sram_offset;      // operand offset in the SRAM region (if it lives there)
  uint32_t sram_region;             // index of the SRAM region
  uint8_t* sram;                    // its base
  // Cross-op weight prefetch: a ticket started by the previous op for this
  // op's first weight tile (valid when `prefetched`).
  bool prefetched;
  DmaTicket prefetch_ticket;
};

constexpr uint32_t kNoStatRegion = 0xFFFFFFFFu;

// Runs `op`; `next` (may be nullptr) is the op that runs after it, whose first
// weight tile is prefetched into op.schedule->next_weights while this op
// computes. Returns the prefetch ticket via next->prefetched/prefetch_ticket.
Status run_scheduled_op(ScheduledOp& op, ScheduledOp* next, DmaEngine& dma, OpStats* stats);

}  // namespace tinyops
