// The tile scheduler's shared machinery (private to csrc/dma_partition): the
// per-op Runner that counts copies and SRAM use, the two-buffer cache of
// tagged loads, and the strategy runners each scheduler_*.cc defines.
#pragma once
#include <cstdint>

#include "dma_partition/scheduler.h"

namespace tinyops {
namespace sched_detail {

struct Runner {
  ScheduledOp& op;
  DmaEngine& dma;
  OpStats* st;
  const OpSchedule& s;
  uint32_t high_water = 0;
  DmaTicket last{0};
  bool any = false;

  Runner(ScheduledOp& o, DmaEngine& d, OpStats* stats) : op(o), dma(d), st(stats), s(*o.schedule) {}

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
      const TensorDesc* d =
          k < op.view.num_inputs ? op.view.inputs[k] : op.view.outputs[k - op.view.num_inputs];
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

inline void await(TwoSlot& c, int i, DmaEngine& dma) {
  if (c.pending[i]) {
    dma.wait(c.ticket[i]);
    c.pending[i] = false;
  }
}

// The strategy runners (scheduler.cc dispatches on the schedule's strategy).
Status run_flat(Runner& r, OpFamily family);         // scheduler_stream.cc
Status run_binary_rows(Runner& r);                   // scheduler_stream.cc
Status run_mean_rows(Runner& r);                     // scheduler_stream.cc
Status run_window_rows(Runner& r, OpFamily family);  // scheduler_window.cc

}  // namespace sched_detail
}  // namespace tinyops
