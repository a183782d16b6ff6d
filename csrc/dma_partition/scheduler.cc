#include "dma_partition/scheduler.h"

#include <cstring>

#include "kernels/activations.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/elementwise.h"
#include "kernels/fully_connected.h"
#include "kernels/mean.h"
#include "kernels/pooling.h"

namespace tinyops {

namespace {

constexpr int32_t kAdd = 0, kAvgPool = 1, kMaxPool = 17;

struct Runner {
  ScheduledOp& op;
  DmaEngine& dma;
  OpStats* st;
  const OpSchedule& s;
  uint32_t high_water = 0;
  DmaTicket last{0};
  bool any = false;

  Runner(ScheduledOp& o, DmaEngine& d, OpStats* stats)
      : op(o), dma(d), st(stats), s(*o.schedule) {}

  int out_index() const { return op.view.num_inputs; }

  uint8_t* slot(const BufferSlot& b) {
    if (b.offset + b.bytes > high_water) high_water = b.offset + b.bytes;
    return op.sram + b.offset;
  }

  void count(uint32_t region, uint64_t bytes, bool write) {
    if (region < kMaxStatRegions) (write ? st->write_bytes : st->read_bytes)[region] += bytes;
  }

  DmaTicket copy(void* dst, uint32_t dst_region, const void* src, uint32_t src_region,
                 uint32_t bytes) {
    st->transfers += 1;
    count(src_region, bytes, false);
    count(dst_region, bytes, true);
    last = dma.start(dst, src, bytes);
    any = true;
    return last;
  }
  uint32_t region(int k) const { return op.region[k]; }
  uint32_t sram() const { return op.sram_region; }

  // One kernel call done, `work` output elements (input elements for MEAN):
  // counted, and told to the DMA engine so a tracing engine sees where
  // compute sits between copies and waits.
  void kernel_done(uint64_t work) {
    st->tiles += 1;
    dma.note_kernel(work);
  }

  void finish() {
    if (any) dma.wait(last);
    st->sram_high_water = high_water;
  }

  // Records SRAM-resident operands in the high-water mark.
  void touch_resident() {
    const int n = op.view.num_inputs + op.view.num_outputs;
    for (int k = 0; k < n; ++k) {
      const TensorDesc* d = k < op.view.num_inputs ? op.view.inputs[k]
                                                   : op.view.outputs[k - op.view.num_inputs];
      if (d && op.region[k] == op.sram_region) {
        const uint32_t end = op.sram_offset[k] + d->bytes;
        if (end > high_water) high_water = end;
      }
    }
  }

  // Stages operand k whole when its slot says so; returns the pointer to use.
  const void* stage_in(int k) {
    const BufferSlot& b = op.operand_slots[k];
    if (b.bytes == 0 || op.data[k] == nullptr) return op.data[k];
    uint8_t* dst = slot(b);
    copy(dst, sram(), op.data[k], region(k), b.bytes);
    return dst;
  }
};

// Two buffers holding tagged contents (input bands or weight tiles), loaded
// ahead of use.
struct TwoSlot {
  int64_t tag[2] = {-1, -1};
  DmaTicket ticket[2] = {{0}, {0}};
  bool pending[2] = {false, false};
  int count = 1;

