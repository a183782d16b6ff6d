// Host side of the TFLM adapter: the registerer the pinned tflite-micro
// wheel's Python interpreter calls (custom_op_registerers, resolved with
// dlsym), the ABI guard, the shim functions of tflm_abi.h, and a small C API
// the Python front end (tinyops_tflm/tflm.py) drives through ctypes.
//
// How TinyOps kernels get into the wheel's interpreter: the wrapper hands the
// registerer its PythonOpsResolver (a MicroMutableOpResolver<200> already
// holding every builtin, so AddBuiltin would refuse). The registerer looks
// each served builtin up with the resolver's own FindOp (its virtual function,
// identified by exact symbol), checks the entry is exactly what that build
// stores (builtin code, no custom name, inside the resolver's registration
// array, kernel functions inside the wheel's library) and only then replaces
// the entry's init/free/prepare/invoke/reset with the adapter's. Any mismatch
// leaves the resolver untouched and fails registration with a message.
//
// How the tile arena and DMA engine get to the kernels: the front end creates
// a Binding and announces it (tinyops_tflm_host_begin) for the interpreter it
// is about to construct; the first TinyOps kernel init sets it as the
// interpreter's external context (MicroInterpreterContext::
// set_external_context, the call behind MicroInterpreter::
// SetMicroExternalContext that firmware makes itself). From then on the
// adapter reads it from the external context only.
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "host/host_dma.h"
#include "tflm/tinyops_tflm.h"
#include "tinyops/status.h"

#define TINYOPS_EXPORT extern "C" __attribute__((visibility("default")))

