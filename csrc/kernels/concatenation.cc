// CONCATENATION: a byte copy, like TFLM's. TFLM's int8 kernel does not
// requantize: Prepare rejects any int8 input whose scale or zero point differs
// from the output's, and so does this kernel.
#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

namespace {

constexpr int32_t kMaxInputs = 10;  // TFLM's limit

struct ConcatParams {
  int32_t num_inputs;
  int64_t outer;                   // product of output dims before the axis
  int64_t copy_bytes[kMaxInputs];  // per input: dims[axis] * inner * elem size
};

}  // namespace

Status concatenation_prepare(PrepareContext& ctx) {
  const char* op = "CONCATENATION";
  if (ctx.num_inputs < 1 || ctx.num_inputs > kMaxInputs) {
    return ctx.fail(Status::kInvalidModel, "%s: %d inputs, TFLM supports 1..%d", op,
                    static_cast<int>(ctx.num_inputs), static_cast<int>(kMaxInputs));
  }
  Status s = expect_io_counts(ctx, ctx.num_inputs, ctx.num_inputs, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* out = ctx.output(0);
  const TensorDesc* in0 = ctx.input(0);
  const OpOptions& o = *ctx.options;
  if (o.activation != kActNone) {
    return ctx.fail(Status::kInvalidModel, "%s: fused activation %d (TFLM requires NONE)", op,
                    static_cast<int>(o.activation));
  }
  const DType t = in0->type;
  if (t != DType::kInt8 && t != DType::kInt32 && t != DType::kFloat32 && t != DType::kInt64 &&
      t != DType::kBool) {
    return ctx.fail(Status::kUnsupported,
                    "%s: type %d unsupported (int8, int32, int64, float32, bool)", op,
                    static_cast<int>(t));
  }
  if (out->type != t) {
    return ctx.fail(Status::kInvalidModel, "%s: output type %d differs from input type %d", op,
                    static_cast<int>(out->type), static_cast<int>(t));
  }
  const int32_t rank = out->shape.rank;
  int32_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  if (axis < 0 || axis >= rank) {
    return ctx.fail(Status::kInvalidModel, "%s: axis %d out of range for rank %d", op,
                    static_cast<int>(o.axis), static_cast<int>(rank));
  }
  const size_t es = dtype_size(t);
  int64_t inner = 1, outer = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= out->shape.dims[d];
  for (int32_t d = axis + 1; d < rank; ++d) inner *= out->shape.dims[d];
  ConcatParams p{};
  p.num_inputs = ctx.num_inputs;
  p.outer = outer;
  int64_t axis_total = 0;
  for (int32_t i = 0; i < ctx.num_inputs; ++i) {
    const TensorDesc* in = ctx.input(i);
    if (in->type != t) {
      return ctx.fail(Status::kInvalidModel, "%s: input %d type %d differs from input 0 (%d)", op,
                      static_cast<int>(i), static_cast<int>(in->type), static_cast<int>(t));
    }
    if (in->shape.rank != rank) {
      return ctx.fail(Status::kInvalidModel, "%s: input %d rank %d differs from output rank %d", op,
                      static_cast<int>(i), static_cast<int>(in->shape.rank),
                      static_cast<int>(rank));
    }
    for (int32_t d = 0; d < rank; ++d) {
      if (d != axis && in->shape.dims[d] != out->shape.dims[d]) {
        return ctx.fail(Status::kInvalidModel, "%s: input %d dim %d is %d, output has %d", op,
                        static_cast<int>(i), static_cast<int>(d),
                        static_cast<int>(in->shape.dims[d]), static_cast<int>(out->shape.dims[d]));
      }
    }
    if (t == DType::kInt8 &&
        (static_cast<double>(in->quant.scale) != static_cast<double>(out->quant.scale) ||
         in->quant.zero_point != out->quant.zero_point)) {
      return ctx.fail(Status::kInvalidModel,
                      "%s: int8 input %d quantization (scale %g, zero point %d) differs from "
                      "the output's (scale %g, zero point %d); TFLM does not requantize",
                      op, static_cast<int>(i), static_cast<double>(in->quant.scale),
                      static_cast<int>(in->quant.zero_point), static_cast<double>(out->quant.scale),
                      static_cast<int>(out->quant.zero_point));
    }
    axis_total += in->shape.dims[axis];
    p.copy_bytes[i] = static_cast<int64_t>(in->shape.dims[axis]) * inner * static_cast<int64_t>(es);
  }
  if (axis_total != out->shape.dims[axis]) {
    return ctx.fail(Status::kInvalidModel, "%s: inputs sum to %lld along axis %d, output has %d",
                    op, static_cast<long long>(axis_total), static_cast<int>(axis),
                    static_cast<int>(out->shape.dims[axis]));
  }
  auto* stored = ctx.alloc_array<ConcatParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status concatenation_eval(const EvalContext& ctx) {
  const ConcatParams& p = *static_cast<const ConcatParams*>(ctx.params);
  uint8_t* dst = static_cast<uint8_t*>(ctx.outputs[0]);
  for (int64_t k = 0; k < p.outer; ++k) {
    for (int32_t i = 0; i < p.num_inputs; ++i) {
      const size_t n = static_cast<size_t>(p.copy_bytes[i]);
      if (n == 0) continue;
      std::memcpy(dst, static_cast<const uint8_t*>(ctx.inputs[i]) + static_cast<size_t>(k) * n, n);
      dst += n;
    }
  }
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kConcatenationOp = {kBuiltinConcatenation,
                                              builtin_op_name(kBuiltinConcatenation),
                                              concatenation_prepare,
                                              concatenation_eval,
                                              "concatenation",
                                              0,
                                              {}};

}  // namespace tinyops