  int find(int64_t t) const {
    for (int i = 0; i < count; ++i)
      if (tag[i] == t) return i;
    return -1;
  }
};

// Makes `tag` present in some slot other than `avoid` (-1: any), loading it
// with `load(slot_index)` which returns the DMA ticket. Returns the slot, or
// -1 when it cannot be placed without evicting `avoid`.
template <typename Load>
int request(TwoSlot& c, int64_t tag, int avoid, Load load) {
  const int hit = c.find(tag);
  if (hit >= 0) return hit;
  int pick = -1;
  for (int i = 0; i < c.count; ++i) {
    if (i != avoid) {
      pick = i;
      break;
    }
  }
  if (pick < 0) return -1;
  c.tag[pick] = tag;
  c.ticket[pick] = load(pick);
  c.pending[pick] = true;
  return pick;
}

void await(TwoSlot& c, int i, DmaEngine& dma) {
  if (c.pending[i]) {
    dma.wait(c.ticket[i]);
    c.pending[i] = false;
  }
}

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

Status run_flat(Runner& r, OpFamily family) {
  const OpView& v = r.op.view;
  const int out = v.num_inputs;
  const int64_t n = v.outputs[0]->shape.num_elements();
  const int64_t chunk = r.s.rows_per_band;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int inputs = family == OpFamily::kUnary ? 1 : 2;
  int32_t kind = kBinarySameShape;
  if (family == OpFamily::kBinaryFlat) {
    kind = v.opcode == kAdd ? static_cast<const AddParams*>(v.params)->layout.kind
                            : static_cast<const MulParams*>(v.params)->layout.kind;
  }
  const BufferSlot* bands[2][2] = {{&r.s.in_band[0], &r.s.in_band[1]},
                                   {&r.s.in2_band[0], &r.s.in2_band[1]}};
  const int8_t* whole[2] = {nullptr, nullptr};
  bool streamed[2] = {false, false};
  for (int k = 0; k < inputs; ++k) {
    const bool scalar = (k == 0 && kind == kBinaryScalarA) || (k == 1 && kind == kBinaryScalarB);
    if (scalar) {
      whole[k] = static_cast<const int8_t*>(r.stage_in(k));
    } else if (r.op.view.direct[k]) {
      whole[k] = static_cast<const int8_t*>(r.op.data[k]);
    } else {
      streamed[k] = true;
    }
  }
  const bool out_direct = v.direct[out];
  DmaTicket in_ticket[2] = {{0}, {0}};
  bool in_pending[2] = {false, false};
  DmaTicket out_ticket[2] = {{0}, {0}};
  bool out_pending[2] = {false, false};
  auto load = [&](int64_t c, int p) {
    const int64_t begin = c * chunk;
    const uint32_t len = static_cast<uint32_t>((begin + chunk < n ? begin + chunk : n) - begin);
    for (int k = 0; k < inputs; ++k) {
      if (!streamed[k]) continue;
      in_ticket[p] = r.copy(r.slot(*bands[k][p]), r.sram(),
                            static_cast<const int8_t*>(r.op.data[k]) + begin, r.region(k), len);
      in_pending[p] = true;
    }
  };
  if (r.any) r.dma.wait(r.last);  // scalar operands staged
  // Single-buffered schedules load chunk c + 1 only after chunk c is computed.
  const bool two_in = (!streamed[0] || r.s.in_band[1].bytes) && (!streamed[1] || r.s.in2_band[1].bytes);
  const bool two_out = r.s.out_band[1].bytes != 0;
  load(0, 0);
  for (int64_t c = 0; c < chunks; ++c) {
    const int p = two_in ? static_cast<int>(c & 1) : 0;
    const int q = two_out ? static_cast<int>(c & 1) : 0;
    if (two_in && c + 1 < chunks) load(c + 1, p ^ 1);
    if (in_pending[p]) {
      r.dma.wait(in_ticket[p]);
      in_pending[p] = false;
    }
    const int64_t begin = c * chunk;
    const int64_t len = (begin + chunk < n ? begin + chunk : n) - begin;
    const int8_t* a = streamed[0] ? reinterpret_cast<const int8_t*>(r.slot(*bands[0][p]))
                                  : (kind == kBinaryScalarA ? whole[0] : whole[0] + begin);
    const int8_t* b = nullptr;
    if (inputs == 2) {
      b = streamed[1] ? reinterpret_cast<const int8_t*>(r.slot(*bands[1][p]))
                      : (kind == kBinaryScalarB ? whole[1] : whole[1] + begin);
    }
    int8_t* dst;
    if (out_direct) {
      dst = static_cast<int8_t*>(r.op.data[out]) + begin;
    } else {
      if (out_pending[q]) r.dma.wait(out_ticket[q]);
      dst = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
    }
    if (family == OpFamily::kUnary) {
      activation_range(*static_cast<const ActivationParams*>(v.params), a, dst, 0, len);
    } else if (v.opcode == kAdd) {
      add_range(*static_cast<const AddParams*>(v.params), a, b, dst, 0, len);
    } else {
      mul_range(*static_cast<const MulParams*>(v.params), a, b, dst, 0, len);
    }
    r.kernel_done(static_cast<uint64_t>(len));
    if (!out_direct) {
      out_ticket[q] = r.copy(static_cast<int8_t*>(r.op.data[out]) + begin, r.region(out), dst,
                             r.sram(), static_cast<uint32_t>(len));
      out_pending[q] = true;
    }
    if (!two_in && c + 1 < chunks) load(c + 1, 0);
  }
  return Status::kOk;
}

// Geometry of the window ops (conv, depthwise, pooling) in one place.
struct Window {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t filter_volume;  // conv only
};

Window window_of(const OpView& v, OpFamily f) {
  if (f == OpFamily::kConv) {
    const auto& p = *static_cast<const Conv2DParams*>(v.params);
    return {p.batches, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.filter_volume};
  }
  if (f == OpFamily::kDepthwise) {
    const auto& p = *static_cast<const DepthwiseConv2DParams*>(v.params);
    return {p.batches, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, 0};
  }
  const auto& p = *static_cast<const PoolParams*>(v.params);
  return {p.batches, p.in_h, p.in_w, p.channels, p.out_h, p.out_w, p.channels, 0};
}

void window_rows_for(const OpView& v, OpFamily f, int32_t r0, int32_t r1, int32_t* first,
                     int32_t* last) {
  if (f == OpFamily::kConv) {
    const auto& p = *static_cast<const Conv2DParams*>(v.params);
    window_input_rows(r0, r1, p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.in_h, first, last);
  } else if (f == OpFamily::kDepthwise) {
    const auto& p = *static_cast<const DepthwiseConv2DParams*>(v.params);
    window_input_rows(r0, r1, p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.in_h, first, last);
  } else {
    pool_input_rows(*static_cast<const PoolParams*>(v.params), r0, r1, first, last);
  }
}

Status run_window_rows(Runner& r, OpFamily f) {
  const OpView& v = r.op.view;
  const Window g = window_of(v, f);
  const int out = v.num_inputs;
  const int32_t R = r.s.rows_per_band;
  const int32_t T = f == OpFamily::kConv ? r.s.channels_per_tile : g.out_c;
  const int32_t bands = (g.out_h + R - 1) / R;
  const int32_t tiles = (g.out_c + T - 1) / T;
  const bool rows_outer = r.s.order == static_cast<uint32_t>(TileOrder::kRowsOuter);
  const int64_t in_image = int64_t{g.in_h} * g.in_w * g.in_c;
  const int64_t out_image = int64_t{g.out_h} * g.out_w * g.out_c;
  const int8_t* input = static_cast<const int8_t*>(r.op.data[0]);
  int8_t* output = static_cast<int8_t*>(r.op.data[out]);

  // Whole small operands.
  const int8_t* filter_whole = nullptr;
  const int32_t* bias = nullptr;
  if (f == OpFamily::kConv || f == OpFamily::kDepthwise) {
    if (f == OpFamily::kDepthwise || v.direct[1]) {
      filter_whole = static_cast<const int8_t*>(r.stage_in(1));
    }
    if (v.num_inputs > 2 && r.op.data[2]) bias = static_cast<const int32_t*>(r.stage_in(2));
  }
  void* scratch = r.s.scratch.bytes ? r.slot(r.s.scratch) : nullptr;
  if (r.any) r.dma.wait(r.last);

  TwoSlot in_cache, w_cache;
  in_cache.count = r.s.in_band[1].bytes ? 2 : 1;
  w_cache.count = r.s.weights[1].bytes ? 2 : 1;
  if (r.op.prefetched) {  // the previous op already started our first weight tile
    w_cache.tag[0] = 0;
    w_cache.ticket[0] = r.op.prefetch_ticket;
    w_cache.pending[0] = true;
    r.slot(r.s.weights[0]);
  }
  const bool stream_in = !v.direct[0];
  const bool stream_w = f == OpFamily::kConv && !v.direct[1];
  const bool out_direct = v.direct[out];

  auto load_band = [&](int32_t batch, int32_t band, int slot_index) {
    int32_t first, last;
    const int32_t r0 = band * R, r1 = r0 + R < g.out_h ? r0 + R : g.out_h;
    window_rows_for(v, f, r0, r1, &first, &last);
    const uint32_t len = static_cast<uint32_t>(last - first) * g.in_w * g.in_c;
    return r.copy(r.slot(r.s.in_band[slot_index]), r.sram(),
                  input + batch * in_image + int64_t{first} * g.in_w * g.in_c, r.region(0),
                  len ? len : 0);
  };
  auto load_weights = [&](int32_t tile, int slot_index) {
    const int32_t c0 = tile * T, c1 = c0 + T < g.out_c ? c0 + T : g.out_c;
    return r.copy(r.slot(r.s.weights[slot_index]), r.sram(),
                  static_cast<const int8_t*>(r.op.data[1]) + int64_t{c0} * g.filter_volume,
                  r.region(1), static_cast<uint32_t>(c1 - c0) * g.filter_volume);
  };

  const int64_t steps = int64_t{g.batches} * bands * tiles;
  auto step_of = [&](int64_t s, int32_t* batch, int32_t* band, int32_t* tile) {
    const int64_t per_image = int64_t{bands} * tiles;
    *batch = static_cast<int32_t>(s / per_image);
    const int64_t k = s % per_image;
    if (rows_outer) {
      *band = static_cast<int32_t>(k / tiles);
      *tile = static_cast<int32_t>(k % tiles);
    } else {
      *tile = static_cast<int32_t>(k / bands);
      *band = static_cast<int32_t>(k % bands);
    }
  };

  DmaTicket out_ticket[2] = {{0}, {0}};
  bool out_pending[2] = {false, false};
  int in_slot = -1, w_slot = -1;
  for (int64_t s = 0; s < steps; ++s) {
    int32_t batch, band, tile;
    step_of(s, &batch, &band, &tile);
    const int64_t band_tag = int64_t{batch} * bands + band;
    if (stream_in) {
      in_slot = request(in_cache, band_tag, -1, [&](int i) { return load_band(batch, band, i); });
    }
    if (stream_w) {
      w_slot = request(w_cache, tile, -1, [&](int i) { return load_weights(tile, i); });
    }
    // Prefetch what the next step needs into the other buffers.
    if (s + 1 < steps) {
      int32_t nb, nband, ntile;
      step_of(s + 1, &nb, &nband, &ntile);
      if (stream_in) {
        request(in_cache, int64_t{nb} * bands + nband, in_slot,
                [&](int i) { return load_band(nb, nband, i); });
      }
      if (stream_w) {
        request(w_cache, ntile, w_slot, [&](int i) { return load_weights(ntile, i); });
      }
    }
    if (stream_in) await(in_cache, in_slot, r.dma);
    if (stream_w) await(w_cache, w_slot, r.dma);

    const int32_t r0 = band * R, r1 = r0 + R < g.out_h ? r0 + R : g.out_h;
    const int32_t c0 = tile * T, c1 = c0 + T < g.out_c ? c0 + T : g.out_c;
    InputBand in_band;
    if (stream_in) {
      int32_t first, last;
      window_rows_for(v, f, r0, r1, &first, &last);
      in_band = InputBand{reinterpret_cast<const int8_t*>(r.slot(r.s.in_band[in_slot])), first, last};
    } else {
      in_band = InputBand{input + batch * in_image, 0, g.in_h};
    }
    const int p = r.s.out_band[1].bytes ? static_cast<int>(s & 1) : 0;
    OutputTile tile_out;
    if (out_direct) {
      tile_out = OutputTile{output + batch * out_image + (int64_t{r0} * g.out_w) * g.out_c + c0,
                            r0, r1, c0, c1, g.out_w * g.out_c, g.out_c};
    } else {
      if (out_pending[p]) {
        r.dma.wait(out_ticket[p]);
        out_pending[p] = false;
      }
      tile_out = OutputTile{reinterpret_cast<int8_t*>(r.slot(r.s.out_band[p])), r0, r1, c0, c1,
                            g.out_w * (c1 - c0), c1 - c0};
    }
    if (f == OpFamily::kConv) {
      const int8_t* w = stream_w ? reinterpret_cast<const int8_t*>(r.slot(r.s.weights[w_slot]))
                                 : filter_whole + int64_t{c0} * g.filter_volume;
      conv2d_tile(*static_cast<const Conv2DParams*>(v.params), in_band, w, bias, tile_out, scratch);
    } else if (f == OpFamily::kDepthwise) {
      depthwise_conv2d_tile(*static_cast<const DepthwiseConv2DParams*>(v.params), in_band,
                            filter_whole, bias, tile_out, scratch);
    } else if (v.opcode == kAvgPool) {
      average_pool2d_tile(*static_cast<const PoolParams*>(v.params), in_band, tile_out);
    } else {
      max_pool2d_tile(*static_cast<const PoolParams*>(v.params), in_band, tile_out);
    }
    r.kernel_done(static_cast<uint64_t>(r1 - r0) * g.out_w * (c1 - c0));
    if (!out_direct) {
      int8_t* dst = output + batch * out_image;
      const int8_t* src = tile_out.data;
      if (c1 - c0 == g.out_c) {
        out_ticket[p] = r.copy(dst + int64_t{r0} * g.out_w * g.out_c, r.region(out), src, r.sram(),
                               static_cast<uint32_t>(r1 - r0) * g.out_w * g.out_c);
      } else {
        const uint32_t ct = static_cast<uint32_t>(c1 - c0);
        for (int32_t y = r0; y < r1; ++y) {
          for (int32_t x = 0; x < g.out_w; ++x) {
            out_ticket[p] = r.copy(dst + (int64_t{y} * g.out_w + x) * g.out_c + c0, r.region(out),
                                   src + (int64_t{y - r0} * g.out_w + x) * ct, r.sram(), ct);
          }
        }
      }
      out_pending[p] = true;
    }
  }
  return Status::kOk;
}

Status run_binary_rows(Runner& r) {
  const OpView& v = r.op.view;
  const bool is_add = v.opcode == kAdd;
  const BinaryLayout& l = is_add ? static_cast<const AddParams*>(v.params)->layout
                                 : static_cast<const MulParams*>(v.params)->layout;
  const int64_t rows = binary_num_rows(l);
  const int64_t R = r.s.rows_per_band;
  const int64_t bands = (rows + R - 1) / R;
  const int64_t row_elems = binary_row_elems(l);
  const int32_t in_row[2] = {l.a_row_elems, l.b_row_elems};
  bool streamed[2];
  InputBand whole[2];
  for (int k = 0; k < 2; ++k) {
    streamed[k] = binary_operand_streamed(l, k) && !v.direct[k];
    if (!streamed[k]) {
      int64_t first, last;
      binary_input_rows(l, k, 0, rows, &first, &last);
      whole[k] = InputBand{static_cast<const int8_t*>(r.stage_in(k)), 0,
                           static_cast<int32_t>(binary_operand_streamed(l, k) ? rows : last)};
    }
  }
  if (r.any) r.dma.wait(r.last);
  const BufferSlot* bufs[2][2] = {{&r.s.in_band[0], &r.s.in_band[1]},
                                  {&r.s.in2_band[0], &r.s.in2_band[1]}};
  DmaTicket in_ticket[2] = {{0}, {0}};
  bool in_pending[2] = {false, false};
  DmaTicket out_ticket[2] = {{0}, {0}};
  bool out_pending[2] = {false, false};
  auto load = [&](int64_t band, int p) {
    const int64_t r0 = band * R, r1 = r0 + R < rows ? r0 + R : rows;
    for (int k = 0; k < 2; ++k) {
      if (!streamed[k]) continue;
      in_ticket[p] = r.copy(r.slot(*bufs[k][p]), r.sram(),
                            static_cast<const int8_t*>(r.op.data[k]) + r0 * in_row[k], r.region(k),
                            static_cast<uint32_t>((r1 - r0) * in_row[k]));
      in_pending[p] = true;
    }
  };
  const bool two_in = (!streamed[0] || r.s.in_band[1].bytes) && (!streamed[1] || r.s.in2_band[1].bytes);
  const bool two_out = r.s.out_band[1].bytes != 0;
  load(0, 0);
  int8_t* output = static_cast<int8_t*>(r.op.data[2]);
  for (int64_t b = 0; b < bands; ++b) {
    const int p = two_in ? static_cast<int>(b & 1) : 0;
    const int q = two_out ? static_cast<int>(b & 1) : 0;
    if (two_in && b + 1 < bands) load(b + 1, p ^ 1);
    if (in_pending[p]) {
      r.dma.wait(in_ticket[p]);
      in_pending[p] = false;
    }
    const int64_t r0 = b * R, r1 = r0 + R < rows ? r0 + R : rows;
    InputBand bands_in[2];
    for (int k = 0; k < 2; ++k) {
      bands_in[k] = streamed[k]
                        ? InputBand{reinterpret_cast<const int8_t*>(r.slot(*bufs[k][p])),
                                    static_cast<int32_t>(r0), static_cast<int32_t>(r1)}
                        : whole[k];
    }
    int8_t* dst;
    if (v.direct[2]) {
      dst = output + r0 * row_elems;
    } else {
      if (out_pending[q]) {
        r.dma.wait(out_ticket[q]);
        out_pending[q] = false;
      }
      dst = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
    }
    if (is_add) {
      add_rows(*static_cast<const AddParams*>(v.params), bands_in[0], bands_in[1], dst, r0, r1);
    } else {
      mul_rows(*static_cast<const MulParams*>(v.params), bands_in[0], bands_in[1], dst, r0, r1);
    }
    r.kernel_done(static_cast<uint64_t>((r1 - r0) * row_elems));
    if (!v.direct[2]) {
      out_ticket[q] = r.copy(output + r0 * row_elems, r.region(2), dst, r.sram(),
                             static_cast<uint32_t>((r1 - r0) * row_elems));
      out_pending[q] = true;
    }
    if (!two_in && b + 1 < bands) load(b + 1, 0);
  }
  return Status::kOk;
}

Status run_mean_rows(Runner& r) {
  const OpView& v = r.op.view;
  const auto& p = *static_cast<const MeanParams*>(v.params);
  const int out = v.num_inputs;
  const int32_t R = r.s.rows_per_band;
  const int32_t bands = (p.height + R - 1) / R;
  const int64_t row_bytes = int64_t{p.width} * p.channels;
  const int8_t* input = static_cast<const int8_t*>(r.op.data[0]);
  int8_t* output = static_cast<int8_t*>(r.op.data[out]);
  int32_t* acc = reinterpret_cast<int32_t*>(r.slot(r.s.scratch));
  const bool stream_in = !v.direct[0];
  const int64_t steps = int64_t{p.batches} * bands;
  DmaTicket in_ticket[2] = {{0}, {0}};
  auto load = [&](int64_t s, int slot_index) {
    const int64_t batch = s / bands, band = s % bands;
    const int64_t r0 = band * R, r1 = r0 + R < p.height ? r0 + R : p.height;
    in_ticket[slot_index] =
        r.copy(r.slot(r.s.in_band[slot_index]), r.sram(),
               input + (batch * p.height + r0) * row_bytes, r.region(0),
               static_cast<uint32_t>((r1 - r0) * row_bytes));
  };
  if (stream_in) load(0, 0);
  DmaTicket out_ticket[2] = {{0}, {0}};
  bool out_pending[2] = {false, false};
  for (int64_t s = 0; s < steps; ++s) {
    const int slot_index = r.s.in_band[1].bytes ? static_cast<int>(s & 1) : 0;
    if (stream_in && s + 1 < steps && r.s.in_band[1].bytes) load(s + 1, slot_index ^ 1);
    const int64_t batch = s / bands, band = s % bands;
    const int64_t r0 = band * R, r1 = r0 + R < p.height ? r0 + R : p.height;
    if (band == 0) std::memset(acc, 0, sizeof(int32_t) * static_cast<size_t>(p.channels));
    const int8_t* rows;
    if (stream_in) {
      r.dma.wait(in_ticket[slot_index]);
      rows = reinterpret_cast<const int8_t*>(r.slot(r.s.in_band[slot_index]));
    } else {
      rows = input + (batch * p.height + r0) * row_bytes;
    }
    mean_hw_accumulate(p, rows, static_cast<int32_t>(r1 - r0), acc);
    r.kernel_done(static_cast<uint64_t>((r1 - r0) * row_bytes));
    if (stream_in && s + 1 < steps && !r.s.in_band[1].bytes) load(s + 1, 0);
    if (band == bands - 1) {
      if (v.direct[out]) {
        mean_hw_finish(p, acc, output + batch * p.channels);
      } else {
        const int q = r.s.out_band[1].bytes ? static_cast<int>(batch & 1) : 0;
        if (out_pending[q]) r.dma.wait(out_ticket[q]);
        int8_t* buf = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
        mean_hw_finish(p, acc, buf);
        out_ticket[q] = r.copy(output + batch * p.channels, r.region(out), buf, r.sram(),
                               static_cast<uint32_t>(p.channels));
        out_pending[q] = true;
      }
    }
  }
  return Status::kOk;
}

Status run_fully_connected(Runner& r) {
  const OpView& v = r.op.view;
  const auto& p = *static_cast<const FullyConnectedParams*>(v.params);
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
      fully_connected_tile(p, input, w, bias, output + c0, p.units, c0, c1, 0, p.batches, scratch);
    } else {
      if (out_pending[q]) r.dma.wait(out_ticket[q]);
      int8_t* buf = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
      fully_connected_tile(p, input, w, bias, buf, c1 - c0, c0, c1, 0, p.batches, scratch);
      for (int32_t b = 0; b < p.batches; ++b) {
        out_ticket[q] = r.copy(output + int64_t{b} * p.units + c0, r.region(out),
                               buf + int64_t{b} * (c1 - c0), r.sram(),
                               static_cast<uint32_t>(c1 - c0));
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
  if (f == OpFamily::kConv && s.strategy == static_cast<uint32_t>(Strategy::kRows)) {
    const auto& p = *static_cast<const Conv2DParams*>(next.view.params);
    const int32_t c1 = s.channels_per_tile < p.out_c ? s.channels_per_tile : p.out_c;
    *bytes = static_cast<uint32_t>(c1) * p.filter_volume;
  } else if (f == OpFamily::kFullyConnected &&
             s.strategy == static_cast<uint32_t>(Strategy::kChannels)) {
    const auto& p = *static_cast<const FullyConnectedParams*>(next.view.params);
    const int32_t c1 = s.channels_per_tile < p.units ? s.channels_per_tile : p.units;
    *bytes = static_cast<uint32_t>(c1) * p.accum_depth;
  } else {
    return false;
  }
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
      next->prefetch_ticket = r.copy(r.slot(op.schedule->next_weights), op.sram_region, src,
                                     next->region[1], bytes);
      next->prefetched = true;
    }
  }
  Status s = Status::kOk;
  const OpFamily f = op_family(op.view);
  switch (static_cast<Strategy>(op.schedule->strategy)) {
    case Strategy::kInPlace: {
      void* scratch = op.schedule->scratch.bytes ? r.slot(op.schedule->scratch) : nullptr;
      EvalContext ctx{op.view.params, const_cast<const void* const*>(op.data), op.data + op.view.num_inputs, scratch};
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
