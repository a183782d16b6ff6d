// Tile geometry shared by the planner (which chooses tiles), the plan loader
// (which checks a plan's buffers against it) and the scheduler (which runs
// it): one function says what SRAM a tiling of an op needs.
#pragma once
#include <cstdint>

#include "dma_partition/schedule.h"
#include "tinyops/op_descriptor.h"

namespace tinyops {

constexpr int kMaxScheduledOperands = 16;

// One op as the tiler sees it.
struct OpView {
  const OpDescriptor* desc;  // the op's descriptor: its tile hooks
  const void* params;        // from the kernel's prepare
  int32_t num_inputs;
  const TensorDesc* const* inputs;
  int32_t num_outputs;
  const TensorDesc* const* outputs;
  uint32_t scratch_bytes;  // whole-op kernel scratch from prepare
  // Per operand (inputs then outputs): may kernels use it in place?
  bool direct[kMaxScheduledOperands];
};

OpFamily op_family(const OpView& op);
// The op's TileGeometry (zeros when it has no geometry hook).
TileGeometry op_geometry(const OpView& op);

struct TileRequest {
  Strategy strategy;
  TileOrder order;
  int32_t rows;      // kRows: output rows per band; kFlat: elements per chunk
  int32_t channels;  // output channels per tile (kRows conv, kChannels)
  uint32_t flags;    // ScheduleFlags
};

// SRAM buffer sizes a tiling needs (0 = not needed) and what it moves.
struct TileNeeds {
  uint32_t in_band;  // per buffer
  uint32_t in2_band;
  uint32_t weights;
  uint32_t out_band;
  uint32_t scratch;
  uint32_t operand[kMaxScheduledOperands];  // whole-tensor staging per operand
  bool double_in, double_in2, double_weights, double_out;
  uint64_t work;        // MACs (or elements) of the op: the same for every tiling
  uint32_t steps;       // kernel calls (tiles) per inference
  uint32_t transfers;   // DMA transfers started per inference
  uint64_t dma_bytes;   // bytes moved by DMA per inference
  uint64_t sram_total;  // sum of all buffers (doubled where double-buffered)
  // Input elements the kernel unpacks (im2col, int16 widening) once more per
  // extra output-channel tile: channel tiling trades SRAM for this work.
  uint64_t reread_elems;
};

// Computes what `req` needs for `op`, or returns kUnsupported when the
// strategy does not apply to the op (or kBadArgument for nonsense sizes).
Status tile_needs(const OpView& op, const TileRequest& req, TileNeeds* needs);

// For ADD/MUL row bands: is input `which` streamed band by band (it has one
// row per output row) rather than used whole (it broadcasts over rows)?
bool binary_operand_streamed(const BinaryLayout& layout, int which);

// Number of output rows (kRows) / elements (kFlat) / channels the op has,
// i.e. the range tile sizes are chosen from.
int64_t tile_rows_extent(const OpView& op);
int32_t tile_channels_extent(const OpView& op);

}  // namespace tinyops
