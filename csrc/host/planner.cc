// Host-only (uses the standard library's containers): see planner.h.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <numeric>

#include "dma_partition/op_tiler.h"
#include "host/planner.h"

namespace tinyops {

namespace {

// Cache-line alignment: the M7's D-cache maintenance around DMA works on
// 32-byte lines, so no two buffers may share one.
constexpr uint32_t kAlign = 32;

uint32_t align_up(uint64_t n) { return static_cast<uint32_t>((n + kAlign - 1) / kAlign * kAlign); }

struct Block {
  uint32_t size;
  int32_t first, last;  // lifetime in op indices (inclusive)
  uint32_t offset;
  bool hot = false;  // packed first, so it lands at the lowest addresses
};

bool lifetimes_overlap(const Block& a, const Block& b) {
  return !(a.last < b.first || b.last < a.first);
}

// Greedy-by-size lifetime packing (hot blocks first); returns the peak (end
// of the highest block).
uint64_t pack(std::vector<Block*>& blocks) {
  std::vector<Block*> order(blocks);
  std::stable_sort(order.begin(), order.end(), [](const Block* a, const Block* b) {
    return a->hot != b->hot ? a->hot : a->size > b->size;
  });
  std::vector<Block*> placed;
  uint64_t peak = 0;
  std::vector<std::pair<uint32_t, uint32_t>> busy;
  for (Block* b : order) {
    busy.clear();
    for (const Block* p : placed) {
      if (lifetimes_overlap(*p, *b)) busy.emplace_back(p->offset, p->offset + p->size);
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& span : busy) {
      if (offset + b->size <= span.first) break;
      offset = std::max<uint64_t>(offset, align_up(span.second));
    }
    b->offset = static_cast<uint32_t>(offset);
    placed.push_back(b);
    peak = std::max<uint64_t>(peak, offset + b->size);
  }
  return peak;
}

class Planner {
 public:
  Planner(const Executor& exec, const PlannerConfig& cfg) : exec_(exec), cfg_(cfg) {}

  PlanResult run();

 private:
  struct OpInfo {
    std::vector<const TensorDesc*> inputs, outputs;
    std::vector<int32_t> ids;  // operands: inputs then outputs
  };

  bool direct(int32_t tensor) const {
    if (tensor < 0) return true;
    const int32_t m = result_.tensors[tensor].memory;
    return m < 0 || cfg_.memories[m].cpu_direct;
  }
  OpView view(uint32_t o) const;
  bool choose(uint32_t o, uint64_t avail, OpPlan* plan, uint64_t* min_needed) const;
  uint64_t live_resident_bytes(uint32_t o, const std::vector<char>& resident) const;
  uint32_t dma_rate(uint32_t o) const;
  int64_t constant_reuse(uint32_t t) const;
  bool place_constants(bool few_pixels_first, uint64_t sdram_constant_limit);
  bool fit_sdram_constants();
  bool plan_ops(const std::vector<char>& resident, std::vector<OpPlan>* plans, int32_t* failed,
                uint64_t* needed) const;
  bool layout_sram(const std::vector<char>& resident, std::vector<OpPlan>& plans, bool prefetch,
                   bool hot_scratch, uint64_t* peak);
  bool place_external_activations(const std::vector<char>& resident);
  bool hot_scratch_ = false;
  void apply_residency(const std::vector<char>& resident);