namespace tinyops {
namespace tflm {

namespace {

// Exact symbols of the pinned build.
constexpr const char* kResolverTypeinfo = "_ZTIN6tflite17PythonOpsResolverE";
constexpr const char* kFindOpBuiltin =
    "_ZNK6tflite5micro22MicroMutableOpResolverILj200EE6FindOpENS_15BuiltinOperatorE";
constexpr int kResolverOpCount = 200;
constexpr size_t kResolverRegistrationsAt = 8;  // after the vtable pointer
constexpr const char* kContextTypeinfo = "_ZTIN6tflite5micro23MicroInterpreterContextE";
// In that build's MicroInterpreter the TfLiteContext is the member at 0x10 and
// the MicroInterpreterContext the one at 0x88 (MicroInterpreter::Init), so
// context->impl_ == (char*)context + 0x78: checked before impl_ is followed.
constexpr ptrdiff_t kImplFromContext = 0x78;

// MicroInterpreterContext's virtual functions the shim calls: vtable slot and
// the exact symbol that slot must hold.
struct Slot {
  int index;
  const char* symbol;
};
constexpr Slot kAllocatePersistent = {
    2, "_ZN6tflite5micro23MicroInterpreterContext24AllocatePersistentBufferEm"};
constexpr Slot kAllocateTempTensor = {
    5, "_ZN6tflite5micro23MicroInterpreterContext24AllocateTempTfLiteTensorEi"};
constexpr Slot kDeallocateTempTensor = {
    6,
    "_ZN6tflite5micro23MicroInterpreterContext26DeallocateTempTfLiteTensorEPNS0_12TfLiteTensorE"};
constexpr Slot kGetEvalTensor = {9, "_ZN6tflite5micro23MicroInterpreterContext13GetEvalTensorEi"};
constexpr Slot kSetExternalContext = {
    10, "_ZN6tflite5micro23MicroInterpreterContext20set_external_contextEPv"};
constexpr Slot kExternalContext = {11,
                                   "_ZN6tflite5micro23MicroInterpreterContext16external_contextEv"};

struct ContextCalls {
  void* (*allocate_persistent)(void* self, size_t bytes);
  abi::TfLiteTensor* (*allocate_temp_tensor)(void* self, int index);
  void (*deallocate_temp_tensor)(void* self, abi::TfLiteTensor* tensor);
  abi::TfLiteEvalTensor* (*get_eval_tensor)(void* self, int index);
  abi::TfLiteStatus (*set_external_context)(void* self, void* payload);
  void* (*external_context)(void* self);
};

std::mutex g_mu;
void* const* g_verified_vtable = nullptr;  // guarded by g_mu
ContextCalls g_calls;

thread_local Binding* t_pending = nullptr;
thread_local char t_error[512];
thread_local int32_t t_error_status = 0;

// Status the front end reads as "this is not the pinned tflite-micro build".
constexpr int32_t kAbiMismatch = 100;

void set_error_code(int32_t status, const char* fmt, va_list args) {
  std::vsnprintf(t_error, sizeof(t_error), fmt, args);
  t_error_status = status;
}
void set_error(Status status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void set_error(Status status, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_error_code(static_cast<int32_t>(status), fmt, args);
  va_end(args);
}
void abi_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void abi_error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_error_code(kAbiMismatch, fmt, args);
  va_end(args);
}

// True when `p` is exactly the start of the dynamic symbol `name`.
bool is_symbol(const void* p, const char* name, Dl_info* info_out = nullptr) {
  Dl_info info;
  std::memset(&info, 0, sizeof(info));
  if (p == nullptr || dladdr(p, &info) == 0 || info.dli_sname == nullptr || info.dli_saddr != p) {
    return false;
  }
  if (info_out) *info_out = info;
  return std::strcmp(info.dli_sname, name) == 0;
}

const char* symbol_at(const void* p) {
  Dl_info info;
  std::memset(&info, 0, sizeof(info));
  if (p == nullptr || dladdr(p, &info) == 0 || info.dli_sname == nullptr) return "(no symbol)";
  return info.dli_sname;
}

// Verifies (once per vtable) that context->impl_ is a MicroInterpreterContext
// of the pinned build; returns its call table, or nullptr with t_error set.
const ContextCalls* calls_for(TflmContext* context) {
  if (context == nullptr || context->impl_ == nullptr) {
    set_error(Status::kInternal, "TFLM context without a MicroContext");
    return nullptr;
  }
  if (static_cast<char*>(context->impl_) != reinterpret_cast<char*>(context) + kImplFromContext) {
    abi_error(
        "tflite-micro ABI mismatch: the interpreter context is not laid out as in "
        "tflite-micro==%s (the only build the adapter declares)",
        kPinnedTflmVersion);
    return nullptr;
  }
  void* const* vtable = *static_cast<void* const* const*>(context->impl_);
  std::lock_guard<std::mutex> lock(g_mu);
  if (vtable == g_verified_vtable) return &g_calls;
  if (!is_symbol(vtable[-1], kContextTypeinfo)) {
    abi_error(
        "tflite-micro ABI mismatch: the interpreter context is %s, expected %s (the adapter "
        "declares the ABI of tflite-micro==%s only)",
        symbol_at(vtable[-1]), kContextTypeinfo, kPinnedTflmVersion);
    return nullptr;
  }
  const Slot slots[] = {kAllocatePersistent, kAllocateTempTensor, kDeallocateTempTensor,
                        kGetEvalTensor,      kSetExternalContext, kExternalContext};
  for (const Slot& s : slots) {
    if (!is_symbol(vtable[s.index], s.symbol)) {
      abi_error(
          "tflite-micro ABI mismatch: MicroContext vtable slot %d holds %s, expected %s "
          "(the adapter declares the ABI of tflite-micro==%s only)",
          s.index, symbol_at(vtable[s.index]), s.symbol, kPinnedTflmVersion);
      return nullptr;
    }
  }
  ContextCalls c;
  c.allocate_persistent =
      reinterpret_cast<decltype(c.allocate_persistent)>(vtable[kAllocatePersistent.index]);
  c.allocate_temp_tensor =
      reinterpret_cast<decltype(c.allocate_temp_tensor)>(vtable[kAllocateTempTensor.index]);
  c.deallocate_temp_tensor =
      reinterpret_cast<decltype(c.deallocate_temp_tensor)>(vtable[kDeallocateTempTensor.index]);
  c.get_eval_tensor = reinterpret_cast<decltype(c.get_eval_tensor)>(vtable[kGetEvalTensor.index]);
  c.set_external_context =
      reinterpret_cast<decltype(c.set_external_context)>(vtable[kSetExternalContext.index]);
  c.external_context =
      reinterpret_cast<decltype(c.external_context)>(vtable[kExternalContext.index]);
  g_calls = c;
  g_verified_vtable = vtable;
  return &g_calls;
}

// A verified context's calls (prepare and invoke only run after init verified it).
const ContextCalls& calls(TflmContext* context) {
  const ContextCalls* c = calls_for(context);
  return *c;
}

using FindOpFn = const abi::TFLMRegistration* (*)(const void* self, int32_t op);

struct HostBinding {
  Binding binding;
  std::unique_ptr<uint8_t[]> sram;
  SyncDma sync;
  std::unique_ptr<AsyncDma> async;
};

}  // namespace

namespace shim {

bool init_hook(TflmContext* context) {
  const ContextCalls* c = calls_for(context);
  if (c == nullptr) return false;
  void* current = c->external_context(context->impl_);
  if (current != nullptr) return true;  // already attached (the adapter checks it is a Binding)
  if (t_pending == nullptr) {
    set_error(
        Status::kBadArgument,
        "no TinyOps binding for this interpreter: build it with tinyops_tflm.tflm.Interpreter");
    return false;
  }
  if (c->set_external_context(context->impl_, t_pending) != abi::kTfLiteOk) {
    set_error(Status::kInternal, "TFLM refused the TinyOps binding as its external context");
    return false;
  }
  return true;
}

void* persistent_alloc(TflmContext* context, size_t bytes) {
  return calls(context).allocate_persistent(context->impl_, bytes);
}
TflmTensor* temp_tensor(TflmContext* context, int index) {
  return calls(context).allocate_temp_tensor(context->impl_, index);
}
void release_temp(TflmContext* context, TflmTensor* tensor) {
  calls(context).deallocate_temp_tensor(context->impl_, tensor);
}
TflmEvalTensor* eval_tensor(TflmContext* context, int index) {
  return calls(context).get_eval_tensor(context->impl_, index);
}
void* external_context(TflmContext* context) {
  const ContextCalls* c = calls_for(context);
  return c ? c->external_context(context->impl_) : nullptr;
}
void report(TflmContext*, const char* message) {
  std::snprintf(t_error, sizeof(t_error), "%s", message);
}

}  // namespace shim

}  // namespace tflm
}  // namespace tinyops

