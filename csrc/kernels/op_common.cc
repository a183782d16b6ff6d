// Shared implementation of the op API helpers declared in tinyops/op_api.h.
#include <cstdio>

#include "tinyops/op_api.h"

namespace tinyops {

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kInvalidPlan: return "invalid plan";
    case Status::kInvalidModel: return "invalid model";
    case Status::kUnsupported: return "unsupported";
    case Status::kOutOfMemory: return "out of memory";
    case Status::kBadArgument: return "bad argument";
    case Status::kInternal: return "internal error";
  }
  return "unknown status";
}

bool dtype_valid(uint8_t raw) {
  switch (static_cast<DType>(raw)) {
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUInt8:
    case DType::kInt64:
    case DType::kBool:
    case DType::kInt16:
    case DType::kInt8: return true;
  }
  return false;
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kInt32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
    case DType::kInt16: return 2;
    case DType::kInt8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
    case DType::kInt16: return "int16";
    case DType::kInt8: return "int8";
  }
  return "unknown";
}

Status PrepareContext::fail(Status s, const char* fmt, ...) {
  if (message && message_cap) {
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(message, message_cap, fmt, args);
    va_end(args);
  }
  return s;
}

Status expect_io_counts(PrepareContext& ctx, int min_inputs, int max_inputs, int outputs) {
  if (ctx.num_inputs < min_inputs || ctx.num_inputs > max_inputs) {
    return ctx.fail(Status::kInvalidModel, "expects %d..%d inputs, has %d", min_inputs, max_inputs,
                    static_cast<int>(ctx.num_inputs));
  }
  if (ctx.num_outputs != outputs) {
    return ctx.fail(Status::kInvalidModel, "expects %d outputs, has %d", outputs,
                    static_cast<int>(ctx.num_outputs));
  }
  for (int i = 0; i < min_inputs; ++i) {
    if (ctx.inputs[i] == nullptr) {
      return ctx.fail(Status::kInvalidModel, "required input %d is missing", i);
    }
  }
  return Status::kOk;
}

Status expect_type(PrepareContext& ctx, const TensorDesc* t, DType type, const char* what) {
  if (t == nullptr || t->type != type) {
    return ctx.fail(Status::kUnsupported, "%s must be %s, is %s", what, dtype_name(type),
                    t ? dtype_name(t->type) : "missing");
  }
  return Status::kOk;
}

Status expect_int8_quantized(PrepareContext& ctx, const char* op, const TensorDesc* t,
                             const char* what) {
  const Status s = expect_type(ctx, t, DType::kInt8, what);
  if (s != Status::kOk) return s;
  if (t->quant.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "%s: %s has no quantization parameters", op, what);
  }
  const float sc = t->quant.scale;
  if (!(sc > 0.0f) || !(sc <= 3.4e38f)) {
    return ctx.fail(Status::kInvalidModel, "%s: %s scale %g must be positive and finite", op, what,
                    static_cast<double>(sc));
  }
  return Status::kOk;
}

Status expect_same_shape(PrepareContext& ctx, const TensorDesc* a, const TensorDesc* b,
                         const char* what) {
  bool same = a->shape.rank == b->shape.rank;
  for (int i = 0; same && i < a->shape.rank; ++i) same = a->shape.dims[i] == b->shape.dims[i];
  if (!same) return ctx.fail(Status::kInvalidModel, "%s: shapes differ", what);
  return Status::kOk;
}

}  // namespace tinyops
