#include "dma_partition/tiling.h"

#include "kernels/elementwise.h"

namespace tinyops {

namespace {

const BinaryLayout& binary_layout(const OpView& op) {
  return *op.desc->tile.binary_layout(op.params);
}

uint32_t operand_bytes(const OpView& op, int k) {
  const TensorDesc* d = k < op.num_inputs ? op.inputs[k] : op.outputs[k - op.num_inputs];
  return d ? d->bytes : 0;
}

bool operand_present(const OpView& op, int k) {
  return (k < op.num_inputs ? op.inputs[k] : op.outputs[k - op.num_inputs]) != nullptr;
}

int32_t ceil_div(int64_t a, int64_t b) { return static_cast<int32_t>((a + b - 1) / b); }

// Input rows a window op needs for `rows` output rows, at most.
int32_t window_rows(int32_t rows, int32_t stride, int32_t dilation, int32_t filter, int32_t in_h) {
  const int64_t r = int64_t{rows - 1} * stride + int64_t{filter - 1} * dilation + 1;
  return static_cast<int32_t>(r < in_h ? r : in_h);
}

// Stages every non-direct operand whole (the kStaged strategy and the small
// operands of the others use this).
void stage_operand(const OpView& op, int k, TileNeeds* n) {
  if (!operand_present(op, k) || op.direct[k]) return;
  n->operand[k] = operand_bytes(op, k);
  n->dma_bytes += n->operand[k];
  n->transfers += 1;
}

void finish(TileNeeds* n) {
  uint64_t t = n->scratch;
  t += uint64_t{n->in_band} * (n->double_in ? 2 : 1);
  t += uint64_t{n->in2_band} * (n->double_in2 ? 2 : 1);
  t += uint64_t{n->weights} * (n->double_weights ? 2 : 1);
  t += uint64_t{n->out_band} * (n->double_out ? 2 : 1);
  for (uint32_t b : n->operand) t += b;
  n->sram_total = t;
}

Status needs_rows_window(const OpView& op, const TileRequest& req, OpFamily family, TileNeeds* n) {
  const TileGeometry g = op_geometry(op);
  const int32_t batches = g.batches, in_h = g.in_h, in_w = g.in_w, in_c = g.in_c, out_h = g.out_h,
                out_w = g.out_w, out_c = g.out_c;
  const TileHooks& hooks = op.desc->tile;
  uint32_t weight_tile = 0, scratch = 0;
  int32_t channels = out_c;
  if (family == OpFamily::kConv) {
    channels = req.channels;
    if (channels < 1 || channels > out_c) return Status::kBadArgument;
    weight_tile = static_cast<uint32_t>(channels) * static_cast<uint32_t>(g.weights_per_channel);
  }
  if (hooks.scratch_bytes) scratch = hooks.scratch_bytes(op.params, req.rows, channels);
  if (req.rows < 1 || req.rows > out_h) return Status::kBadArgument;
  const int32_t bands = ceil_div(out_h, req.rows);
  const int32_t tiles = ceil_div(out_c, channels);
  const bool rows_outer = req.order == TileOrder::kRowsOuter;
  n->scratch = scratch;
  n->steps = static_cast<uint32_t>(batches) * bands * tiles;
  if (family == OpFamily::kConv) {
    n->reread_elems = uint64_t(batches) * in_h * in_w * in_c * uint64_t(tiles - 1);
  }

  // Input bands: re-fetched per channel tile unless there is only one band.
  if (!op.direct[0]) {
    n->in_band =
        static_cast<uint32_t>(window_rows(req.rows, g.stride_h, g.dilation_h, g.filter_h, in_h)) *
        in_w * in_c;
    uint64_t band_bytes = 0;
    for (int32_t b = 0; b < bands; ++b) {
      int32_t first, last;
      const int32_t r1 = (b + 1) * req.rows < out_h ? (b + 1) * req.rows : out_h;
      hooks.input_rows(op.params, b * req.rows, r1, &first, &last);
      band_bytes += uint64_t(last - first) * in_w * in_c;
    }
    const uint32_t loads_per_image = (rows_outer || bands == 1) ? 1 : tiles;
    n->dma_bytes += band_bytes * loads_per_image * batches;
    n->transfers += static_cast<uint32_t>(bands) * loads_per_image * batches;
    n->double_in = bands * loads_per_image * batches > 1;
  }
  // Weights.
  if (family == OpFamily::kConv) {
    if (!op.direct[1]) {
      n->weights = weight_tile;
      const uint32_t loads = (rows_outer && tiles > 1) ? bands * tiles * batches : tiles;
      n->dma_bytes += uint64_t{operand_bytes(op, 1)} * loads / tiles;
      n->transfers += loads;
      n->double_weights = loads > 1;
    }
    if (op.num_inputs > 2) stage_operand(op, 2, n);
  } else if (family == OpFamily::kDepthwise) {
    stage_operand(op, 1, n);
    if (op.num_inputs > 2) stage_operand(op, 2, n);
  }
  // Output bands written back by DMA.
  const int k_out = op.num_inputs;
  if (!op.direct[k_out]) {
    n->out_band = static_cast<uint32_t>(req.rows) * out_w * channels;
    n->double_out = n->steps > 1;
    n->dma_bytes += operand_bytes(op, k_out);
    n->transfers += channels == out_c ? static_cast<uint32_t>(bands * batches)
                                      : static_cast<uint32_t>(out_h) * out_w * tiles * batches;
  }
  return Status::kOk;
}

Status needs_flat(const OpView& op, const TileRequest& req, OpFamily family, TileNeeds* n) {
  const TensorDesc* out = op.outputs[0];
  const int64_t count = out->shape.num_elements();
  if (req.rows < 1 || req.rows > (count > 0 ? count : 1)) return Status::kBadArgument;
  const uint32_t chunk = static_cast<uint32_t>(req.rows);
  const int32_t chunks = ceil_div(count, req.rows);
  n->steps = static_cast<uint32_t>(chunks);
  n->scratch = op.scratch_bytes;
  int32_t kind = kBinarySameShape;
  if (family == OpFamily::kBinaryFlat) kind = binary_layout(op).kind;
  const int streamed_inputs = family == OpFamily::kUnary ? 1 : 2;
  for (int k = 0; k < streamed_inputs; ++k) {
    const bool scalar = (k == 0 && kind == kBinaryScalarA) || (k == 1 && kind == kBinaryScalarB);
    if (scalar) {
      stage_operand(op, k, n);
    } else if (!op.direct[k]) {
      (k == 0 ? n->in_band : n->in2_band) = chunk;
      (k == 0 ? n->double_in : n->double_in2) = chunks > 1;
      n->dma_bytes += operand_bytes(op, k);
      n->transfers += chunks;
    }
  }
  if (!op.direct[op.num_inputs]) {
    n->out_band = chunk;
    n->double_out = chunks > 1;
    n->dma_bytes += operand_bytes(op, op.num_inputs);
    n->transfers += chunks;
  }
  return Status::kOk;
}

Status needs_binary_rows(const OpView& op, const TileRequest& req, TileNeeds* n) {
  const BinaryLayout& l = binary_layout(op);
  const int64_t rows = binary_num_rows(l);
  if (req.rows < 1 || req.rows > rows) return Status::kBadArgument;
  const int32_t bands = ceil_div(rows, req.rows);
  const uint32_t row_elems = static_cast<uint32_t>(binary_row_elems(l));
  n->steps = static_cast<uint32_t>(bands);
  for (int k = 0; k < 2; ++k) {
    if (!binary_operand_streamed(l, k)) {
      stage_operand(op, k, n);
    } else if (!op.direct[k]) {
      const uint32_t in_row = static_cast<uint32_t>(k == 0 ? l.a_row_elems : l.b_row_elems);
      (k == 0 ? n->in_band : n->in2_band) = static_cast<uint32_t>(req.rows) * in_row;
      (k == 0 ? n->double_in : n->double_in2) = bands > 1;
      n->dma_bytes += operand_bytes(op, k);
      n->transfers += bands;
    }
  }
  if (!op.direct[2]) {
    n->out_band = static_cast<uint32_t>(req.rows) * row_elems;
    n->double_out = bands > 1;
    n->dma_bytes += operand_bytes(op, 2);
    n->transfers += bands;
  }
  return Status::kOk;
}

Status needs_mean_rows(const OpView& op, const TileRequest& req, TileNeeds* n) {
  const TileGeometry g = op_geometry(op);
  struct {
    int32_t batches, height, width, channels;
  } p{g.batches, g.in_h, g.in_w, g.in_c};
  if (req.rows < 1 || req.rows > p.height) return Status::kBadArgument;
  const int32_t bands = ceil_div(p.height, req.rows);
  n->steps = static_cast<uint32_t>(bands * p.batches);
  n->scratch = static_cast<uint32_t>(p.channels) * 4u;
  if (!op.direct[0]) {
    n->in_band = static_cast<uint32_t>(req.rows) * p.width * p.channels;
    n->double_in = n->steps > 1;
    n->dma_bytes += operand_bytes(op, 0);
    n->transfers += n->steps;
  }
  if (!op.direct[op.num_inputs]) {
    n->out_band = static_cast<uint32_t>(p.channels);
    n->double_out = p.batches > 1;
    n->dma_bytes += operand_bytes(op, op.num_inputs);
    n->transfers += static_cast<uint32_t>(p.batches);
  }
  return Status::kOk;
}

Status needs_fully_connected(const OpView& op, const TileRequest& req, TileNeeds* n) {
  const TileGeometry g = op_geometry(op);
  struct {
    int32_t batches, units, accum_depth;
  } p{g.batches, g.out_c, g.weights_per_channel};
  if (req.channels < 1 || req.channels > p.units) return Status::kBadArgument;
  const int32_t tiles = ceil_div(p.units, req.channels);
  n->steps = static_cast<uint32_t>(tiles);
  n->reread_elems = uint64_t(p.batches) * p.accum_depth * uint64_t(tiles - 1);
  const TileHooks& hooks = op.desc->tile;
  n->scratch = hooks.scratch_bytes ? hooks.scratch_bytes(op.params, p.batches, req.channels) : 0;
  stage_operand(op, 0, n);
  if (!op.direct[1]) {
    n->weights = static_cast<uint32_t>(req.channels) * static_cast<uint32_t>(p.accum_depth);
    n->double_weights = tiles > 1;
    n->dma_bytes += operand_bytes(op, 1);
    n->transfers += tiles;
  }
  if (op.num_inputs > 2) stage_operand(op, 2, n);
  if (!op.direct[op.num_inputs]) {
    n->out_band = static_cast<uint32_t>(p.batches) * req.channels;
    n->double_out = tiles > 1;
    n->dma_bytes += operand_bytes(op, op.num_inputs);
    n->transfers += static_cast<uint32_t>(tiles) *
                    (req.channels == p.units ? 1u : static_cast<uint32_t>(p.batches));
  }
  return Status::kOk;
}

// Multiply-accumulates (element operations for the others) of one inference.
uint64_t op_work(const OpView& op, OpFamily family) {
  if (op.desc->tile.geometry) {
    const uint64_t work = op_geometry(op).work;
    if (work) return work;
  }
  if (family == OpFamily::kMeanRows)
    return static_cast<uint64_t>(op.inputs[0]->shape.num_elements());
  return op.num_outputs ? static_cast<uint64_t>(op.outputs[0]->shape.num_elements()) : 0;
}

}  // namespace

bool binary_operand_streamed(const BinaryLayout& l, int which) {
  const int64_t rows = binary_num_rows(l);
  int64_t first, last;
  binary_input_rows(l, which, 0, rows, &first, &last);
  return last - first == rows && rows > 1;
}

OpFamily op_family(const OpView& op) {
  return op.desc && op.desc->tile.family ? op.desc->tile.family(op.params) : OpFamily::kOther;
}

TileGeometry op_geometry(const OpView& op) {
  TileGeometry g{};
  if (op.desc && op.desc->tile.geometry) op.desc->tile.geometry(op.params, &g);
  return g;
}

int64_t tile_rows_extent(const OpView& op) {
  switch (op_family(op)) {
    case OpFamily::kConv:
    case OpFamily::kDepthwise:
    case OpFamily::kPool: return op_geometry(op).out_h;
    case OpFamily::kMeanRows: return op_geometry(op).in_h;
    case OpFamily::kUnary:
    case OpFamily::kBinaryFlat: return op.outputs[0]->shape.num_elements();
    case OpFamily::kBinaryRows: return binary_num_rows(binary_layout(op));
    default: return 1;
  }
}

int32_t tile_channels_extent(const OpView& op) {
  switch (op_family(op)) {
    case OpFamily::kConv:
    case OpFamily::kFullyConnected: return op_geometry(op).out_c;
    default: return 1;
  }
}

Status tile_needs(const OpView& op, const TileRequest& req, TileNeeds* n) {
  *n = TileNeeds{};
  const int operands = op.num_inputs + op.num_outputs;
  if (operands > kMaxScheduledOperands) return Status::kUnsupported;
  const OpFamily family = op_family(op);
  Status s = Status::kOk;
  switch (req.strategy) {
    case Strategy::kInPlace:
      for (int k = 0; k < operands; ++k) {
        if (operand_present(op, k) && !op.direct[k]) return Status::kUnsupported;
      }
      n->scratch = op.scratch_bytes;
      n->steps = 1;
      break;
    case Strategy::kStaged:
      for (int k = 0; k < operands; ++k) stage_operand(op, k, n);
      n->scratch = op.scratch_bytes;
      n->steps = 1;
      break;
    case Strategy::kCopy:
      if (family != OpFamily::kCopy) return Status::kUnsupported;
      n->steps = 1;
      n->transfers = 1;
      n->dma_bytes = operand_bytes(op, 0);
      break;
    case Strategy::kRows:
      if (family == OpFamily::kConv || family == OpFamily::kDepthwise ||
          family == OpFamily::kPool) {
        s = needs_rows_window(op, req, family, n);
      } else if (family == OpFamily::kBinaryRows) {
        s = needs_binary_rows(op, req, n);
      } else if (family == OpFamily::kMeanRows) {
        s = needs_mean_rows(op, req, n);
      } else {
        return Status::kUnsupported;
      }
      break;
    case Strategy::kFlat:
      if (family != OpFamily::kUnary && family != OpFamily::kBinaryFlat)
        return Status::kUnsupported;
      s = needs_flat(op, req, family, n);
      break;
    case Strategy::kChannels:
      if (family != OpFamily::kFullyConnected) return Status::kUnsupported;
      s = needs_fully_connected(op, req, n);
      break;
    default: return Status::kUnsupported;
  }
  if (s != Status::kOk) return s;
  n->work = op_work(op, family);
  if (req.flags & kSingleBuffer) {
    n->double_in = n->double_in2 = n->double_weights = n->double_out = false;
  }
  finish(n);
  return Status::kOk;
}

}  // namespace tinyops
