// SHAPE: writes the input's static dims into an int32 [rank] output (TFLM
// supports only int32 output).
#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

namespace {

struct ShapeParams {
  int32_t rank;
  int32_t dims[kMaxRank];
};

}  // namespace

Status shape_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if ((s = expect_type(ctx, out, DType::kInt32, "SHAPE output")) != Status::kOk) return s;
  if (out->shape.num_elements() != in->shape.rank || out->shape.rank > 1) {
    return ctx.fail(Status::kInvalidModel, "SHAPE: output must be [%d]",
                    static_cast<int>(in->shape.rank));
  }
  auto* p = ctx.alloc_array<ShapeParams>(1);
  if (!p) return ctx.fail(Status::kOutOfMemory, "SHAPE: no memory for params");
  p->rank = in->shape.rank;
  for (int32_t d = 0; d < kMaxRank; ++d) p->dims[d] = d < in->shape.rank ? in->shape.dims[d] : 0;
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status shape_eval(const EvalContext& ctx) {
  const ShapeParams& p = *static_cast<const ShapeParams*>(ctx.params);
  if (p.rank > 0)
    std::memcpy(ctx.outputs[0], p.dims, sizeof(int32_t) * static_cast<size_t>(p.rank));
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kShapeOp = {
    kBuiltinShape, builtin_op_name(kBuiltinShape), shape_prepare, shape_eval, "shape", 0, {}};

}  // namespace tinyops