  const Executor& exec_;
  const PlannerConfig& cfg_;
  PlanResult result_;
  std::vector<OpInfo> ops_;
  int32_t sram_ = -1, flash_ = -1, qspi_ = -1, sdram_ = -1;
  // A read-only SDRAM memory: weights the firmware copies there from QSPI at
  // boot. It shares the chip with the SDRAM arena (sdram_).
  int32_t sdram_const_ = -1;
  bool few_pixels_first_ = true;
  std::vector<int32_t> first_, last_;  // tensor lifetimes
  std::vector<char> is_activation_;
};

OpView Planner::view(uint32_t o) const {
  const OpInfo& info = ops_[o];
  OpView v{};
  v.desc = exec_.op_descriptor(o);
  v.params = exec_.op_params(o);
  v.num_inputs = static_cast<int32_t>(info.inputs.size());
  v.inputs = info.inputs.data();
  v.num_outputs = static_cast<int32_t>(info.outputs.size());
  v.outputs = info.outputs.data();
  v.scratch_bytes = exec_.op_scratch(o);
  for (size_t k = 0; k < info.ids.size() && k < static_cast<size_t>(kMaxScheduledOperands); ++k) {
    v.direct[k] = direct(info.ids[k]);
  }
  return v;
}

bool Planner::choose(uint32_t o, uint64_t avail, OpPlan* plan, uint64_t* min_needed) const {
  const OpView v = view(o);
  TileChoice choice;
  TileCostModel cost = cfg_.cost;
  cost.dma_cycles_per_kib = dma_rate(o);
  if (choose_tiling(v, avail, kAlign, &choice, min_needed, cost) != Status::kOk) return false;
  plan->request = choice.request;
  plan->needs = choice.needs;
  plan->cost = choice.cost;
  return true;
}

// DMA cycles per KiB of op o's copies: its operands outside SRAM, weighted
// by size (a 1x1 conv late in a net moves mostly QSPI weights, an early one
// mostly SDRAM activations).
uint32_t Planner::dma_rate(uint32_t o) const {
  uint64_t bytes = 0, weighted = 0;
  for (int32_t id : ops_[o].ids) {
    if (id < 0) continue;
    const int32_t m = result_.tensors[id].memory;
    if (m < 0 || m == sram_) continue;
    const uint32_t rate = cfg_.memories[m].dma_cycles_per_kib;
    const uint64_t b = exec_.tensor(static_cast<uint32_t>(id)).bytes;
    bytes += b;
    weighted += b * (rate ? rate : cfg_.cost.dma_cycles_per_kib);
  }
  return bytes ? static_cast<uint32_t>(weighted / bytes) : cfg_.cost.dma_cycles_per_kib;
}

uint64_t Planner::live_resident_bytes(uint32_t o, const std::vector<char>& resident) const {
  uint64_t total = 0;
  for (size_t t = 0; t < resident.size(); ++t) {
    if (resident[t] && first_[t] <= static_cast<int32_t>(o) &&
        last_[t] >= static_cast<int32_t>(o)) {
      total += align_up(exec_.tensor(static_cast<uint32_t>(t)).bytes);
    }
  }
  return total;
}

// Output pixels (output elements / channels) of the ops reading constant t,
// the fewest: how many MACs each of its bytes feeds, so how long a DMA of it
// can hide behind compute.
int64_t Planner::constant_reuse(uint32_t t) const {
  int64_t reuse = INT64_MAX;
  for (const OpInfo& info : ops_) {
    if (std::find(info.ids.begin(), info.ids.end(), static_cast<int32_t>(t)) == info.ids.end() ||
        info.outputs.empty()) {
      continue;
    }
    const Shape& s = info.outputs[0]->shape;
    const int64_t ch = s.rank > 0 && s.dims[s.rank - 1] > 0 ? s.dims[s.rank - 1] : 1;
    reuse = std::min(reuse, s.num_elements() / ch);
  }
  return reuse;
}

bool Planner::place_constants(bool few_pixels_first, uint64_t sdram_constant_limit) {
  // Small constants first: each one in flash spares a staging buffer in SRAM
  // and a DMA transfer. Then weights of layers over a few pixels: each of
  // their bytes feeds only a few MACs, so a DMA from QSPI (several cycles a
  // byte) stalls the CPU, while from flash the kernel reads each byte once.
  // The rest by size: the DMA of a layer over many pixels hides behind its
  // compute, and its weights, read again for every block of pixels, are
  // faster from a staging tile in SRAM (on the M7, tightly coupled) than
  // through the D-cache from flash. Without few_pixels_first, all by size.
  // What flash cannot hold goes to SDRAM (copied there at boot; its DMA is
  // 4-6x faster than QSPI's) in the same order up to sdram_constant_limit,
  // and the rest to QSPI.
  constexpr uint32_t kSmallConstant = 4096;
  constexpr int64_t kFewPixels = 4;
  few_pixels_first_ = few_pixels_first;
  std::vector<uint32_t> consts;
  std::vector<int64_t> reuse(exec_.num_tensors(), 0);
  for (uint32_t t = 0; t < exec_.num_tensors(); ++t) {
    const TensorDesc& d = exec_.tensor(t);
    if (d.is_constant() && d.bytes > 0) {
      consts.push_back(t);
      reuse[t] = constant_reuse(t);
    }
  }
  std::stable_sort(consts.begin(), consts.end(), [&](uint32_t a, uint32_t b) {
    const uint32_t ba = exec_.tensor(a).bytes, bb = exec_.tensor(b).bytes;
    const bool sa = ba <= kSmallConstant, sb = bb <= kSmallConstant;
    if (sa != sb) return sa;
    const bool fa = few_pixels_first && !sa && reuse[a] <= kFewPixels;
    const bool fb = few_pixels_first && !sb && reuse[b] <= kFewPixels;
    if (fa != fb) return fa;
    return ba < bb;
  });
  const int32_t ext = qspi_ >= 0 ? qspi_ : sdram_;
  const uint64_t sdram_const_cap =
      sdram_const_ >= 0
          ? std::min<uint64_t>(cfg_.memories[sdram_const_].capacity, sdram_constant_limit)
          : 0;
  struct Tier {
    int32_t memory;
    uint64_t capacity, used;
  };
  Tier tiers[3] = {{flash_, flash_ >= 0 ? cfg_.memories[flash_].capacity : 0, 0},
                   {sdram_const_, sdram_const_cap, 0},
                   {ext, UINT64_MAX, 0}};
  for (uint32_t t : consts) {
    const uint32_t bytes = exec_.tensor(t).bytes;
    TensorPlacement& p = result_.tensors[t];
    Tier* tier = nullptr;
    for (Tier& candidate : tiers) {
      if (candidate.memory >= 0 && candidate.used + bytes <= candidate.capacity) {
        tier = &candidate;
        break;
      }
    }
    if (tier == nullptr) {
      result_.error = "no memory left for constant data";
      return false;
    }
    p.memory = tier->memory;
    p.offset = static_cast<uint32_t>(tier->used);
    tier->used = align_up(tier->used + bytes);
  }
  for (const Tier& tier : tiers) {
    if (tier.memory >= 0) result_.memory_used[tier.memory] = static_cast<uint32_t>(tier.used);
  }
  if (ext >= 0 && tiers[2].used > cfg_.memories[ext].capacity) {
    char msg[200];
    std::snprintf(msg, sizeof(msg), "constants need %llu bytes of external memory, %u available",
                  static_cast<unsigned long long>(tiers[2].used), cfg_.memories[ext].capacity);
    result_.error = msg;
    return false;
  }
  return true;
}

// The SDRAM constants and the SDRAM arena share one chip: when the arena's
// peak leaves too little room, the constants that do not fit move back to
// QSPI. Both are DMA-only memories, so every op's tiling stays valid; only
// its copies get slower.
bool Planner::fit_sdram_constants() {
  if (sdram_const_ < 0 || sdram_ < 0) return true;
  const uint64_t chip = cfg_.memories[sdram_].capacity;
  const uint64_t arena = result_.memory_used[sdram_];
  if (arena + result_.memory_used[sdram_const_] <= chip) return true;
  return place_constants(few_pixels_first_, chip > arena ? chip - arena : 0);
}

void Planner::apply_residency(const std::vector<char>& resident) {
  for (uint32_t t = 0; t < exec_.num_tensors(); ++t) {
    if (!is_activation_[t]) continue;
    result_.tensors[t].memory = resident[t] ? sram_ : sdram_;
  }
}

bool Planner::plan_ops(const std::vector<char>& resident, std::vector<OpPlan>* plans,
                       int32_t* failed, uint64_t* needed) const {
  for (uint32_t o = 0; o < ops_.size(); ++o) {
    const uint64_t live = live_resident_bytes(o, resident);
    const uint64_t avail = live >= cfg_.sram_budget ? 0 : cfg_.sram_budget - live;
    uint64_t min_needed = 0;
    if (!choose(o, avail, &(*plans)[o], &min_needed)) {
      *failed = static_cast<int32_t>(o);
      *needed = min_needed;
      return false;
    }
  }
  return true;
}

// Lays out every op's buffers: a workspace block per op (lifetime [o, o]) and,
// with prefetch, the next op's first weight tile as its own block over
// [o, o + 1]; packs them with the resident tensors. Fills schedules.
// With `hot_scratch` each op's kernel scratch is a block of its own packed
// before all others, so it sits at the bottom of the SRAM region: on the
// Cortex-M7 port that is DTCM (zero wait, uncached), and the GEMM's unpacked
// activations, re-read once per output channel, would otherwise thrash the
// 4 KB D-cache once they outgrow it (6 pixels x K x 2 bytes > 4 KB, K > 341).
bool Planner::layout_sram(const std::vector<char>& resident, std::vector<OpPlan>& plans,
                          bool prefetch, bool hot_scratch, uint64_t* peak) {
  const uint32_t n_ops = static_cast<uint32_t>(plans.size());
  std::vector<Block> tensor_blocks(exec_.num_tensors());
  std::vector<Block> work(n_ops), pre(n_ops), scratch(n_ops);
  std::vector<Block*> blocks;
  for (uint32_t t = 0; t < exec_.num_tensors(); ++t) {
    if (!resident[t]) continue;
    tensor_blocks[t] = Block{align_up(exec_.tensor(t).bytes), std::max(first_[t], 0),
                             std::min(last_[t], static_cast<int32_t>(n_ops) - 1), 0};
    blocks.push_back(&tensor_blocks[t]);
  }
  std::vector<char> prefetched(n_ops, 0);
  for (uint32_t o = 0; o < n_ops; ++o) {
    const TileNeeds& n = plans[o].needs;
    const bool streams_weights =
        n.weights > 0 && (plans[o].request.strategy == Strategy::kRows ||
                          plans[o].request.strategy == Strategy::kChannels);
    prefetched[o] = prefetch && o > 0 && streams_weights;
    uint64_t size = 0;
    auto add = [&](uint32_t bytes, bool twice) { size += align_up(bytes) * (twice ? 2 : 1); };
    add(n.in_band, n.double_in);
    add(n.in2_band, n.double_in2);
    if (prefetched[o]) {
      add(n.weights, false);  // weights[1] only; weights[0] is the prefetch block
      if (!n.double_weights) size -= align_up(n.weights);
    } else {
      add(n.weights, n.double_weights);
    }
    add(n.out_band, n.double_out);
    if (hot_scratch && n.scratch) {
      scratch[o] =
          Block{align_up(n.scratch), static_cast<int32_t>(o), static_cast<int32_t>(o), 0, true};
      blocks.push_back(&scratch[o]);
    } else {
      add(n.scratch, false);
    }
    for (uint32_t b : n.operand) add(b, false);
    work[o] =
        Block{static_cast<uint32_t>(size), static_cast<int32_t>(o), static_cast<int32_t>(o), 0};
    if (size) blocks.push_back(&work[o]);
    if (prefetched[o]) {
      pre[o] = Block{align_up(n.weights), static_cast<int32_t>(o) - 1, static_cast<int32_t>(o), 0};
      blocks.push_back(&pre[o]);
    }
  }
  *peak = pack(blocks);
  if (*peak > cfg_.sram_budget) return false;

  for (uint32_t t = 0; t < exec_.num_tensors(); ++t) {
    if (resident[t]) result_.tensors[t].offset = tensor_blocks[t].offset;
  }
  for (uint32_t o = 0; o < n_ops; ++o) {
    OpPlan& p = plans[o];
    const TileNeeds& n = p.needs;
    OpSchedule& s = p.schedule;
    s = OpSchedule{};
    s.strategy = static_cast<uint32_t>(p.request.strategy);
    s.order = static_cast<uint32_t>(p.request.order);
    s.rows_per_band = p.request.rows;
    s.channels_per_tile = p.request.channels;
    s.flags = p.request.flags;
    uint32_t cursor = work[o].offset;
    auto take = [&](uint32_t bytes) {
      BufferSlot b{bytes ? cursor : 0, bytes};
      cursor += align_up(bytes);
      return b;
    };
    s.in_band[0] = take(n.in_band);
    if (n.double_in) s.in_band[1] = take(n.in_band);
    s.in2_band[0] = take(n.in2_band);
    if (n.double_in2) s.in2_band[1] = take(n.in2_band);
    if (prefetched[o]) {
      s.weights[0] = BufferSlot{pre[o].offset, n.weights};
      if (n.double_weights) s.weights[1] = take(n.weights);
    } else {
      s.weights[0] = take(n.weights);
      if (n.double_weights) s.weights[1] = take(n.weights);
    }
    s.out_band[0] = take(n.out_band);
    if (n.double_out) s.out_band[1] = take(n.out_band);
    s.scratch =
        hot_scratch && n.scratch ? BufferSlot{scratch[o].offset, n.scratch} : take(n.scratch);
    const size_t operands = ops_[o].ids.size();
    p.operand_slots.assign(operands, BufferSlot{0, 0});
    for (size_t k = 0; k < operands; ++k) p.operand_slots[k] = take(n.operand[k]);
  }
  for (uint32_t o = 0; o + 1 < n_ops; ++o) {
    plans[o].schedule.next_weights =
        prefetched[o + 1] ? plans[o + 1].schedule.weights[0] : BufferSlot{0, 0};
  }
  return true;
}

bool Planner::place_external_activations(const std::vector<char>& resident) {
  std::vector<Block> blocks_store;
  std::vector<uint32_t> ids;
  for (uint32_t t = 0; t < exec_.num_tensors(); ++t) {
    if (!is_activation_[t] || resident[t]) continue;
    blocks_store.push_back(Block{align_up(exec_.tensor(t).bytes), first_[t], last_[t], 0});
    ids.push_back(t);
  }
  std::vector<Block*> blocks;
  for (Block& b : blocks_store) blocks.push_back(&b);
  const uint64_t peak = pack(blocks);
  if (!ids.empty() && sdram_ < 0) {
    result_.error = "activations do not fit internal SRAM and the board has no SDRAM";
    return false;
  }
  if (sdram_ >= 0) {
    if (peak > cfg_.memories[sdram_].capacity) {
      char msg[200];
      std::snprintf(msg, sizeof(msg), "activations need %llu bytes of SDRAM, %u available",
                    static_cast<unsigned long long>(peak), cfg_.memories[sdram_].capacity);
      result_.error = msg;
      return false;
    }
    result_.memory_used[sdram_] = static_cast<uint32_t>(peak);
  }
  for (size_t i = 0; i < ids.size(); ++i) result_.tensors[ids[i]].offset = blocks_store[i].offset;
  return true;
}

PlanResult Planner::run() {
  const uint32_t n_ops = exec_.num_ops();
  const uint32_t n_tensors = exec_.num_tensors();
  result_.tensors.assign(n_tensors, TensorPlacement{});
  result_.memory_used.assign(cfg_.memories.size(), 0);
  for (size_t m = 0; m < cfg_.memories.size(); ++m) {
    const MemorySpec& spec = cfg_.memories[m];
    const int32_t idx = static_cast<int32_t>(m);
    if (spec.kind == MemoryKind::kSram && sram_ < 0) sram_ = idx;
    if (spec.kind == MemoryKind::kFlash && flash_ < 0) flash_ = idx;
    if (spec.kind == MemoryKind::kQspi && qspi_ < 0) qspi_ = idx;
    if (spec.kind == MemoryKind::kSdram && spec.writable && sdram_ < 0) sdram_ = idx;
    if (spec.kind == MemoryKind::kSdram && !spec.writable && sdram_const_ < 0) sdram_const_ = idx;
  }
  if (sram_ < 0) {
    result_.error = "the board has no internal SRAM memory";
    return result_;
  }
  // Operands and lifetimes, as the executor defines them.
  ops_.resize(n_ops);
  first_.assign(n_tensors, static_cast<int32_t>(n_ops));
  last_.assign(n_tensors, -1);
  is_activation_.assign(n_tensors, 0);
  for (uint32_t i = 0; i < exec_.num_inputs(); ++i) first_[exec_.input_tensor(i)] = -1;
  for (uint32_t o = 0; o < n_ops; ++o) {
    OpInfo& info = ops_[o];
    for (uint32_t k = 0; k < exec_.op_num_inputs(o); ++k) {
      const int32_t id = exec_.op_inputs(o)[k];
      info.inputs.push_back(id >= 0 ? &exec_.tensor(static_cast<uint32_t>(id)) : nullptr);
      info.ids.push_back(id);
    }
    for (uint32_t k = 0; k < exec_.op_num_outputs(o); ++k) {
      const int32_t id = exec_.op_outputs(o)[k];
      info.outputs.push_back(&exec_.tensor(static_cast<uint32_t>(id)));
      info.ids.push_back(id);
    }
    for (int32_t id : info.ids) {
      if (id < 0) continue;
      first_[id] = std::min(first_[id], static_cast<int32_t>(o));
      last_[id] = std::max(last_[id], static_cast<int32_t>(o));
    }
  }
  // Graph inputs stay intact for the whole inference (invoke() can be
  // repeated on the same input), outputs until it ends.
  for (uint32_t i = 0; i < exec_.num_inputs(); ++i)
    last_[exec_.input_tensor(i)] = static_cast<int32_t>(n_ops);
  for (uint32_t i = 0; i < exec_.num_outputs(); ++i)
    last_[exec_.output_tensor(i)] = static_cast<int32_t>(n_ops);
  for (uint32_t t = 0; t < n_tensors; ++t) {
    const TensorDesc& d = exec_.tensor(t);
    is_activation_[t] = !d.is_constant() && last_[t] >= first_[t] && d.bytes > 0;
    if (is_activation_[t]) {
      first_[t] = std::max(first_[t], -1);
    }
  }
  if (!place_constants(true, UINT64_MAX)) return result_;

  // 1. Everything external: every op must fit on its own.
  std::vector<char> resident(n_tensors, 0);
  apply_residency(resident);
  std::vector<OpPlan> plans(n_ops);
  int32_t failed = -1;
  uint64_t needed = 0;
  bool fits = plan_ops(resident, &plans, &failed, &needed);
  if (!fits) {
    // Weights the few-pixel ones pushed out of flash may need staging tiles
    // larger than the budget: place by size alone.
    if (!place_constants(false, UINT64_MAX)) return result_;
    apply_residency(resident);
    fits = plan_ops(resident, &plans, &failed, &needed);
  }
  if (!fits) {
    char msg[300];
    std::snprintf(msg, sizeof(msg),
                  "op %d (%s) needs at least %llu bytes of SRAM for its tile buffers even at its "
                  "finest tiling; the SRAM budget is %u bytes",
                  failed, exec_.op_name(static_cast<uint32_t>(failed)),
                  static_cast<unsigned long long>(needed), cfg_.sram_budget);
    result_.error = msg;
    result_.failed_op = failed;
    result_.needed_bytes = needed;
    return result_;
  }
  uint64_t peak = 0;
  // Scratch at the bottom of SRAM whenever that packs at all; the residency
  // choices below then keep it there.
  hot_scratch_ = layout_sram(resident, plans, false, true, &peak);
  if (!hot_scratch_ && !layout_sram(resident, plans, false, false, &peak)) {
    result_.error = "tile buffers do not pack into the SRAM budget";
    return result_;
  }
  uint64_t total = 0;
  for (const OpPlan& p : plans) total += p.cost;

  // 2. Keep activations in SRAM where that lowers the estimated traffic:
  // the most-read, smallest tensors first. Without SDRAM every activation
  // must be resident, so any residency that still plans and packs is kept.
  if (cfg_.resident_activations) {
    std::vector<uint32_t> cands;
    for (uint32_t t = 0; t < n_tensors; ++t) {
      if (is_activation_[t] && exec_.tensor(t).bytes <= cfg_.sram_budget) cands.push_back(t);
    }
    std::vector<uint32_t> reads(n_tensors, 0);
    for (uint32_t o = 0; o < n_ops; ++o) {
      for (uint32_t k = 0; k < exec_.op_num_inputs(o); ++k) {
        const int32_t id = exec_.op_inputs(o)[k];
        if (id >= 0) reads[id] += 1;
      }
    }
    std::stable_sort(cands.begin(), cands.end(), [&](uint32_t a, uint32_t b) {
      const uint64_t wa = uint64_t{1 + reads[a]} * exec_.tensor(b).bytes;
      const uint64_t wb = uint64_t{1 + reads[b]} * exec_.tensor(a).bytes;
      return wa > wb;  // traffic saved per byte, highest first
    });
    for (uint32_t t : cands) {
      resident[t] = 1;
      apply_residency(resident);
      std::vector<OpPlan> trial(n_ops);
      uint64_t trial_total = 0;
      bool ok = plan_ops(resident, &trial, &failed, &needed);
      if (ok) {
        for (const OpPlan& p : trial) trial_total += p.cost;
        ok = (sdram_ < 0 || trial_total < total) &&
             layout_sram(resident, trial, false, hot_scratch_, &peak);
      }
      if (ok) {
        plans.swap(trial);
        total = trial_total;
      } else {
        resident[t] = 0;
      }
    }
    apply_residency(resident);
  }
  // 3. Final layout, with cross-op weight prefetch and the kernels' scratch
  // at the bottom of SRAM when they still pack.
  bool packed = false;
  for (int attempt = 0; attempt < 2 && !packed; ++attempt) {
    const bool prefetch = attempt == 0;
    if (prefetch && !cfg_.prefetch_weights) continue;
    packed = layout_sram(resident, plans, prefetch, hot_scratch_, &peak);
  }
  if (!packed) {
    result_.error = "tile buffers do not pack into the SRAM budget";
    return result_;
  }
  result_.sram_peak = static_cast<uint32_t>(peak);
  result_.memory_used[sram_] = static_cast<uint32_t>(peak);
  if (!place_external_activations(resident)) return result_;
  if (!fit_sdram_constants()) return result_;
  for (uint32_t t = 0; t < n_tensors; ++t) {
    result_.tensors[t].first_op = first_[t];
    result_.tensors[t].last_op = last_[t];
  }
  result_.ops = std::move(plans);
  result_.ok = true;
  return result_;
}

}  // namespace

PlanResult plan_partition(const Executor& exec, const PlannerConfig& config) {
  Planner planner(exec, config);
  return planner.run();
}

}  // namespace tinyops
