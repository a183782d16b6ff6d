// The per-op tiler, freestanding (no heap, no containers): enumerates the
// candidate tilings of ONE op, prices them, picks the cheapest that fits a
// given amount of SRAM and lays its buffers out. Used where no whole-graph
// planner runs: the TFLM adapter (csrc/tflm) chooses each op's tiling in its
// prepare for the configured SRAM tile arena. The host planner
// (csrc/host/planner.cc) uses the same candidates and cost.
#pragma once
#include <cstdint>

#include "dma_partition/schedule.h"
#include "dma_partition/tiling.h"

namespace tinyops {

// Cost model of a tiling, in cycles: compute per unit of op work (MAC, or
// element for element-wise ops) by op family, DMA per KiB moved, set-up per
// transfer and fixed cost per kernel call. The host planner fills it from the
// latency estimator's cost tables and the board's DMA timing
// (tinyops_tflm.latency.tile_cost_model); the defaults (about one cycle per
// MAC and per external byte on a Cortex-M7) serve where no board is known,
// e.g. the TFLM adapter.
struct TileCostModel {
  uint32_t work_cycles_milli[kNumOpFamilies];  // cycles per 1000 units of work, by OpFamily
  uint32_t dma_cycles_per_kib;
  uint32_t transfer_cycles;
  uint32_t step_cycles;
  // Cycles per 1000 input elements unpacked again per extra channel tile
  // (TileNeeds::reread_elems), by OpFamily.
  uint32_t reread_cycles_milli[kNumOpFamilies];
};
extern const TileCostModel kDefaultTileCostModel;

// Called once per candidate; returning false stops the enumeration.
using TileCandidateFn = bool (*)(void* user, const TileRequest& request);

// Every candidate tiling of `op`, in a fixed order: kInPlace, kStaged, then
// the family's band / chunk / channel-tile sizes (every distinct tile count),
// then all of those again single-buffered. Candidates need not apply to the
// op (tile_needs() says which do).
void for_each_tile_candidate(const OpView& op, TileCandidateFn fn, void* user);

// Estimated cost of running `op` with a tiling that needs `needs`.
uint64_t tile_cost(const TileRequest& request, const TileNeeds& needs, OpFamily family,
                   const TileCostModel& model = kDefaultTileCostModel);

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
                     uint64_t* min_needed, const TileCostModel& model = kDefaultTileCostModel);

// Lays the buffers of `choice` out contiguously from byte `base` (aligned to
// `align`) of the SRAM region: fills `schedule` (next_weights left empty) and
// operand_slots[op.num_inputs + op.num_outputs]. Returns the end offset.
uint64_t layout_tiling(const OpView& op, const TileChoice& choice, uint32_t base, uint32_t align,
                       OpSchedule* schedule, BufferSlot* operand_slots);

}  // namespace tinyops