using namespace tinyops;
using namespace tinyops::tflm;

// The registerer named in custom_op_registerers: bool(tflite::PythonOpsResolver*).
TINYOPS_EXPORT bool tinyops_tflm_register(void* resolver) {
  if (t_pending == nullptr) {
    set_error(Status::kBadArgument,
              "tinyops_tflm_register: no TinyOps binding pending; build the interpreter with "
              "tinyops_tflm.tflm.Interpreter");
    return false;
  }
  if (resolver == nullptr) {
    set_error(Status::kInternal, "tinyops_tflm_register: no resolver");
    return false;
  }
  void* const* vtable = *static_cast<void* const* const*>(resolver);
  Dl_info find_info;
  if (!is_symbol(vtable[-1], kResolverTypeinfo) ||
      !is_symbol(vtable[0], kFindOpBuiltin, &find_info)) {
    abi_error(
        "tflite-micro ABI mismatch: the op resolver is %s with FindOp %s, expected %s with %s "
        "(the adapter declares the ABI of tflite-micro==%s only)",
        symbol_at(vtable[-1]), symbol_at(vtable[0]), kResolverTypeinfo, kFindOpBuiltin,
        kPinnedTflmVersion);
    return false;
  }
  const auto find = reinterpret_cast<FindOpFn>(vtable[0]);
  const int n = num_served_ops();
  abi::TFLMRegistration* entries[kMaxServedOps] = {};
  const auto* base = static_cast<const uint8_t*>(resolver) + kResolverRegistrationsAt;
  for (int i = 0; i < n; ++i) {
    const int32_t code = served_op_code(i);
    const abi::TFLMRegistration* r = find(resolver, code);
    if (r == nullptr) {
      abi_error("the tflite-micro resolver has no registration for %s", served_op_name(i));
      return false;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(r);
    const size_t stride = sizeof(abi::TFLMRegistration);
    const bool in_array = p >= base && p < base + kResolverOpCount * stride &&
                          static_cast<size_t>(p - base) % stride == 0;
    const abi::TFLMRegistration ours = served_registration(i);
    const bool already_ours = r->prepare == ours.prepare && r->invoke == ours.invoke;
    Dl_info inv, prep;
    const bool kernels_in_wheel =
        already_ours ||
        (r->prepare != nullptr && r->invoke != nullptr &&
         dladdr(reinterpret_cast<void*>(r->invoke), &inv) != 0 &&
         dladdr(reinterpret_cast<void*>(r->prepare), &prep) != 0 &&
         inv.dli_fbase == find_info.dli_fbase && prep.dli_fbase == find_info.dli_fbase);
    if (!in_array || r->builtin_code != code || r->custom_name != nullptr || !kernels_in_wheel) {
      abi_error(
          "tflite-micro ABI mismatch: the resolver's registration of %s does not look like "
          "tflite-micro==%s's (code %d, %s the registration array, kernels %s the wheel)",
          served_op_name(i), kPinnedTflmVersion, static_cast<int>(r->builtin_code),
          in_array ? "inside" : "outside", kernels_in_wheel ? "inside" : "outside");
      return false;
    }
    entries[i] = const_cast<abi::TFLMRegistration*>(r);
  }
  // Every entry checked: replace the kernels, keep code and name.
  for (int i = 0; i < n; ++i) {
    const abi::TFLMRegistration ours = served_registration(i);
    entries[i]->init = ours.init;
    entries[i]->free = ours.free;
    entries[i]->prepare = ours.prepare;
    entries[i]->invoke = ours.invoke;
    entries[i]->reset = ours.reset;
  }
  return true;
}

TINYOPS_EXPORT const char* tinyops_tflm_pinned_version() { return kPinnedTflmVersion; }

TINYOPS_EXPORT const char* tinyops_tflm_last_error() { return t_error; }
TINYOPS_EXPORT int32_t tinyops_tflm_last_error_status() { return t_error_status; }
TINYOPS_EXPORT void tinyops_tflm_clear_error() {
  t_error[0] = 0;
  t_error_status = 0;
}

// dma: 0 synchronous memcpy, 1 asynchronous worker thread (`delay_us` late).
TINYOPS_EXPORT void* tinyops_tflm_binding_create(uint32_t sram_bytes, int32_t dma,
                                                 uint32_t delay_us) {
  auto* h = new (std::nothrow) HostBinding();
  if (h == nullptr) return nullptr;
  const uint32_t storage = sram_bytes + kTileAlign;
  h->sram.reset(new (std::nothrow) uint8_t[storage]);
  if (!h->sram) {
    delete h;
    return nullptr;
  }
  std::memset(h->sram.get(), 0, storage);
  DmaEngine* engine = &h->sync;
  if (dma == 1) {
    h->async.reset(new AsyncDma(delay_us));
    engine = h->async.get();
  }
  // Exactly sram_bytes after aligning the start.
  const uintptr_t p = reinterpret_cast<uintptr_t>(h->sram.get());
  const uint32_t skip = static_cast<uint32_t>((kTileAlign - p % kTileAlign) % kTileAlign);
  init_binding(&h->binding, h->sram.get() + skip, sram_bytes, engine);
  return h;
}

TINYOPS_EXPORT void tinyops_tflm_binding_destroy(void* handle) {
  delete static_cast<HostBinding*>(handle);
}

// Announces the binding of the interpreter this thread constructs next.
// Starts from clean counters and no error (a retried construction must not
// count the failed attempt's prepares).
TINYOPS_EXPORT void tinyops_tflm_host_begin(void* handle) {
  t_pending = handle ? &static_cast<HostBinding*>(handle)->binding : nullptr;
  t_error[0] = 0;
  t_error_status = 0;
  if (t_pending) {
    reset_counters(t_pending);
    std::memset(t_pending->prepared, 0, sizeof(t_pending->prepared));
    t_pending->sram_planned = 0;
    t_pending->error[0] = 0;
    t_pending->error_status = 0;
  }
}
TINYOPS_EXPORT void tinyops_tflm_host_end() { t_pending = nullptr; }

TINYOPS_EXPORT const char* tinyops_tflm_binding_error(void* handle) {
  return static_cast<HostBinding*>(handle)->binding.error;
}
TINYOPS_EXPORT int32_t tinyops_tflm_binding_error_status(void* handle) {
  return static_cast<HostBinding*>(handle)->binding.error_status;
}
TINYOPS_EXPORT void tinyops_tflm_binding_reset(void* handle) {
  reset_counters(&static_cast<HostBinding*>(handle)->binding);
}

TINYOPS_EXPORT int32_t tinyops_tflm_num_ops() { return num_served_ops(); }
TINYOPS_EXPORT int32_t tinyops_tflm_op_code(int32_t i) { return served_op_code(i); }
TINYOPS_EXPORT const char* tinyops_tflm_op_name(int32_t i) { return served_op_name(i); }

TINYOPS_EXPORT uint64_t tinyops_tflm_invocations(void* handle, int32_t i) {
  if (i < 0 || i >= num_served_ops()) return 0;
  return static_cast<HostBinding*>(handle)->binding.invocations[i];
}

// Counters, in this order: tiles, transfers, dma_read[sram, arena, constants],
// dma_write[sram, arena, constants], sram_high_water, sram_planned,
// prepared[streamed, constants_direct, all_direct], sram_bytes.
TINYOPS_EXPORT int32_t tinyops_tflm_stats(void* handle, uint64_t* out, int32_t cap) {
  const Binding& b = static_cast<HostBinding*>(handle)->binding;
  const uint64_t values[] = {b.tiles,           b.transfers,    b.dma_read[0],  b.dma_read[1],
                             b.dma_read[2],     b.dma_write[0], b.dma_write[1], b.dma_write[2],
                             b.sram_high_water, b.sram_planned, b.prepared[0],  b.prepared[1],
                             b.prepared[2],     b.sram_bytes};
  const int32_t n = static_cast<int32_t>(sizeof(values) / sizeof(values[0]));
  for (int32_t i = 0; i < n && i < cap; ++i) out[i] = values[i];
  return n;
}
