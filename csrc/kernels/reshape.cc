// RESHAPE and SQUEEZE: the output is the input's bytes under the output
// tensor's static shape. The optional shape input of RESHAPE (index 1; may be
// computed at run time, e.g. by SHAPE -> STRIDED_SLICE -> PACK) is not read.
#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

namespace {

struct ReshapeParams {
  uint64_t bytes;
};

}  // namespace

Status reshape_prepare(PrepareContext& ctx) {
  const bool squeeze = ctx.opcode == kBuiltinSqueeze;
  const char* op = builtin_op_name(ctx.opcode);
  Status s = expect_io_counts(ctx, 1, squeeze ? 1 : 2, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (in->type != out->type) {
    return ctx.fail(Status::kInvalidModel, "%s: input type %d differs from output type %d", op,
                    static_cast<int>(in->type), static_cast<int>(out->type));
  }
  const size_t es = dtype_size(in->type);
  if (es == 0) return ctx.fail(Status::kUnsupported, "%s: unknown tensor type", op);
  for (int32_t d = 0; d < in->shape.rank; ++d) {
    if (in->shape.dims[d] < 0)
      return ctx.fail(Status::kInvalidModel, "%s: input has a negative dim", op);
  }
  for (int32_t d = 0; d < out->shape.rank; ++d) {
    if (out->shape.dims[d] < 0) {
      return ctx.fail(Status::kUnsupported,
                      "%s: output dim %d is %d (unresolved); the output shape must be static", op,
                      static_cast<int>(d), static_cast<int>(out->shape.dims[d]));
    }
  }
  int64_t out_elems = out->shape.num_elements();
  // Legacy models: RESHAPE without a shape input and output shape [0] means
  // a scalar (TFLM treats it so).
  if (!squeeze && (ctx.num_inputs == 1 || ctx.input(1) == nullptr) && out->shape.rank == 1 &&
      out->shape.dims[0] == 0) {
    out_elems = 1;
  }
  const int64_t in_elems = in->shape.num_elements();
  if (in_elems != out_elems) {
    return ctx.fail(Status::kInvalidModel, "%s: input has %lld elements, output %lld", op,
                    static_cast<long long>(in_elems), static_cast<long long>(out_elems));
  }
  auto* stored = ctx.alloc_array<ReshapeParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  stored->bytes = static_cast<uint64_t>(in_elems) * es;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status reshape_eval(const EvalContext& ctx) {
  const ReshapeParams& p = *static_cast<const ReshapeParams*>(ctx.params);
  const void* in = ctx.inputs[0];
  void* out = ctx.outputs[0];
  if (in != out && p.bytes) std::memmove(out, in, static_cast<size_t>(p.bytes));
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): a byte copy.
extern const OpDescriptor kReshapeOp = {
    kBuiltinReshape,
    builtin_op_name(kBuiltinReshape),
    reshape_prepare,
    reshape_eval,
    "reshape",
    0,
    {fixed_family<OpFamily::kCopy>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
     nullptr, nullptr, nullptr, nullptr}};
extern const OpDescriptor kSqueezeOp = {
    kBuiltinSqueeze,
    builtin_op_name(kBuiltinSqueeze),
    reshape_prepare,
    reshape_eval,
    "reshape",
    0,
    {fixed_family<OpFamily::kCopy>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
     nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
