#include "dma_partition/scheduler.h"

#include "dma_partition/scheduler_runner.h"

namespace tinyops {

using namespace sched_detail;

namespace {

Status run_staged(Runner& r) {
  const OpView& v = r.op.view;
  const void* ins[kMaxScheduledOperands];
  void* outs[kMaxScheduledOperands];
  for (int k = 0; k < v.num_inputs; ++k) ins[k] = r.stage_in(k);
  for (int k = 0; k < v.num_outputs; ++k) {
    const BufferSlot& b = r.op.operand_slots[v.num_inputs + k];
    outs[k] = b.bytes ? r.slot(b) : r.op.data[v.num_inputs + k];
  }
  if (r.any) r.dma.wait(r.last);
  void* scratch = r.s.scratch.bytes ? r.slot(r.s.scratch) : nullptr;
  EvalContext ctx{v.params, ins, outs, scratch};
  const Status st = r.op.eval(ctx);
  r.kernel_done(static_cast<uint64_t>(v.outputs[0]->shape.num_elements()));
  for (int k = 0; k < v.num_outputs; ++k) {
    const int idx = v.num_inputs + k;
    const BufferSlot& b = r.op.operand_slots[idx];
    if (b.bytes) r.copy(r.op.data[idx], r.region(idx), outs[k], r.sram(), b.bytes);
  }
  return st;
}

Status run_copy(Runner& r) {
  const OpView& v = r.op.view;
  const uint32_t bytes = v.inputs[0]->bytes;
  void* dst = r.op.data[v.num_inputs];
  const void* src = r.op.data[0];
  if (dst != src && bytes) r.copy(dst, r.region(v.num_inputs), src, r.region(0), bytes);
  r.kernel_done(0);
  return Status::kOk;
}

Status run_fully_connected(Runner& r) {
  const OpView& v = r.op.view;
  const TileGeometry g = op_geometry(v);
  const TileHooks& hooks = v.desc->tile;
  const struct {
    int32_t batches, units, accum_depth;
  } p{g.batches, g.out_c, g.weights_per_channel};
  const int out = v.num_inputs;
  const int32_t T = r.s.channels_per_tile;
  const int32_t tiles = (p.units + T - 1) / T;
  const int8_t* input = static_cast<const int8_t*>(r.stage_in(0));
  const int32_t* bias =
      v.num_inputs > 2 && r.op.data[2] ? static_cast<const int32_t*>(r.stage_in(2)) : nullptr;
  const bool stream_w = !v.direct[1];
  const int8_t* filter = static_cast<const int8_t*>(r.op.data[1]);
  void* scratch = r.s.scratch.bytes ? r.slot(r.s.scratch) : nullptr;
  if (r.any) r.dma.wait(r.last);
  TwoSlot w_cache;
  w_cache.count = r.s.weights[1].bytes ? 2 : 1;
  if (r.op.prefetched) {
    w_cache.tag[0] = 0;
    w_cache.ticket[0] = r.op.prefetch_ticket;
    w_cache.pending[0] = true;
    r.slot(r.s.weights[0]);
  }
  auto load_weights = [&](int32_t tile, int slot_index) {
    const int32_t c0 = tile * T, c1 = c0 + T < p.units ? c0 + T : p.units;
    return r.copy(r.slot(r.s.weights[slot_index]), r.sram(), filter + int64_t{c0} * p.accum_depth,
                  r.region(1), static_cast<uint32_t>(c1 - c0) * p.accum_depth);
  };
  int8_t* output = static_cast<int8_t*>(r.op.data[out]);
  DmaTicket out_ticket[2] = {{0}, {0}};
  bool out_pending[2] = {false, false};
  int w_slot = -1;
  for (int32_t t = 0; t < tiles; ++t) {
    const int32_t c0 = t * T, c1 = c0 + T < p.units ? c0 + T : p.units;
    const int8_t* w = filter + int64_t{c0} * p.accum_depth;
    if (stream_w) {
      w_slot = request(w_cache, t, -1, [&](int i) { return load_weights(t, i); });
      if (t + 1 < tiles) {
        request(w_cache, t + 1, w_slot, [&](int i) { return load_weights(t + 1, i); });
      }
      await(w_cache, w_slot, r.dma);
      w = reinterpret_cast<const int8_t*>(r.slot(r.s.weights[w_slot]));
    }
    const int q = r.s.out_band[1].bytes ? (t & 1) : 0;
    if (v.direct[out]) {
      hooks.channels(v.params, input, w, bias, output + c0, p.units, c0, c1, 0, p.batches, scratch);
    } else {
      if (out_pending[q]) r.dma.wait(out_ticket[q]);
      int8_t* buf = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
      hooks.channels(v.params, input, w, bias, buf, c1 - c0, c0, c1, 0, p.batches, scratch);
      for (int32_t b = 0; b < p.batches; ++b) {
        out_ticket[q] =
            r.copy(output + int64_t{b} * p.units + c0, r.region(out), buf + int64_t{b} * (c1 - c0),
                   r.sram(), static_cast<uint32_t>(c1 - c0));
      }
      out_pending[q] = true;
    }
    r.kernel_done(static_cast<uint64_t>(c1 - c0) * p.batches);
  }
  return Status::kOk;
}

// First weight tile of `next`, if its schedule streams weights: where from, how much.
bool first_weight_tile(const ScheduledOp& next, const void** src, uint32_t* bytes) {
  const OpSchedule& s = *next.schedule;
  if (s.weights[0].bytes == 0 || next.view.direct[1]) return false;
  const OpFamily f = op_family(next.view);
  const bool tiles_weights =
      (f == OpFamily::kConv && s.strategy == static_cast<uint32_t>(Strategy::kRows)) ||
      (f == OpFamily::kFullyConnected && s.strategy == static_cast<uint32_t>(Strategy::kChannels));
  if (!tiles_weights) return false;
  const TileGeometry g = op_geometry(next.view);
  const int32_t c1 = s.channels_per_tile < g.out_c ? s.channels_per_tile : g.out_c;
  *bytes = static_cast<uint32_t>(c1) * g.weights_per_channel;
  *src = next.data[1];
  return true;
}

}  // namespace

Status run_scheduled_op(ScheduledOp& op, ScheduledOp* next, DmaEngine& dma, OpStats* stats) {
  Runner r(op, dma, stats);
  r.touch_resident();
  // Start the next op's first weight tile now, so it arrives while this op
  // computes (the planner keeps next_weights clear of this op's buffers).
  if (next) {
    next->prefetched = false;
    const void* src;
    uint32_t bytes;
    if (op.schedule->next_weights.bytes && first_weight_tile(*next, &src, &bytes)) {
      next->prefetch_ticket =
          r.copy(r.slot(op.schedule->next_weights), op.sram_region, src, next->region[1], bytes);
      next->prefetched = true;
    }
  }
  Status s = Status::kOk;
  const OpFamily f = op_family(op.view);
  switch (static_cast<Strategy>(op.schedule->strategy)) {
    case Strategy::kInPlace: {
      void* scratch = op.schedule->scratch.bytes ? r.slot(op.schedule->scratch) : nullptr;
      EvalContext ctx{op.view.params, const_cast<const void* const*>(op.data),
                      op.data + op.view.num_inputs, scratch};
      s = op.eval(ctx);
      r.kernel_done(static_cast<uint64_t>(op.view.outputs[0]->shape.num_elements()));
      break;
    }
    case Strategy::kStaged: s = run_staged(r); break;
    case Strategy::kCopy: s = run_copy(r); break;
    case Strategy::kFlat: s = run_flat(r, f); break;
    case Strategy::kChannels: s = run_fully_connected(r); break;
    case Strategy::kRows:
      if (f == OpFamily::kBinaryRows) s = run_binary_rows(r);
      else if (f == OpFamily::kMeanRows) s = run_mean_rows(r);
      else s = run_window_rows(r, f);
      break;
  }
  r.finish();
  return s;
}

}  // namespace tinyops
