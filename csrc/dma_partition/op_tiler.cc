#include "dma_partition/op_tiler.h"

namespace tinyops {

namespace {

uint64_t align_up(uint64_t n, uint32_t align) { return (n + align - 1) / align * align; }

// Distinct tile sizes ceil(extent / k) for k = 1 .. min(extent, max_count)
// (every distinct tile count), then 1 when max_count cut the list short.
struct SplitSizes {
  int64_t extent;
  int64_t max_count;
  int64_t k = 1;
  int32_t prev = -1;
  bool tail = false;

  SplitSizes(int64_t e, int64_t m) : extent(e), max_count(m) {}

  bool next(int32_t* size) {
    while (k <= extent && k <= max_count) {
      const int32_t s = static_cast<int32_t>((extent + k - 1) / k);
      ++k;
      if (s != prev) {
        prev = s;
        *size = s;
        return true;
      }
    }
    if (!tail) {
      tail = true;
      if (prev != 1 && extent > max_count) {
        prev = 1;
        *size = 1;
        return true;
      }
    }
    return false;
  }
};

// Emits the candidates of one buffering mode; false when the callback stopped.
bool emit_family(const OpView& op, uint32_t flags, TileCandidateFn fn, void* user) {
  auto emit = [&](Strategy s, TileOrder o, int32_t rows, int32_t channels) {
    return fn(user, TileRequest{s, o, rows, channels, flags});
  };
  if (!emit(Strategy::kInPlace, TileOrder::kChannelsOuter, 1, 1)) return false;
  if (!emit(Strategy::kStaged, TileOrder::kChannelsOuter, 1, 1)) return false;
  const int64_t rows = tile_rows_extent(op);
  const int32_t channels = tile_channels_extent(op);
  int32_t r, c;
  switch (op_family(op)) {
    case OpFamily::kCopy: return emit(Strategy::kCopy, TileOrder::kChannelsOuter, 1, 1);
    case OpFamily::kConv: {
      SplitSizes rs(rows, int64_t{1} << 30);
      while (rs.next(&r)) {
        SplitSizes cs(channels, 64);
        while (cs.next(&c)) {
          if (!emit(Strategy::kRows, TileOrder::kChannelsOuter, r, c)) return false;
          if (!emit(Strategy::kRows, TileOrder::kRowsOuter, r, c)) return false;
        }
      }
      return true;
    }
    case OpFamily::kDepthwise:
    case OpFamily::kPool:
    case OpFamily::kMeanRows:
    case OpFamily::kBinaryRows: {
      SplitSizes rs(rows, int64_t{1} << 30);
      while (rs.next(&r)) {
        if (!emit(Strategy::kRows, TileOrder::kChannelsOuter, r, channels)) return false;
      }
      return true;
    }
    case OpFamily::kUnary:
    case OpFamily::kBinaryFlat:
      for (int64_t chunk = rows; chunk >= 16; chunk = (chunk + 1) / 2) {
        if (!emit(Strategy::kFlat, TileOrder::kChannelsOuter, static_cast<int32_t>(chunk), 1)) {
          return false;
        }
        if (chunk == 16) break;
      }
      return true;
    case OpFamily::kFullyConnected: {
      SplitSizes cs(channels, 256);
      while (cs.next(&c)) {
        if (!emit(Strategy::kChannels, TileOrder::kChannelsOuter, 1, c)) return false;
      }
      return true;
    }
    case OpFamily::kOther: return true;
  }
  return true;
}

struct ChooseState {
  const OpView* op;
  uint64_t avail;
  uint32_t align;
  TileChoice* best;
  bool found;
  uint64_t min_needed;
  OpFamily family;
  const TileCostModel* model;
};

bool consider(void* user, const TileRequest& req) {
  auto* st = static_cast<ChooseState*>(user);
  TileNeeds n;
  if (tile_needs(*st->op, req, &n) != Status::kOk) return true;
  const uint64_t footprint = tile_footprint(n, st->align);
  if (footprint < st->min_needed) st->min_needed = footprint;
  if (footprint > st->avail) return true;
  const uint64_t cost = tile_cost(req, n, st->family, *st->model);
  if (!st->found || cost < st->best->cost) {
    st->found = true;
    *st->best = TileChoice{req, n, cost, footprint};
  }
  return true;
}

}  // namespace

void for_each_tile_candidate(const OpView& op, TileCandidateFn fn, void* user) {
  // Every tiling also with single buffers: slower (no overlap) but half the
  // working set, for budgets nothing else fits.
  if (!emit_family(op, 0, fn, user)) return;
  emit_family(op, kSingleBuffer, fn, user);
}

const TileCostModel kDefaultTileCostModel = {
    {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000},
    1024,
    48,
    160,
    {0, 0, 4000, 0, 0, 0, 0, 0, 0, 4000}};

uint64_t tile_cost(const TileRequest& req, const TileNeeds& n, OpFamily family,
                   const TileCostModel& m) {
  // Cycles: compute, DMA, fixed costs per transfer and per kernel call.
  // Double-buffered tilings with several steps overlap DMA with compute,
  // paying only the first step's fetch on top of the slower of the two.
  const uint32_t f = static_cast<uint32_t>(family);
  const uint64_t rate = f < static_cast<uint32_t>(kNumOpFamilies) ? m.work_cycles_milli[f] : 1000;
  const uint64_t reread = f < static_cast<uint32_t>(kNumOpFamilies) ? m.reread_cycles_milli[f] : 0;
  const uint64_t compute = n.work * rate / 1000 + n.reread_elems * reread / 1000;
  const uint64_t dma = n.dma_bytes * m.dma_cycles_per_kib / 1024;
  const uint64_t fixed =
      uint64_t{m.transfer_cycles} * n.transfers + uint64_t{m.step_cycles} * n.steps;
  const bool overlapped = !(req.flags & kSingleBuffer) && n.steps > 1 &&
                          (n.double_in || n.double_in2 || n.double_weights || n.double_out);
  if (!overlapped) return compute + dma + fixed;
  // A pipeline: compute-bound, the first step's fetch (its weight tile and
  // input band) is exposed, so a tiling that loads all weights as one tile
  // waits for all of them; DMA-bound, the last step's compute is.
  if (compute > dma) {
    const uint64_t first_bytes = uint64_t{n.weights} + n.in_band + n.in2_band;
    const uint64_t first = first_bytes * m.dma_cycles_per_kib / 1024;
    return compute + (first < dma ? first : dma) + fixed;
  }
  return dma + compute / n.steps + fixed;
}

uint64_t tile_footprint(const TileNeeds& n, uint32_t align) {
  uint64_t t = 0;
  t += align_up(n.in_band, align) * (n.double_in ? 2 : 1);
  t += align_up(n.in2_band, align) * (n.double_in2 ? 2 : 1);
  t += align_up(n.weights, align) * (n.double_weights ? 2 : 1);
  t += align_up(n.out_band, align) * (n.double_out ? 2 : 1);
  t += align_up(n.scratch, align);
  for (uint32_t b : n.operand) t += align_up(b, align);
  return t;
}

Status choose_tiling(const OpView& op, uint64_t avail, uint32_t align, TileChoice* choice,
                     uint64_t* min_needed, const TileCostModel& model) {
  ChooseState st{&op, avail, align, choice, false, UINT64_MAX, op_family(op), &model};
  if (op.num_inputs + op.num_outputs <= kMaxScheduledOperands) {
    for_each_tile_candidate(op, consider, &st);
  }
  if (min_needed) *min_needed = st.min_needed;
  return st.found ? Status::kOk : Status::kOutOfMemory;
}

uint64_t layout_tiling(const OpView& op, const TileChoice& c, uint32_t base, uint32_t align,
                       OpSchedule* s, BufferSlot* operand_slots) {
  const TileNeeds& n = c.needs;
  *s = OpSchedule{};
  s->strategy = static_cast<uint32_t>(c.request.strategy);
  s->order = static_cast<uint32_t>(c.request.order);
  s->rows_per_band = c.request.rows;
  s->channels_per_tile = c.request.channels;
  s->flags = c.request.flags;
  uint64_t cursor = align_up(base, align);
  auto take = [&](uint32_t bytes) {
    BufferSlot b{bytes ? static_cast<uint32_t>(cursor) : 0u, bytes};
    cursor += align_up(bytes, align);
    return b;
  };
  s->in_band[0] = take(n.in_band);
  if (n.double_in) s->in_band[1] = take(n.in_band);
  s->in2_band[0] = take(n.in2_band);
  if (n.double_in2) s->in2_band[1] = take(n.in2_band);
  s->weights[0] = take(n.weights);
  if (n.double_weights) s->weights[1] = take(n.weights);
  s->out_band[0] = take(n.out_band);
  if (n.double_out) s->out_band[1] = take(n.out_band);
  s->scratch = take(n.scratch);
  const int operands = op.num_inputs + op.num_outputs;
  for (int k = 0; k < operands && k < kMaxScheduledOperands; ++k) {
    operand_slots[k] = take(n.operand[k]);
  }
  return cursor;
}

}  // namespace tinyops
