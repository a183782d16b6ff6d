// Row bands x channel tiles of the window ops (CONV_2D, DEPTHWISE_CONV_2D,
// pooling): input bands with their halo rows and weight tiles double-buffered
// in SRAM, in the order the schedule chose.
#include "dma_partition/scheduler_runner.h"
#include "kernels/tile.h"

namespace tinyops {
namespace sched_detail {

Status run_window_rows(Runner& r, OpFamily f) {
  const OpView& v = r.op.view;
  const TileGeometry g = op_geometry(v);
  const TileHooks& hooks = v.desc->tile;
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
    hooks.input_rows(v.params, r0, r1, &first, &last);
    const uint32_t len = static_cast<uint32_t>(last - first) * g.in_w * g.in_c;
    return r.copy(r.slot(r.s.in_band[slot_index]), r.sram(),
                  input + batch * in_image + int64_t{first} * g.in_w * g.in_c, r.region(0),
                  len ? len : 0);
  };
  auto load_weights = [&](int32_t tile, int slot_index) {
    const int32_t c0 = tile * T, c1 = c0 + T < g.out_c ? c0 + T : g.out_c;
    return r.copy(r.slot(r.s.weights[slot_index]), r.sram(),
                  static_cast<const int8_t*>(r.op.data[1]) + int64_t{c0} * g.weights_per_channel,
                  r.region(1), static_cast<uint32_t>(c1 - c0) * g.weights_per_channel);
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
      hooks.input_rows(v.params, r0, r1, &first, &last);
      in_band =
          InputBand{reinterpret_cast<const int8_t*>(r.slot(r.s.in_band[in_slot])), first, last};
    } else {
      in_band = InputBand{input + batch * in_image, 0, g.in_h};
    }
    const int p = r.s.out_band[1].bytes ? static_cast<int>(s & 1) : 0;
    OutputTile tile_out;
    if (out_direct) {
      tile_out = OutputTile{output + batch * out_image + (int64_t{r0} * g.out_w) * g.out_c + c0,
                            r0,
                            r1,
                            c0,
                            c1,
                            g.out_w * g.out_c,
                            g.out_c};
    } else {
      if (out_pending[p]) {
        r.dma.wait(out_ticket[p]);
        out_pending[p] = false;
      }
      tile_out = OutputTile{reinterpret_cast<int8_t*>(r.slot(r.s.out_band[p])),
                            r0,
                            r1,
                            c0,
                            c1,
                            g.out_w * (c1 - c0),
                            c1 - c0};
    }
    const int8_t* w = filter_whole;
    if (f == OpFamily::kConv) {
      w = stream_w ? reinterpret_cast<const int8_t*>(r.slot(r.s.weights[w_slot]))
                   : filter_whole + int64_t{c0} * g.weights_per_channel;
    }
    hooks.window(v.params, in_band, w, bias, tile_out, scratch);
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

}  // namespace sched_detail
}  // namespace tinyops
