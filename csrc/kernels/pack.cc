// PACK: stacks values_count equally shaped inputs along a new axis (a byte
// copy, like TFLM's; no requantization, so int8 inputs are copied as is).
#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

namespace {

struct PackParams {
  int32_t num_inputs;
  int64_t outer;       // product of output dims before the axis
  int64_t copy_bytes;  // product of output dims after the axis * elem size
};

}  // namespace

Status pack_prepare(PrepareContext& ctx) {
  const char* op = "PACK";
  const OpOptions& o = *ctx.options;
  if (ctx.num_inputs < 1 || o.values_count != ctx.num_inputs) {
    return ctx.fail(Status::kInvalidModel, "%s: values_count %d but %d inputs", op,
                    static_cast<int>(o.values_count), static_cast<int>(ctx.num_inputs));
  }
  Status s = expect_io_counts(ctx, ctx.num_inputs, ctx.num_inputs, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in0 = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  const DType t = out->type;
  if (t != DType::kInt8 && t != DType::kInt32 && t != DType::kFloat32 && t != DType::kInt64) {
    return ctx.fail(Status::kUnsupported, "%s: type %d unsupported (int8, int32, int64, float32)",
                    op, static_cast<int>(t));
  }
  const int32_t rank = out->shape.rank;
  if (in0->shape.rank + 1 != rank) {
    return ctx.fail(Status::kInvalidModel, "%s: output rank %d should be input rank %d + 1", op,
                    static_cast<int>(rank), static_cast<int>(in0->shape.rank));
  }
  const int32_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  if (axis < 0 || axis >= rank) {
    return ctx.fail(Status::kInvalidModel, "%s: axis %d out of range for output rank %d", op,
                    static_cast<int>(o.axis), static_cast<int>(rank));
  }
  if (out->shape.dims[axis] != ctx.num_inputs) {
    return ctx.fail(Status::kInvalidModel, "%s: output dim %d is %d, expected %d", op,
                    static_cast<int>(axis), static_cast<int>(out->shape.dims[axis]),
                    static_cast<int>(ctx.num_inputs));
  }
  for (int32_t i = 0; i < ctx.num_inputs; ++i) {
    const TensorDesc* in = ctx.input(i);
    if (in->type != t) {
      return ctx.fail(Status::kInvalidModel, "%s: input %d type %d differs from output type %d", op,
                      static_cast<int>(i), static_cast<int>(in->type), static_cast<int>(t));
    }
    bool ok = in->shape.rank == rank - 1;
    for (int32_t d = 0; ok && d < rank - 1; ++d) {
      ok = in->shape.dims[d] == out->shape.dims[d < axis ? d : d + 1];
    }
    if (!ok) {
      return ctx.fail(Status::kInvalidModel, "%s: input %d shape does not match the output", op,
                      static_cast<int>(i));
    }
  }
  PackParams p{};
  p.num_inputs = ctx.num_inputs;
  p.outer = 1;
  for (int32_t d = 0; d < axis; ++d) p.outer *= out->shape.dims[d];
  int64_t inner = 1;
  for (int32_t d = axis + 1; d < rank; ++d) inner *= out->shape.dims[d];
  p.copy_bytes = inner * static_cast<int64_t>(dtype_size(t));
  auto* stored = ctx.alloc_array<PackParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status pack_eval(const EvalContext& ctx) {
  const PackParams& p = *static_cast<const PackParams*>(ctx.params);
  const size_t n = static_cast<size_t>(p.copy_bytes);
  if (n == 0) return Status::kOk;
  uint8_t* dst = static_cast<uint8_t*>(ctx.outputs[0]);
  for (int64_t k = 0; k < p.outer; ++k) {
    for (int32_t i = 0; i < p.num_inputs; ++i) {
      std::memcpy(dst, static_cast<const uint8_t*>(ctx.inputs[i]) + static_cast<size_t>(k) * n, n);
      dst += n;
    }
  }
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kPackOp = {
    kBuiltinPack, builtin_op_name(kBuiltinPack), pack_prepare, pack_eval, "pack", 0, {}};

}  // namespace tinyops
