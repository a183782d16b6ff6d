#include "runtime/executor.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "dma_partition/schedule_check.h"
#include "runtime/op_registry.h"

namespace tinyops {

namespace {

constexpr uint32_t kMaxRegions = 16;
constexpr uint32_t kMaxTensors = 1u << 20;
constexpr uint32_t kMaxOps = 1u << 20;
constexpr uint32_t kMaxOpIo = 64;

Status failf(char* message, size_t cap, Status s, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

Status failf(char* message, size_t cap, Status s, const char* fmt, ...) {
  if (message && cap) {
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(message, cap, fmt, args);
    va_end(args);
  }
  return s;
}

bool range_ok(uint64_t offset, uint64_t bytes, uint64_t limit) {
  return offset <= limit && bytes <= limit - offset;
}

}  // namespace

const char* Executor::tensor_name(uint32_t i) const {
  return pool_ + tensor_records_[i].name_offset;
}

Status Executor::validate_tables(const uint8_t* plan, size_t plan_bytes,
                                 const RegionBinding* regions, uint32_t num_regions, char* message,
                                 size_t cap) {
  const Status bad = Status::kInvalidPlan;
  if (plan == nullptr || plan_bytes < sizeof(PlanHeader)) {
    return failf(message, cap, bad, "plan is %zu bytes, shorter than its header",
                 static_cast<size_t>(plan_bytes));
  }
  if (reinterpret_cast<uintptr_t>(plan) % 4 != 0) {
    return failf(message, cap, Status::kBadArgument, "plan bytes must be 4-byte aligned");
  }
  const auto* h = reinterpret_cast<const PlanHeader*>(plan);
  if (h->magic != kPlanMagic) return failf(message, cap, bad, "not a tinyops plan (bad magic)");
  if (h->version != kPlanVersion) {
    return failf(message, cap, bad, "plan version %" PRIu32 ", this engine reads version %" PRIu32,
                 h->version, kPlanVersion);
  }
  if (h->total_bytes != plan_bytes) {
    return failf(message, cap, bad, "plan header says %" PRIu32 " bytes, got %zu (truncated?)",
                 h->total_bytes, static_cast<size_t>(plan_bytes));
  }
  if (h->num_regions > kMaxRegions || h->num_tensors > kMaxTensors || h->num_ops > kMaxOps ||
      h->num_inputs > h->num_tensors || h->num_outputs > h->num_tensors) {
    return failf(message, cap, bad, "plan table counts out of range");
  }
  const uint64_t regions_at = sizeof(PlanHeader);
  const uint64_t tensors_at = regions_at + uint64_t{h->num_regions} * sizeof(RegionRecord);
  const uint64_t ops_at = tensors_at + uint64_t{h->num_tensors} * sizeof(TensorRecord);
  const uint64_t io_at = ops_at + uint64_t{h->num_ops} * sizeof(OpRecord);
  const uint64_t tables_end = io_at + 4ull * (h->num_inputs + h->num_outputs);
  if (tables_end > plan_bytes || h->pool_offset < tables_end ||
      !range_ok(h->pool_offset, h->pool_bytes, plan_bytes)) {
    return failf(message, cap, bad, "plan tables exceed the plan's %zu bytes",
                 static_cast<size_t>(plan_bytes));
  }
  if (num_regions != h->num_regions) {
    return failf(message, cap, Status::kBadArgument,
                 "plan has %" PRIu32 " memory regions, %" PRIu32 " bound", h->num_regions,
                 num_regions);
  }
  header_ = h;
  region_records_ = reinterpret_cast<const RegionRecord*>(plan + regions_at);
  tensor_records_ = reinterpret_cast<const TensorRecord*>(plan + tensors_at);
  op_records_ = reinterpret_cast<const OpRecord*>(plan + ops_at);
  io_ = reinterpret_cast<const int32_t*>(plan + io_at);
  pool_ = reinterpret_cast<const char*>(plan + h->pool_offset);
  const uint32_t pool_bytes = h->pool_bytes;

  for (uint32_t r = 0; r < h->num_regions; ++r) {
    const RegionRecord& rr = region_records_[r];
    if (rr.kind > static_cast<uint32_t>(RegionKind::kConstant) ||
        rr.memory > static_cast<uint32_t>(MemoryKind::kHost) ||
        rr.flags > (kRegionDma | kRegionCpuDirect)) {
      return failf(message, cap, bad,
                   "region %" PRIu32 " has unknown kind %" PRIu32 " / memory %" PRIu32
                   " / flags %" PRIu32,
                   r, rr.kind, rr.memory, rr.flags);
    }
    if (regions[r].bytes < rr.bytes || (rr.bytes > 0 && regions[r].base == nullptr)) {
      return failf(message, cap, Status::kBadArgument,
                   "region %" PRIu32 ": plan needs %" PRIu32 " bytes, %" PRIu32 " bound", r,
                   rr.bytes, regions[r].bytes);
    }
  }

  if (h->sram_region != kNoRegion) {
    if (h->sram_region >= h->num_regions) {
      return failf(message, cap, bad, "SRAM region index %" PRIu32 " out of range", h->sram_region);
    }
    const RegionRecord& sr = region_records_[h->sram_region];
    if (sr.kind != static_cast<uint32_t>(RegionKind::kArena) ||
        (sr.flags & (kRegionDma | kRegionCpuDirect)) != (kRegionDma | kRegionCpuDirect)) {
      return failf(message, cap, bad, "the SRAM region must be a DMA-reachable, CPU-direct arena");
    }
  }

  for (uint32_t t = 0; t < h->num_tensors; ++t) {
    const TensorRecord& tr = tensor_records_[t];
    if (!dtype_valid(tr.type)) {
      return failf(message, cap, bad, "tensor %" PRIu32 ": bad type %u", t, unsigned{tr.type});
    }
    if (tr.rank > kMaxRank) {
      return failf(message, cap, bad, "tensor %" PRIu32 ": rank %u > %d", t, unsigned{tr.rank},
                   kMaxRank);
    }
    if (!range_ok(tr.name_offset, 1, pool_bytes) ||
        std::memchr(pool_ + tr.name_offset, 0, pool_bytes - tr.name_offset) == nullptr) {
      return failf(message, cap, bad, "tensor %" PRIu32 ": name out of range", t);
    }
    uint64_t n = 1;
    for (uint32_t d = 0; d < tr.rank; ++d) {
      if (tr.dims[d] < 0)
        return failf(message, cap, bad, "tensor %" PRIu32 ": negative dimension", t);
      n *= static_cast<uint64_t>(tr.dims[d]);
      if (n > 0xFFFFFFFFull)
        return failf(message, cap, bad, "tensor %" PRIu32 ": too many elements", t);
    }
    const uint64_t bytes = n * dtype_size(static_cast<DType>(tr.type));
    if (bytes != tr.bytes) {
      return failf(message, cap, bad,
                   "tensor %" PRIu32 " '%s': %" PRIu32 " bytes recorded, shape needs %llu", t,
                   pool_ + tr.name_offset, tr.bytes, static_cast<unsigned long long>(bytes));
    }
    if (tr.region == kNoRegion) {
      if (tr.bytes != 0) {
        // Only tensors nobody reads or writes may lack storage; checked with the ops.
      }
    } else if (tr.region >= h->num_regions ||
               !range_ok(tr.offset, tr.bytes, region_records_[tr.region].bytes)) {
      return failf(message, cap, bad, "tensor %" PRIu32 " '%s': storage outside its region", t,
                   pool_ + tr.name_offset);
    } else if (tr.offset % 4 != 0 && tr.type != static_cast<uint8_t>(DType::kInt8) &&
               tr.type != static_cast<uint8_t>(DType::kUInt8) &&
               tr.type != static_cast<uint8_t>(DType::kBool)) {
      return failf(message, cap, bad, "tensor %" PRIu32 " '%s': misaligned storage", t,
                   pool_ + tr.name_offset);
    }
    if (tr.num_scales > 0) {
      // Zero points inside the element type, as the model reader enforces;
      // kernels rely on it to keep their integer arithmetic in range.
      const DType type = static_cast<DType>(tr.type);
      const bool zp_ok = type == DType::kInt8    ? (tr.zero_point >= -128 && tr.zero_point <= 127)
                         : type == DType::kUInt8 ? (tr.zero_point >= 0 && tr.zero_point <= 255)
                         : type == DType::kInt16
                             ? (tr.zero_point >= -32768 && tr.zero_point <= 32767)
                             : true;
      if (!zp_ok) {
        return failf(message, cap, bad,
                     "tensor %" PRIu32 ": zero point %" PRId32 " outside its type's range", t,
                     tr.zero_point);
      }
      if (!range_ok(tr.scales_offset, 4ull * tr.num_scales, pool_bytes) ||
          tr.scales_offset % 4 != 0) {
        return failf(message, cap, bad, "tensor %" PRIu32 ": quantization scales out of range", t);
      }
      if (tr.num_scales > 1 &&
          (tr.quantized_dimension < 0 || tr.quantized_dimension >= static_cast<int32_t>(tr.rank) ||
           static_cast<uint32_t>(tr.dims[tr.quantized_dimension]) != tr.num_scales)) {
        return failf(message, cap, bad,
                     "tensor %" PRIu32 ": %" PRIu32 " scales do not match its shape", t,
                     tr.num_scales);
      }
    }
  }

  for (uint32_t i = 0; i < h->num_inputs + h->num_outputs; ++i) {
    const int32_t id = io_[i];
    if (id < 0 || static_cast<uint32_t>(id) >= h->num_tensors) {
      return failf(message, cap, bad,
                   "graph input/output %" PRIu32 ": tensor index %" PRId32 " out of range", i, id);
    }
    const uint32_t reg = tensor_records_[id].region;
    if (reg == kNoRegion ||
        region_records_[reg].kind != static_cast<uint32_t>(RegionKind::kArena)) {
      return failf(message, cap, bad,
                   "graph input/output tensor %" PRId32 " has no writable storage", id);
    }
  }

  for (uint32_t o = 0; o < h->num_ops; ++o) {
    const OpRecord& op = op_records_[o];
    if (find_op_kernel(op.opcode) == nullptr) {
      return failf(message, cap, Status::kUnsupported,
                   "op %" PRIu32 ": no kernel for builtin code %" PRId32, o, op.opcode);
    }
    if (op.num_inputs > kMaxOpIo || op.num_outputs > kMaxOpIo ||
        !range_ok(op.tensors_offset, 4ull * (op.num_inputs + op.num_outputs), pool_bytes) ||
        op.tensors_offset % 4 != 0) {
      return failf(message, cap, bad, "op %" PRIu32 ": tensor list out of range", o);
    }
    if (h->sram_region == kNoRegion
            ? op.schedule_offset != kNoSchedule
            : (op.schedule_offset == kNoSchedule || op.schedule_offset % 4 != 0 ||
               !range_ok(op.schedule_offset, sizeof(OpSchedule), pool_bytes))) {
      return failf(message, cap, bad, "op %" PRIu32 ": schedule missing, misplaced or out of range",
                   o);
    }
    const auto* ids = reinterpret_cast<const int32_t*>(pool_ + op.tensors_offset);
    for (uint32_t k = 0; k < op.num_inputs + op.num_outputs; ++k) {
      const int32_t id = ids[k];
      const bool is_output = k >= op.num_inputs;
      if (id == -1 && !is_output) continue;
      if (id < 0 || static_cast<uint32_t>(id) >= h->num_tensors) {
        return failf(message, cap, bad, "op %" PRIu32 ": tensor index %" PRId32 " out of range", o,
                     id);
      }
      const TensorRecord& tr = tensor_records_[id];
      if (tr.region == kNoRegion && tr.bytes != 0) {
        return failf(message, cap, bad, "op %" PRIu32 ": tensor %" PRId32 " '%s' has no storage", o,
                     id, pool_ + tr.name_offset);
      }
      if (is_output && tr.region != kNoRegion &&
          region_records_[tr.region].kind != static_cast<uint32_t>(RegionKind::kArena)) {
        return failf(message, cap, bad, "op %" PRIu32 " writes constant tensor %" PRId32 " '%s'", o,
                     id, pool_ + tr.name_offset);
      }
    }
  }
  return Status::kOk;
}

Status Executor::load(const uint8_t* plan, size_t plan_bytes, const RegionBinding* regions,
                      uint32_t num_regions, Allocator* allocator, char* message,
                      size_t message_cap) {
  ops_ = nullptr;
  Status s = validate_tables(plan, plan_bytes, regions, num_regions, message, message_cap);
  if (s != Status::kOk) return s;
  const PlanHeader* h = header_;
  num_tensors_ = h->num_tensors;
  num_ops_ = h->num_ops;
  num_inputs_ = h->num_inputs;
  num_outputs_ = h->num_outputs;

  auto* descs = static_cast<TensorDesc*>(
      allocator->alloc(sizeof(TensorDesc) * (num_tensors_ ? num_tensors_ : 1), 16));
  auto* data =
      static_cast<void**>(allocator->alloc(sizeof(void*) * (num_tensors_ ? num_tensors_ : 1), 16));
  auto* ops = static_cast<PreparedOp*>(
      allocator->alloc(sizeof(PreparedOp) * (num_ops_ ? num_ops_ : 1), 16));
  if (!descs || !data || !ops) {
    return failf(message, message_cap, Status::kOutOfMemory, "no memory for executor tables");
  }
  for (uint32_t t = 0; t < num_tensors_; ++t) {
    const TensorRecord& tr = tensor_records_[t];
    TensorDesc& d = descs[t];
    d.type = static_cast<DType>(tr.type);
    d.shape.rank = tr.rank;
    for (int k = 0; k < kMaxRank; ++k) d.shape.dims[k] = k < tr.rank ? tr.dims[k] : 1;
    d.quant.scale = tr.scale;
    d.quant.zero_point = tr.zero_point;
    d.quant.num_scales = static_cast<int32_t>(tr.num_scales);
    d.quant.scales =
        tr.num_scales ? reinterpret_cast<const float*>(pool_ + tr.scales_offset) : nullptr;
    d.quant.quantized_dimension = tr.quantized_dimension;
    d.bytes = tr.bytes;
    data[t] = nullptr;
    d.const_data = nullptr;
    if (tr.region != kNoRegion) {
      uint8_t* base = static_cast<uint8_t*>(regions[tr.region].base);
      data[t] = base ? base + tr.offset : nullptr;
      if (region_records_[tr.region].kind == static_cast<uint32_t>(RegionKind::kConstant)) {
        d.const_data = data[t];
      }
    }
  }
  descs_ = descs;
  data_ = data;

  uint32_t max_io = 1;
  uint32_t scratch = 0;
  for (uint32_t o = 0; o < num_ops_; ++o) {
    const OpRecord& rec = op_records_[o];
    const auto* ids = reinterpret_cast<const int32_t*>(pool_ + rec.tensors_offset);
    const TensorDesc* in_descs[kMaxOpIo];
    const TensorDesc* out_descs[kMaxOpIo];
    for (uint32_t k = 0; k < rec.num_inputs; ++k)
      in_descs[k] = ids[k] >= 0 ? &descs[ids[k]] : nullptr;
    for (uint32_t k = 0; k < rec.num_outputs; ++k) out_descs[k] = &descs[ids[rec.num_inputs + k]];
    PrepareContext ctx;
    ctx.opcode = rec.opcode;
    ctx.op_index = static_cast<int32_t>(o);
    ctx.options = &rec.options;
    ctx.num_inputs = static_cast<int32_t>(rec.num_inputs);
    ctx.inputs = in_descs;
    ctx.num_outputs = static_cast<int32_t>(rec.num_outputs);
    ctx.outputs = out_descs;
    ctx.allocator = allocator;
    char op_message[200] = {0};
    ctx.message = op_message;
    ctx.message_cap = sizeof(op_message);
    const OpDescriptor* kernel = find_op_kernel(rec.opcode);
    s = kernel->prepare(ctx);
    if (s != Status::kOk) {
      return failf(message, message_cap, s, "op %" PRIu32 " (%s, output '%s'): %s", o, kernel->name,
                   rec.num_outputs ? tensor_name(static_cast<uint32_t>(ids[rec.num_inputs])) : "",
                   op_message[0] ? op_message : status_name(s));
    }
    ops[o] =
        PreparedOp{kernel,          ctx.params,       ids, ids + rec.num_inputs, rec.num_inputs,
                   rec.num_outputs, ctx.scratch_bytes};
    if (ctx.scratch_bytes > scratch) scratch = ctx.scratch_bytes;
    if (rec.num_inputs > max_io) max_io = rec.num_inputs;
    if (rec.num_outputs > max_io) max_io = rec.num_outputs;
  }
  ops_ = ops;
  if (h->sram_region != kNoRegion) {
    scratch = 0;  // partitioned ops get scratch from their schedules, in SRAM
    s = load_schedules(regions, allocator, message, message_cap);
    if (s != Status::kOk) {
      ops_ = nullptr;
      return s;
    }
  }
  ops_ = nullptr;
  in_ptrs_ = static_cast<const void**>(allocator->alloc(sizeof(void*) * max_io, 16));
  out_ptrs_ = static_cast<void**>(allocator->alloc(sizeof(void*) * max_io, 16));
  scratch_ = scratch ? allocator->alloc(scratch, 16) : nullptr;
  if (!in_ptrs_ || !out_ptrs_ || (scratch && !scratch_)) {
    return failf(message, message_cap, Status::kOutOfMemory,
                 "no memory for %" PRIu32 " scratch bytes", scratch);
  }
  scratch_bytes_ = scratch;
  ops_ = ops;
  return Status::kOk;
}

Status Executor::load_schedules(const RegionBinding* regions, Allocator* allocator, char* message,
                                size_t cap) {
  const PlanHeader* h = header_;
  const uint32_t sram = h->sram_region;
  const uint32_t pool_bytes = h->pool_bytes;
  auto* sched = static_cast<ScheduledOp*>(
      allocator->alloc(sizeof(ScheduledOp) * (num_ops_ ? num_ops_ : 1), 16));
  auto* stats =
      static_cast<OpStats*>(allocator->alloc(sizeof(OpStats) * (num_ops_ ? num_ops_ : 1), 16));
  if (!sched || !stats) return failf(message, cap, Status::kOutOfMemory, "no memory for schedules");
  std::memset(stats, 0, sizeof(OpStats) * num_ops_);

  // Lifetimes of SRAM-resident tensors, to check no op's buffers overlap one
  // that is live while the op runs.
  auto* first = static_cast<int32_t*>(
      allocator->alloc(sizeof(int32_t) * (num_tensors_ ? num_tensors_ : 1), 16));
  auto* last = static_cast<int32_t*>(
      allocator->alloc(sizeof(int32_t) * (num_tensors_ ? num_tensors_ : 1), 16));
  if (!first || !last) return failf(message, cap, Status::kOutOfMemory, "no memory for lifetimes");
  for (uint32_t t = 0; t < num_tensors_; ++t) {
    first[t] = static_cast<int32_t>(num_ops_);
    last[t] = -1;
  }
  for (uint32_t i = 0; i < num_inputs_; ++i) first[io_[i]] = -1;
  for (uint32_t o = 0; o < num_ops_; ++o) {
    const PreparedOp& op = ops_[o];
    for (uint32_t k = 0; k < op.num_inputs + op.num_outputs; ++k) {
      const int32_t id = k < op.num_inputs ? op.inputs[k] : op.outputs[k - op.num_inputs];
      if (id < 0) continue;
      if (static_cast<int32_t>(o) < first[id]) first[id] = static_cast<int32_t>(o);
      if (static_cast<int32_t>(o) > last[id]) last[id] = static_cast<int32_t>(o);
    }
  }
  // Graph inputs and outputs are live for the whole inference.
  for (uint32_t i = 0; i < num_inputs_ + num_outputs_; ++i)
    last[io_[i]] = static_cast<int32_t>(num_ops_);

  for (uint32_t o = 0; o < num_ops_; ++o) {
    const PreparedOp& op = ops_[o];
    const OpRecord& rec = op_records_[o];
    const uint32_t n = op.num_inputs + op.num_outputs;
    if (n > static_cast<uint32_t>(kMaxScheduledOperands)) {
      return failf(message, cap, Status::kUnsupported,
                   "op %" PRIu32 ": too many operands to partition", o);
    }
    const auto* s = reinterpret_cast<const OpSchedule*>(pool_ + rec.schedule_offset);
    if (s->operand_slots % 4 != 0 || !range_ok(s->operand_slots, 8ull * n, pool_bytes)) {
      return failf(message, cap, Status::kInvalidPlan, "op %" PRIu32 ": staging slots out of range",
                   o);
    }
    auto** in_descs =
        static_cast<const TensorDesc**>(allocator->alloc(sizeof(void*) * (op.num_inputs + 1), 16));
    auto** out_descs =
        static_cast<const TensorDesc**>(allocator->alloc(sizeof(void*) * (op.num_outputs + 1), 16));
    auto** data = static_cast<void**>(allocator->alloc(sizeof(void*) * (n + 1), 16));
    auto* region = static_cast<uint32_t*>(allocator->alloc(sizeof(uint32_t) * (n + 1), 16));
    auto* offset = static_cast<uint32_t*>(allocator->alloc(sizeof(uint32_t) * (n + 1), 16));
    if (!in_descs || !out_descs || !data || !region || !offset) {
      return failf(message, cap, Status::kOutOfMemory, "no memory for schedules");
    }
    ScheduledOp& so = sched[o];
    so = ScheduledOp{};
    OpView& v = so.view;
    v.desc = op.kernel;
    v.params = op.params;
    v.num_inputs = static_cast<int32_t>(op.num_inputs);
    v.num_outputs = static_cast<int32_t>(op.num_outputs);
    v.inputs = in_descs;
    v.outputs = out_descs;
    v.scratch_bytes = op.scratch;
    uint32_t resident[kMaxScheduledOperands];
    for (uint32_t k = 0; k < n; ++k) {
      const int32_t id = k < op.num_inputs ? op.inputs[k] : op.outputs[k - op.num_inputs];
      const TensorDesc* d = id >= 0 ? &descs_[id] : nullptr;
      (k < op.num_inputs ? in_descs[k] : out_descs[k - op.num_inputs]) = d;
      data[k] = id >= 0 ? data_[id] : nullptr;
      region[k] = id >= 0 ? tensor_records_[id].region : kNoStatRegion;
      offset[k] = id >= 0 ? tensor_records_[id].offset : 0;
      resident[k] = (id >= 0 && region[k] == sram) ? offset[k] : kNotResident;
      const uint32_t flags = (id >= 0 && region[k] != kNoRegion) ? region_records_[region[k]].flags
                                                                 : (kRegionCpuDirect | kRegionDma);
      v.direct[k] = (flags & kRegionCpuDirect) != 0;
      if (!v.direct[k] && !(flags & kRegionDma)) {
        return failf(message, cap, Status::kInvalidPlan,
                     "op %" PRIu32 " (%s): tensor %" PRId32
                     " is neither CPU-direct nor DMA-reachable",
                     o, op.kernel->name, id);
      }
    }
    so.eval = op.kernel->eval;
    so.schedule = s;
    so.operand_slots = reinterpret_cast<const BufferSlot*>(pool_ + s->operand_slots);
    so.data = data;
    so.region = region;
    so.sram_offset = offset;
    so.sram_region = sram;
    so.sram = static_cast<uint8_t*>(regions[sram].base);
    char why[200] = {0};
    const Status cs = check_schedule(v, *s, so.operand_slots, resident, region_records_[sram].bytes,
                                     why, sizeof(why));
    if (cs != Status::kOk) {
      return failf(message, cap, cs, "op %" PRIu32 " (%s): %s", o, op.kernel->name, why);
    }
    // No buffer of this op may overlap an SRAM tensor that is live now.
    const BufferSlot* slots[11 + kMaxScheduledOperands];
    int ns = 0;
    const BufferSlot* fixed[] = {&s->in_band[0], &s->in_band[1],  &s->in2_band[0], &s->in2_band[1],
                                 &s->weights[0], &s->weights[1],  &s->out_band[0], &s->out_band[1],
                                 &s->scratch,    &s->next_weights};
    for (const BufferSlot* b : fixed) slots[ns++] = b;
    for (uint32_t k = 0; k < n; ++k) slots[ns++] = &so.operand_slots[k];
    for (uint32_t t = 0; t < num_tensors_; ++t) {
      if (tensor_records_[t].region != sram || tensor_records_[t].bytes == 0) continue;
      if (first[t] > static_cast<int32_t>(o) || last[t] < static_cast<int32_t>(o)) continue;
      const uint32_t b0 = tensor_records_[t].offset, b1 = b0 + tensor_records_[t].bytes;
      for (int i = 0; i < ns; ++i) {
        if (slots[i]->bytes && slots[i]->offset < b1 && b0 < slots[i]->offset + slots[i]->bytes) {
          return failf(message, cap, Status::kInvalidPlan,
                       "op %" PRIu32 " (%s): a tile buffer overlaps live SRAM tensor %" PRIu32
                       " '%s'",
                       o, op.kernel->name, t, tensor_name(t));
        }
      }
    }
  }
  // A prefetch slot must be exactly where the next op reads its first weights.
  for (uint32_t o = 0; o < num_ops_; ++o) {
    const BufferSlot& nw = sched[o].schedule->next_weights;
    if (nw.bytes == 0) continue;
    if (o + 1 >= num_ops_ || sched[o + 1].schedule->weights[0].offset != nw.offset ||
        sched[o + 1].schedule->weights[0].bytes != nw.bytes) {
      return failf(
          message, cap, Status::kInvalidPlan,
          "op %" PRIu32 ": weight prefetch slot does not match the next op's weight buffer", o);
    }
  }
  sched_ = sched;
  stats_ = stats;
  return Status::kOk;
}

uint32_t Executor::sram_high_water() const {
  uint32_t hw = 0;
  if (!stats_) return 0;
  for (uint32_t o = 0; o < num_ops_; ++o) {
    if (stats_[o].sram_high_water > hw) hw = stats_[o].sram_high_water;
  }
  return hw;
}

Status Executor::invoke(DmaEngine* dma) {
  if (ops_ == nullptr) return Status::kBadArgument;
  if (sched_ != nullptr) {
    if (dma == nullptr) return Status::kBadArgument;
    for (uint32_t o = 0; o < num_ops_; ++o) {
      stats_[o] = OpStats{};
      sched_[o].prefetched = false;
    }
    for (uint32_t o = 0; o < num_ops_; ++o) {
      ScheduledOp* next = o + 1 < num_ops_ ? &sched_[o + 1] : nullptr;
      dma->note_op(o);
      const Status s = run_scheduled_op(sched_[o], next, *dma, &stats_[o]);
      if (s != Status::kOk) return s;
    }
    return Status::kOk;
  }
  for (uint32_t o = 0; o < num_ops_; ++o) {
    const PreparedOp& op = ops_[o];
    for (uint32_t k = 0; k < op.num_inputs; ++k) {
      in_ptrs_[k] = op.inputs[k] >= 0 ? data_[op.inputs[k]] : nullptr;
    }
    for (uint32_t k = 0; k < op.num_outputs; ++k) out_ptrs_[k] = data_[op.outputs[k]];
    EvalContext ctx{op.params, in_ptrs_, out_ptrs_, scratch_};
    const Status s = op.kernel->eval(ctx);
    if (s != Status::kOk) return s;
  }
  return Status::kOk;
}

}  // namespace tinyops
