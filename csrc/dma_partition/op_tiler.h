// The per-op tiler, freestanding (no heap, no containers): enumerates the
// candidate tilings of ONE op, prices them, picks the cheapest that fits a
// given amount of SRAM and lays its buffers out. Used where no whole-graph
// planner runs: the TFLM adapter (csrc/tflm) chooses each op's tiling in its
// prepare for the configured SRAM tile arena. The host planner
// (planner_host.cc) uses the same candidates and cost.
#pragma once
#include <cstdint>

#include "dma_partition/schedule.h"
#include "dma_partition/tiling.h"

namespace tinyops {

// Cost model, in byte-equivalents of external DMA time: a DMA transfer's
// set-up and a kernel call's fixed overhead.
constexpr uint64_t kTileTransferCost = 48;
constexpr uint64_t kTileStepCost = 160;
// One MAC takes about as long as one byte of external DMA (Cortex-M7: ~1
// cycle per MAC, SDRAM ~1 cycle per byte at 216 MHz).
constexpr uint64_t kTileBytesPerMac = 1;

// Called once per candidate; returning false stops the enumeration.
using TileCandidateFn = bool (*)(void* user, const TileRequest& request);

// Every candidate tiling of `op`, in a fixed order: kInPlace, kStaged, then
// the family's band / chunk / channel-tile sizes (every distinct tile count),
// then all of those again single-buffered. Candidates need not apply to the
// op (tile_needs() says which do).
void for_each_tile_candidate(const OpView& op, TileCandidateFn fn, void* user);

// Estimated cost of running `op` with a tiling that needs `needs`.
uint64_t tile_cost(const TileRequest& request, const TileNeeds& needs);

// SRAM bytes layout_tiling() uses for `needs`: every buffer rounded up to
// `align` (a power of two), doubled buffers twice.
uint64_t tile_footprint(const TileNeeds& needs, uint32_t align);

struct TileChoice {
  TileRequest request;
  TileNeeds needs;
  uint64_t cost;
  uint64_t footprint;  // tile_footprint(needs, align)
};

// The cheapest applicable tiling of `op` whose footprint fits `avail` bytes
// (first of equal cost). Returns kOk, or kOutOfMemory when none fits, with
// *min_needed = the smallest footprint of any applicable tiling (UINT64_MAX
// when no tiling applies at all).
Status choose_tiling(const OpView& op, uint64_t avail, uint32_t align, TileChoice* choice,
                     uint64_t* min_needed);

// Lays the buffers of `choice` out contiguously from byte `base` (aligned to
// `align`) of the SRAM region: fills `schedule` (next_weights left empty) and
// operand_slots[op.num_inputs + op.num_outputs]. Returns the end offset.
uint64_t layout_tiling(const OpView& op, const TileChoice& choice, uint32_t base, uint32_t align,
                       OpSchedule* schedule, BufferSlot* operand_slots);

}  // namespace tinyops
