#include "dma_partition/schedule_check.h"

#include <cinttypes>
#include <cstdio>

namespace tinyops {

namespace {

struct Span {
  uint32_t begin, end;
  const char* what;
};

}  // namespace

Status check_schedule(const OpView& op, const OpSchedule& s, const BufferSlot* operand_slots,
                      const uint32_t* resident_offset, uint32_t sram_bytes, char* message,
                      size_t cap) {
  const Status bad = Status::kInvalidPlan;
  if (s.strategy > static_cast<uint32_t>(Strategy::kChannels) ||
      s.order > static_cast<uint32_t>(TileOrder::kRowsOuter) || (s.flags & ~kSingleBuffer) != 0) {
    std::snprintf(message, cap, "unknown strategy %" PRIu32 " / order %" PRIu32, s.strategy,
                  s.order);
    return bad;
  }
  const TileRequest req{static_cast<Strategy>(s.strategy), static_cast<TileOrder>(s.order),
                        s.rows_per_band, s.channels_per_tile, s.flags};
  TileNeeds n;
  const Status ns = tile_needs(op, req, &n);
  if (ns != Status::kOk) {
    std::snprintf(message, cap,
                  "strategy %" PRIu32 " with %" PRId32 " rows x %" PRId32
                  " channels does not apply to this op",
                  s.strategy, s.rows_per_band, s.channels_per_tile);
    return bad;
  }
  Span spans[32];
  int count = 0;
  bool ok = true;
  auto need = [&](const BufferSlot& slot, uint32_t bytes, bool required, const char* what) {
    if (!required || bytes == 0) return;
    if (slot.bytes < bytes) {
      std::snprintf(message, cap, "%s buffer has %" PRIu32 " bytes, the tiling needs %" PRIu32,
                    what, slot.bytes, bytes);
      ok = false;
    }
  };
  need(s.in_band[0], n.in_band, true, "input band");
  need(s.in_band[1], n.in_band, n.double_in, "second input band");
  need(s.in2_band[0], n.in2_band, true, "input-2 band");
  need(s.in2_band[1], n.in2_band, n.double_in2, "second input-2 band");
  need(s.weights[0], n.weights, true, "weight tile");
  need(s.weights[1], n.weights, n.double_weights, "second weight tile");
  need(s.out_band[0], n.out_band, true, "output band");
  need(s.out_band[1], n.out_band, n.double_out, "second output band");
  need(s.scratch, n.scratch, true, "scratch");
  const int operands = op.num_inputs + op.num_outputs;
  for (int k = 0; k < operands; ++k) need(operand_slots[k], n.operand[k], true, "staging");
  if (!ok) return bad;

  auto add = [&](const BufferSlot& slot, const char* what) {
    if (slot.bytes == 0) return;
    if (slot.offset > sram_bytes || slot.bytes > sram_bytes - slot.offset) {
      std::snprintf(message, cap,
                    "%s buffer [%" PRIu32 ", +%" PRIu32 ") outside the %" PRIu32
                    "-byte SRAM region",
                    what, slot.offset, slot.bytes, sram_bytes);
      ok = false;
      return;
    }
    // Kernels keep int32 accumulators and unpacked words in these buffers.
    if (slot.offset % 4 != 0) {
      std::snprintf(message, cap, "%s buffer at SRAM offset %" PRIu32 " is not 4-byte aligned",
                    what, slot.offset);
      ok = false;
      return;
    }
    if (count < 32) spans[count++] = Span{slot.offset, slot.offset + slot.bytes, what};
  };
  add(s.in_band[0], "input band");
  add(s.in_band[1], "input band");
  add(s.in2_band[0], "input-2 band");
  add(s.in2_band[1], "input-2 band");
  add(s.weights[0], "weight tile");
  add(s.weights[1], "weight tile");
  add(s.out_band[0], "output band");
  add(s.out_band[1], "output band");
  add(s.scratch, "scratch");
  add(s.next_weights, "next op's weights");
  for (int k = 0; k < operands; ++k) add(operand_slots[k], "staging");
  for (int k = 0; k < operands; ++k) {
    const TensorDesc* d = k < op.num_inputs ? op.inputs[k] : op.outputs[k - op.num_inputs];
    if (d && resident_offset[k] != kNotResident && d->bytes) {
      if (count < 32)
        spans[count++] = Span{resident_offset[k], resident_offset[k] + d->bytes,
                              k < op.num_inputs ? "resident input" : "resident output"};
    }
  }
  if (!ok) return bad;
  for (int i = 0; i < count; ++i) {
    for (int j = i + 1; j < count; ++j) {
      const bool same_resident = spans[i].begin == spans[j].begin && spans[i].end == spans[j].end &&
                                 spans[i].what[0] == 'r' && spans[j].what[0] == 'r';
      if (same_resident) continue;  // one tensor read twice, or read and written in place
      if (spans[i].begin < spans[j].end && spans[j].begin < spans[i].end) {
        std::snprintf(message, cap,
                      "%s [%" PRIu32 ", %" PRIu32 ") overlaps %s [%" PRIu32 ", %" PRIu32
                      ") in SRAM",
                      spans[i].what, spans[i].begin, spans[i].end, spans[j].what, spans[j].begin,
                      spans[j].end);
        return bad;
      }
    }
  }
  return Status::kOk;
}

}  // namespace tinyops
