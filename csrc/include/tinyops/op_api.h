// The contract between the runtime and each op's kernel family.
//
// prepare(): runs once when a plan is loaded. It checks the op's tensors the
// way TFLM's Prepare does, computes every derived parameter (requantization
// multipliers, LUTs, ...) into memory from ctx.alloc(), sets ctx.params and
// ctx.scratch_bytes. It may use doubles and snprintf; it never runs per
// inference.
// eval(): runs the op on whole tensors. No allocation, no failure on data.
// Spatial kernels additionally expose tile entry points (see each header) so
// the partitioned scheduler can compute any row band x channel range.
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "tinyops/status.h"
#include "tinyops/types.h"

namespace tinyops {

struct Allocator {
  void* (*alloc_fn)(void* self, size_t bytes, size_t align);
  void* self;
  void* alloc(size_t bytes, size_t align = 16) { return alloc_fn(self, bytes, align); }
};

struct PrepareContext {
  int32_t opcode;
  int32_t op_index;
  const OpOptions* options;
  int32_t num_inputs;
  const TensorDesc* const* inputs;  // entries are nullptr for omitted optionals
  int32_t num_outputs;
  const TensorDesc* const* outputs;
  Allocator* allocator;
  char* message;  // error text, message_cap bytes
  size_t message_cap;

  // Results.
  const void* params = nullptr;
  uint32_t scratch_bytes = 0;

  void* alloc(size_t bytes, size_t align = 16) { return allocator->alloc(bytes, align); }
  template <typename T>
  T* alloc_array(size_t n) {
    return static_cast<T*>(alloc(sizeof(T) * (n ? n : 1), alignof(T) < 16 ? 16 : alignof(T)));
  }
  // Records a printf-style message and returns `s`, for `return ctx.fail(...)`.
  Status fail(Status s, const char* fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
  const TensorDesc* input(int i) const { return i < num_inputs ? inputs[i] : nullptr; }
  const TensorDesc* output(int i) const { return i < num_outputs ? outputs[i] : nullptr; }
};

struct EvalContext {
  const void* params;
  const void* const* inputs;  // data pointers, in op input order (nullptr if omitted)
  void* const* outputs;
  void* scratch;  // scratch_bytes from prepare, 16-byte aligned
};

using PrepareFn = Status (*)(PrepareContext& ctx);
using EvalFn = Status (*)(const EvalContext& ctx);

// Common prepare checks; each returns kOk or records a message via ctx.fail.
Status expect_io_counts(PrepareContext& ctx, int min_inputs, int max_inputs, int outputs);
Status expect_type(PrepareContext& ctx, const TensorDesc* t, DType type, const char* what);
// expect_type int8, with quantization parameters and a positive finite scale
// ("<op>: <what> has no quantization parameters" / "... scale ... must be").
Status expect_int8_quantized(PrepareContext& ctx, const char* op, const TensorDesc* t,
                             const char* what);
Status expect_same_shape(PrepareContext& ctx, const TensorDesc* a, const TensorDesc* b,
                         const char* what);

}  // namespace tinyops
