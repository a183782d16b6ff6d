// TinyOps kernels as TFLM registrations (see tinyops_tflm.h). One source for
// the host (pinned wheel ABI) and firmware (a user's TFLM tree); only the
// header behind tinyops_tflm.h differs.
#include "tflm/tinyops_tflm.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "dma_partition/op_tiler.h"
#include "dma_partition/schedule_check.h"
#include "dma_partition/scheduler.h"
#include "kernels/x86/dispatch.h"
#include "runtime/op_registry.h"

namespace tinyops {
namespace tflm {

namespace {

// The ops served here: the registry's descriptors flagged kServedInTflm, in
// registry order (slot i of Binding::invocations is served op i).
struct ServedOps {
  const OpDescriptor* ops[kMaxServedOps];
  int count;
};

const ServedOps& served() {
  // Filled on first use; filling it twice gives the same table.
  static ServedOps table;
  static bool filled = false;
  if (!filled) {
    int32_t n = 0;
    const OpDescriptor* const* all = op_descriptors(&n);
    int count = 0;
    for (int32_t i = 0; i < n && count < kMaxServedOps; ++i) {
      if (all[i]->flags & kServedInTflm) table.ops[count++] = all[i];
    }
    table.count = count;
    filled = true;
  }
  return table;
}

const OpDescriptor& served_op(int slot) { return *served().ops[slot]; }

// Per-node state, in TFLM persistent memory.
struct OpData {
  int32_t slot;  // index in served()
  bool prepared;
  uint32_t mode;  // OperandMode
  OpView view;
  OpSchedule schedule;
  BufferSlot* slots;      // [operands] whole-operand staging
  uint32_t* region;       // [operands] StatRegion, kNoStatRegion if absent
  uint32_t* sram_offset;  // [operands] (never resident in the tile arena)
};

Binding* binding_of(TflmContext* context) {
  auto* b = static_cast<Binding*>(shim::external_context(context));
  return (b != nullptr && b->magic == kBindingMagic) ? b : nullptr;
}

TflmStatus failv(TflmContext* context, Binding* b, Status status, const char* fmt, va_list args) {
  char msg[sizeof(Binding::error)];
  std::vsnprintf(msg, sizeof(msg), fmt, args);
  if (b != nullptr) {
    b->error_status = static_cast<int32_t>(status);
    std::memcpy(b->error, msg, sizeof(msg));
  }
  shim::report(context, msg);
  return kTflmError;
}

TflmStatus fail(TflmContext* context, Binding* b, Status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
TflmStatus fail(TflmContext* context, Binding* b, Status status, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const TflmStatus s = failv(context, b, status, fmt, args);
  va_end(args);
  return s;
}

// Persistent memory with any alignment (TFLM guarantees 16).
void* persistent(TflmContext* context, size_t bytes, size_t align) {
  if (align < 16) align = 16;
  const size_t extra = align > 16 ? align - 16 : 0;
  auto* raw = static_cast<uint8_t*>(shim::persistent_alloc(context, bytes + extra));
  if (raw == nullptr) return nullptr;
  const uintptr_t p = reinterpret_cast<uintptr_t>(raw);
  return raw + ((align - p % align) % align);
}

void* allocator_fn(void* self, size_t bytes, size_t align) {
  return persistent(static_cast<TflmContext*>(self), bytes ? bytes : 1, align);
}

Status dtype_of(int tflm_type, DType* out) {
  switch (tflm_type) {
    case kTflmTypeFloat32: *out = DType::kFloat32; return Status::kOk;
    case kTflmTypeInt32: *out = DType::kInt32; return Status::kOk;
    case kTflmTypeUInt8: *out = DType::kUInt8; return Status::kOk;
    case kTflmTypeInt64: *out = DType::kInt64; return Status::kOk;
    case kTflmTypeBool: *out = DType::kBool; return Status::kOk;
    case kTflmTypeInt16: *out = DType::kInt16; return Status::kOk;
    case kTflmTypeInt8: *out = DType::kInt8; return Status::kOk;
    default: return Status::kUnsupported;
  }
}

// The engine's description of a TFLM tensor (quantization scales point into
// TFLM temporary memory: valid only until the tensor is released).
Status describe(const TflmTensor* t, TensorDesc* d, char* msg, size_t cap) {
  *d = TensorDesc{};
  const int type = static_cast<int>(t->type);
  if (dtype_of(type, &d->type) != Status::kOk) {
    std::snprintf(msg, cap, "tensor type %d is not supported", type);
    return Status::kUnsupported;
  }
  const int32_t rank = t->dims ? t->dims->size : 0;
  if (rank < 0 || rank > kMaxRank) {
    std::snprintf(msg, cap, "tensor rank %d is not supported (max %d)", static_cast<int>(rank),
                  kMaxRank);
    return Status::kUnsupported;
  }
  d->shape.rank = rank;
  uint64_t elements = 1;
  for (int i = 0; i < kMaxRank; ++i) {
    d->shape.dims[i] = i < rank ? t->dims->data[i] : 1;
    if (i < rank) {
      if (d->shape.dims[i] < 0) {
        std::snprintf(msg, cap, "tensor has a negative dimension");
        return Status::kInvalidModel;
      }
      elements *= static_cast<uint64_t>(d->shape.dims[i]);
    }
  }
  const uint64_t bytes = elements * dtype_size(d->type);
  if (bytes != static_cast<uint64_t>(t->bytes) || bytes > 0xFFFFFFFFull) {
    std::snprintf(msg, cap, "tensor holds %lu bytes, its shape needs %llu",
                  static_cast<unsigned long>(t->bytes), static_cast<unsigned long long>(bytes));
    return Status::kInvalidModel;
  }
  d->bytes = static_cast<uint32_t>(bytes);
  if (static_cast<int>(t->quantization.type) == kTflmAffineQuantization &&
      t->quantization.params != nullptr) {
    const auto* q = static_cast<const TflmAffineQuantization*>(t->quantization.params);
    if (q->scale != nullptr && q->scale->size > 0) {
      d->quant.scales = q->scale->data;
      d->quant.num_scales = q->scale->size;
      d->quant.scale = q->scale->data[0];
      d->quant.zero_point = t->params.zero_point;
      d->quant.quantized_dimension = q->quantized_dimension;
    }
  }
  d->const_data = static_cast<int>(t->allocation_type) == kTflmMmapRo ? t->data.data : nullptr;
  return Status::kOk;
}

Status padding_of(int32_t tflm_padding, int32_t* out) {
  if (tflm_padding == kTflmPaddingSame) {
    *out = kPaddingSame;
  } else if (tflm_padding == kTflmPaddingValid) {
    *out = kPaddingValid;
  } else {
    return Status::kInvalidModel;
  }
  return Status::kOk;
}

// OpOptions from the builtin data TFLM's parser produced for the op.
Status options_of(const OpDescriptor& op, const void* builtin, OpOptions* o, char* msg,
                  size_t cap) {
  *o = OpOptions{};
  o->dilation_w = o->dilation_h = 1;
  const TflmOptions kind = tflm_options(op.flags);
  if (kind != TflmOptions::kNone && builtin == nullptr) {
    std::snprintf(msg, cap, "the op has no options");
    return Status::kInvalidModel;
  }
  Status s = Status::kOk;
  switch (kind) {
    case TflmOptions::kConv: {
      const auto* p = static_cast<const TflmConvParams*>(builtin);
      s = padding_of(static_cast<int32_t>(p->padding), &o->padding);
      o->stride_w = p->stride_width;
      o->stride_h = p->stride_height;
      o->dilation_w = p->dilation_width_factor;
      o->dilation_h = p->dilation_height_factor;
      o->activation = static_cast<int32_t>(p->activation);
      break;
    }
    case TflmOptions::kDepthwiseConv: {
      const auto* p = static_cast<const TflmDepthwiseConvParams*>(builtin);
      s = padding_of(static_cast<int32_t>(p->padding), &o->padding);
      o->stride_w = p->stride_width;
      o->stride_h = p->stride_height;
      o->dilation_w = p->dilation_width_factor;
      o->dilation_h = p->dilation_height_factor;
      o->depth_multiplier = p->depth_multiplier;
      o->activation = static_cast<int32_t>(p->activation);
      break;
    }
    case TflmOptions::kPool: {
      const auto* p = static_cast<const TflmPoolParams*>(builtin);
      s = padding_of(static_cast<int32_t>(p->padding), &o->padding);
      o->stride_w = p->stride_width;
      o->stride_h = p->stride_height;
      o->filter_w = p->filter_width;
      o->filter_h = p->filter_height;
      o->activation = static_cast<int32_t>(p->activation);
      break;
    }
    case TflmOptions::kFullyConnected: {
      const auto* p = static_cast<const TflmFullyConnectedParams*>(builtin);
      if (static_cast<int32_t>(p->weights_format) != 0) {
        std::snprintf(msg, cap, "shuffled weights format %d is not supported",
                      static_cast<int>(p->weights_format));
        return Status::kUnsupported;
      }
      o->activation = static_cast<int32_t>(p->activation);
      o->keep_dims = p->keep_num_dims ? 1 : 0;
      break;
    }
    case TflmOptions::kAdd:
      o->activation = static_cast<int32_t>(static_cast<const TflmAddParams*>(builtin)->activation);
      break;
    case TflmOptions::kMul:
      o->activation = static_cast<int32_t>(static_cast<const TflmMulParams*>(builtin)->activation);
      break;
    case TflmOptions::kReducer:
      o->keep_dims = static_cast<const TflmReducerParams*>(builtin)->keep_dims ? 1 : 0;
      break;
    case TflmOptions::kNone: break;
  }
  if (s != Status::kOk) {
    std::snprintf(msg, cap, "unknown padding");
    return s;
  }
  if (o->activation < kActNone || o->activation > kActRelu6) {
    std::snprintf(msg, cap, "fused activation %d is not supported",
                  static_cast<int>(o->activation));
    return Status::kUnsupported;
  }
  return Status::kOk;
}

int tensor_index(const TflmNode* node, int k, int num_inputs) {
  return k < num_inputs ? node->inputs->data[k] : node->outputs->data[k - num_inputs];
}

template <int kSlot>
void* op_init(TflmContext* context, const char*, size_t) {
  if (!shim::init_hook(context)) return nullptr;
  auto* d = static_cast<OpData*>(persistent(context, sizeof(OpData), 16));
  if (d == nullptr) {
    fail(context, binding_of(context), Status::kOutOfMemory,
         "%s: no TFLM persistent memory for the op's state", served_op(kSlot).name);
    return nullptr;
  }
  std::memset(static_cast<void*>(d), 0, sizeof(OpData));
  d->slot = kSlot;
  return d;
}

TflmStatus op_prepare(TflmContext* context, TflmNode* node) {
  auto* d = static_cast<OpData*>(node->user_data);
  if (d == nullptr) return kTflmError;  // init failed and said why
  const OpDescriptor& op = served_op(d->slot);
  Binding* b = binding_of(context);
  if (const char* e = x86::isa_error()) {  // always nullptr in firmware
    return fail(context, b, Status::kBadArgument, "%s: %s", op.name, e);
  }
  if (b == nullptr) {
    return fail(context, nullptr, Status::kBadArgument,
                "%s: TinyOps kernels need a tinyops::tflm::Binding (tile arena + DMA engine) "
                "set as the interpreter's external context before AllocateTensors()",
                op.name);
  }
  if (b->dma == nullptr || b->sram == nullptr) {
    return fail(context, b, Status::kBadArgument, "%s: the binding has no %s", op.name,
                b->dma == nullptr ? "DMA engine" : "tile arena");
  }
  const int nin = node->inputs ? node->inputs->size : 0;
  const int nout = node->outputs ? node->outputs->size : 0;
  const int n = nin + nout;
  const int out_id = nout > 0 ? node->outputs->data[0] : -1;
  if (nout < 1 || n > kMaxScheduledOperands) {
    return fail(context, b, Status::kUnsupported, "%s (output tensor %d): %d inputs and %d outputs",
                op.name, out_id, nin, nout);
  }

  auto* descs = static_cast<TensorDesc*>(persistent(context, sizeof(TensorDesc) * n, 16));
  auto* ptrs = static_cast<const TensorDesc**>(persistent(context, sizeof(void*) * n, 16));
  d->slots = static_cast<BufferSlot*>(persistent(context, sizeof(BufferSlot) * n, 16));
  d->region = static_cast<uint32_t*>(persistent(context, sizeof(uint32_t) * n, 16));
  d->sram_offset = static_cast<uint32_t*>(persistent(context, sizeof(uint32_t) * n, 16));
  if (!descs || !ptrs || !d->slots || !d->region || !d->sram_offset) {
    return fail(context, b, Status::kOutOfMemory,
                "%s (output tensor %d): no TFLM persistent memory", op.name, out_id);
  }

  // Describe the operands from TFLM's (temporary) tensors.
  TflmTensor* temps[kMaxScheduledOperands] = {};
  char msg[200] = {0};
  Status s = Status::kOk;
  int failed_at = -1;
  for (int k = 0; k < n && s == Status::kOk; ++k) {
    const int id = tensor_index(node, k, nin);
    ptrs[k] = nullptr;
    d->region[k] = kNoStatRegion;
    d->sram_offset[k] = 0;
    if (id < 0) {
      if (k >= nin) {
        s = Status::kInvalidModel;
        std::snprintf(msg, sizeof(msg), "output %d is missing", k - nin);
      }
      continue;
    }
    temps[k] = shim::temp_tensor(context, id);
    if (temps[k] == nullptr) {
      s = Status::kInternal;
      std::snprintf(msg, sizeof(msg), "TFLM has no tensor %d", id);
      break;
    }
    s = describe(temps[k], &descs[k], msg, sizeof(msg));
    if (s != Status::kOk) {
      failed_at = k;
      break;
    }
    ptrs[k] = &descs[k];
    d->region[k] = descs[k].is_constant() ? kStatConstants : kStatArena;
  }
  OpOptions options;
  if (s == Status::kOk) s = options_of(op, node->builtin_data, &options, msg, sizeof(msg));

  PrepareContext pc;
  Allocator allocator{allocator_fn, context};
  if (s == Status::kOk) {
    pc.opcode = op.opcode;
    pc.op_index = out_id;
    pc.options = &options;
    pc.num_inputs = nin;
    pc.inputs = ptrs;
    pc.num_outputs = nout;
    pc.outputs = ptrs + nin;
    pc.allocator = &allocator;
    pc.message = msg;
    pc.message_cap = sizeof(msg);
    s = op.prepare(pc);
  }
  for (int k = 0; k < n; ++k) {
    if (temps[k] != nullptr) shim::release_temp(context, temps[k]);
  }
  if (s != Status::kOk) {
    if (failed_at >= 0) {
      return fail(context, b, s, "%s (output tensor %d), %s %d: %s", op.name, out_id,
                  failed_at < nin ? "input" : "output",
                  failed_at < nin ? failed_at : failed_at - nin, msg);
    }
    return fail(context, b, s, "%s (output tensor %d): %s", op.name, out_id,
                msg[0] ? msg : status_name(s));
  }
  // The scales lived in TFLM's temporary memory; nothing after prepare reads them.
  for (int k = 0; k < n; ++k) descs[k].quant.scales = nullptr;

  OpView& v = d->view;
  v = OpView{};
  v.desc = &op;
  v.params = pc.params;
  v.num_inputs = nin;
  v.inputs = ptrs;
  v.num_outputs = nout;
  v.outputs = ptrs + nin;
  v.scratch_bytes = pc.scratch_bytes;

  // Stream everything through the tile arena if any tiling fits; else read
  // the constants in place; else run the kernel on the tensors where they are.
  TileChoice choice{};
  uint64_t min_any = UINT64_MAX;
  bool found = false;
  for (uint32_t mode = kModeStreamed; mode < kNumModes && !found; ++mode) {
    for (int k = 0; k < n; ++k) {
      v.direct[k] = mode == kModeAllDirect ||
                    (mode == kModeConstantsDirect && ptrs[k] != nullptr && ptrs[k]->is_constant());
    }
    uint64_t min_needed = 0;
    found = choose_tiling(v, b->sram_bytes, kTileAlign, &choice, &min_needed) == Status::kOk;
    if (min_needed < min_any) min_any = min_needed;
    if (found) d->mode = mode;
  }
  if (!found) {
    return fail(context, b, Status::kOutOfMemory,
                "%s (output tensor %d) needs at least %llu bytes of SRAM tile arena, even at its "
                "finest tiling with operands read in place; the arena has %u bytes",
                op.name, out_id, static_cast<unsigned long long>(min_any),
                static_cast<unsigned>(b->sram_bytes));
  }
  layout_tiling(v, choice, 0, kTileAlign, &d->schedule, d->slots);
  uint32_t resident[kMaxScheduledOperands];
  for (int k = 0; k < n; ++k) resident[k] = kNotResident;
  char why[160] = {0};
  s = check_schedule(v, d->schedule, d->slots, resident, b->sram_bytes, why, sizeof(why));
  if (s != Status::kOk) {
    return fail(context, b, Status::kInternal, "%s (output tensor %d): tile layout rejected: %s",
                op.name, out_id, why);
  }
  b->prepared[d->mode] += 1;
  if (choice.footprint > b->sram_planned) b->sram_planned = static_cast<uint32_t>(choice.footprint);
  d->prepared = true;
  return kTflmOk;
}

TflmStatus op_invoke(TflmContext* context, TflmNode* node) {
  auto* d = static_cast<OpData*>(node->user_data);
  if (d == nullptr || !d->prepared) return kTflmError;
  Binding* b = binding_of(context);
  if (b == nullptr) return kTflmError;
  const int nin = d->view.num_inputs;
  const int n = nin + d->view.num_outputs;
  void* data[kMaxScheduledOperands];
  for (int k = 0; k < n; ++k) {
    const int id = tensor_index(node, k, nin);
    TflmEvalTensor* t = id >= 0 ? shim::eval_tensor(context, id) : nullptr;
    data[k] = t != nullptr ? t->data.data : nullptr;
  }
  ScheduledOp so{};
  so.view = d->view;
  so.eval = served_op(d->slot).eval;
  so.schedule = &d->schedule;
  so.operand_slots = d->slots;
  so.data = data;
  so.region = d->region;
  so.sram_offset = d->sram_offset;
  so.sram_region = kStatSram;
  so.sram = b->sram;
  so.prefetched = false;
  OpStats st{};
  const Status s = run_scheduled_op(so, nullptr, *b->dma, &st);
  b->invocations[d->slot] += 1;
  b->tiles += st.tiles;
  b->transfers += st.transfers;
  for (uint32_t r = 0; r < kNumStatRegions; ++r) {
    b->dma_read[r] += st.read_bytes[r];
    b->dma_write[r] += st.write_bytes[r];
  }
  if (st.sram_high_water > b->sram_high_water) b->sram_high_water = st.sram_high_water;
  if (s != Status::kOk) {
    return fail(context, b, s, "%s (output tensor %d): %s", served_op(d->slot).name,
                d->view.num_outputs ? tensor_index(node, nin, nin) : -1, status_name(s));
  }
  return kTflmOk;
}

template <int kSlot>
TflmRegistration registration() {
  TflmRegistration r;
  std::memset(static_cast<void*>(&r), 0, sizeof(r));
  r.init = op_init<kSlot>;
  r.free = nullptr;
  r.prepare = op_prepare;
  r.invoke = op_invoke;
  r.reset = nullptr;
  r.builtin_code = served_op(kSlot).opcode;
  r.custom_name = nullptr;
  return r;
}

using RegistrationFn = TflmRegistration (*)();
const RegistrationFn kRegistrations[] = {
    registration<0>,  registration<1>,  registration<2>,  registration<3>,
    registration<4>,  registration<5>,  registration<6>,  registration<7>,
    registration<8>,  registration<9>,  registration<10>, registration<11>,
    registration<12>, registration<13>, registration<14>, registration<15>,
};
static_assert(sizeof(kRegistrations) / sizeof(kRegistrations[0]) == kMaxServedOps,
              "one registration per served-op slot");

TflmRegistration empty_registration() {
  TflmRegistration r;
  std::memset(static_cast<void*>(&r), 0, sizeof(r));
  return r;
}

TflmRegistration registration_of(int32_t code) {
  for (int i = 0; i < served().count; ++i) {
    if (served_op(i).opcode == code) return kRegistrations[i]();
  }
  return empty_registration();
}

}  // namespace

void init_binding(Binding* b, void* sram, uint32_t bytes, DmaEngine* dma) {
  std::memset(static_cast<void*>(b), 0, sizeof(*b));
  b->magic = kBindingMagic;
  const uintptr_t p = reinterpret_cast<uintptr_t>(sram);
  const uint32_t skip = static_cast<uint32_t>((kTileAlign - p % kTileAlign) % kTileAlign);
  b->sram = static_cast<uint8_t*>(sram) + (sram ? skip : 0);
  b->sram_bytes = sram && bytes > skip ? bytes - skip : 0;
  b->dma = dma;
}

void reset_counters(Binding* b) {
  std::memset(b->invocations, 0, sizeof(b->invocations));
  b->tiles = b->transfers = 0;
  std::memset(b->dma_read, 0, sizeof(b->dma_read));
  std::memset(b->dma_write, 0, sizeof(b->dma_write));
  b->sram_high_water = 0;
}

int num_served_ops() { return served().count; }
int32_t served_op_code(int i) { return i >= 0 && i < served().count ? served_op(i).opcode : -1; }
const char* served_op_name(int i) {
  return i >= 0 && i < served().count ? served_op(i).name : nullptr;
}
TflmRegistration served_registration(int i) {
  if (i >= 0 && i < served().count) return kRegistrations[i]();
  return empty_registration();
}

TflmRegistration Register_CONV_2D() { return registration_of(kBuiltinConv2D); }
TflmRegistration Register_DEPTHWISE_CONV_2D() { return registration_of(kBuiltinDepthwiseConv2D); }
TflmRegistration Register_FULLY_CONNECTED() { return registration_of(kBuiltinFullyConnected); }
TflmRegistration Register_ADD() { return registration_of(kBuiltinAdd); }
TflmRegistration Register_MUL() { return registration_of(kBuiltinMul); }
TflmRegistration Register_AVERAGE_POOL_2D() { return registration_of(kBuiltinAveragePool2D); }
TflmRegistration Register_MEAN() { return registration_of(kBuiltinMean); }
TflmRegistration Register_HARD_SWISH() { return registration_of(kBuiltinHardSwish); }
TflmRegistration Register_PAD() { return registration_of(kBuiltinPad); }

}  // namespace tflm
}  // namespace tinyops
