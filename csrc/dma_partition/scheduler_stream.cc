// Streamed element ops: flat chunks (unary activations, same-shape and
// scalar ADD / MUL), row bands of broadcasting ADD / MUL, and MEAN over
// height and width accumulated band by band.
#include <cstring>

#include "dma_partition/scheduler_runner.h"
#include "kernels/elementwise.h"
#include "kernels/tile.h"

namespace tinyops {
namespace sched_detail {

Status run_flat(Runner& r, OpFamily family) {
  const OpView& v = r.op.view;
  const int out = v.num_inputs;
  const int64_t n = v.outputs[0]->shape.num_elements();
  const int64_t chunk = r.s.rows_per_band;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int inputs = family == OpFamily::kUnary ? 1 : 2;
  const TileHooks& hooks = v.desc->tile;
  int32_t kind = kBinarySameShape;
  if (family == OpFamily::kBinaryFlat) kind = hooks.binary_layout(v.params)->kind;
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
  const void* run_params =
      hooks.run_params
          ? hooks.run_params(v.params, r.s.scratch.bytes ? r.slot(r.s.scratch) : nullptr)
          : v.params;
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
  const bool two_in =
      (!streamed[0] || r.s.in_band[1].bytes) && (!streamed[1] || r.s.in2_band[1].bytes);
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
    hooks.range(run_params, a, b, dst, 0, len);
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

Status run_binary_rows(Runner& r) {
  const OpView& v = r.op.view;
  const TileHooks& hooks = v.desc->tile;
  const BinaryLayout& l = *hooks.binary_layout(v.params);
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
  const bool two_in =
      (!streamed[0] || r.s.in_band[1].bytes) && (!streamed[1] || r.s.in2_band[1].bytes);
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
      bands_in[k] = streamed[k] ? InputBand{reinterpret_cast<const int8_t*>(r.slot(*bufs[k][p])),
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
    hooks.rows(v.params, bands_in[0], bands_in[1], dst, r0, r1);
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
  const TileGeometry g = op_geometry(v);
  const TileHooks& hooks = v.desc->tile;
  const struct { int32_t batches, height, width, channels; } p{g.batches, g.in_h, g.in_w, g.in_c};
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
    in_ticket[slot_index] = r.copy(r.slot(r.s.in_band[slot_index]), r.sram(),
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
    hooks.accumulate(v.params, rows, static_cast<int32_t>(r1 - r0), acc);
    r.kernel_done(static_cast<uint64_t>((r1 - r0) * row_bytes));
    if (stream_in && s + 1 < steps && !r.s.in_band[1].bytes) load(s + 1, 0);
    if (band == bands - 1) {
      if (v.direct[out]) {
        hooks.finish(v.params, acc, output + batch * p.channels);
      } else {
        const int q = r.s.out_band[1].bytes ? static_cast<int>(batch & 1) : 0;
        if (out_pending[q]) r.dma.wait(out_ticket[q]);
        int8_t* buf = reinterpret_cast<int8_t*>(r.slot(r.s.out_band[q]));
        hooks.finish(v.params, acc, buf);
        out_ticket[q] = r.copy(output + batch * p.channels, r.region(out), buf, r.sram(),
                               static_cast<uint32_t>(p.channels));
        out_pending[q] = true;
      }
    }
  }
  return Status::kOk;
}

}  // namespace sched_detail
}  // namespace tinyops
