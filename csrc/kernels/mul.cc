// MUL (int8), bit-exact with TFLM's reference integer MUL (see elementwise.h).
#include "kernels/binary_hooks.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_loops.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

int8_t mul_reference(const MulParams& p, int8_t a, int8_t b) {
  const int32_t v1 = p.input1_offset + a;
  const int32_t v2 = p.input2_offset + b;
  const int32_t raw = p.output_offset + multiply_by_quantized_multiplier(
                                            v1 * v2, p.output_multiplier, p.output_shift);
  return static_cast<int8_t>(clamp_i32(raw, p.act_min, p.act_max));
}

namespace {

// Branch-free form of mul_reference (ew::MulMath), with its ISA loops.
// A type of this file only, so the loops instantiated for it stay local
// (and are inlined as local functions are).
struct MulOp : binary_detail::BinaryOp<ew::MulMath> {
  using BinaryOp::BinaryOp;
};

}  // namespace

void mul_range(const MulParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
               int64_t end) {
  binary_detail::run_flat(MulOp(p), p.layout, a, b, out, begin, end);
}

void mul_rows(const MulParams& p, const InputBand& a, const InputBand& b, int8_t* out,
              int64_t row_begin, int64_t row_end) {
  binary_detail::run_band(MulOp(p), p.layout, a, b, out, row_begin, row_end);
}

Status mul_prepare(PrepareContext& ctx) {
  MulParams* p = nullptr;
  Status s = binary_detail::prepare_binary_params(ctx, "MUL", &p);
  if (s != Status::kOk) return s;
  const TensorDesc* in1 = ctx.input(0);
  const TensorDesc* in2 = ctx.input(1);
  const TensorDesc* out = ctx.output(0);
  const int32_t act = ctx.options ? ctx.options->activation : kActNone;
  if (!activation_range_quantized(act, DType::kInt8, out->quant.scale, out->quant.zero_point,
                                  &p->act_min, &p->act_max)) {
    return ctx.fail(Status::kInvalidModel, "MUL: cannot quantize the fused activation range");
  }
  const double real_multiplier = static_cast<double>(in1->quant.scale) *
                                 static_cast<double>(in2->quant.scale) /
                                 static_cast<double>(out->quant.scale);
  int shift = 0;
  if (!quantize_multiplier(real_multiplier, &p->output_multiplier, &shift) || shift > 31) {
    return ctx.fail(Status::kUnsupported,
                    "MUL: rescale multiplier %g (input1 scale * input2 scale / output scale) is "
                    "out of range",
                    real_multiplier);
  }
  p->output_shift = shift;
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

namespace {
using MulHooks = binary_detail::BinaryHooks<MulParams, MulOp, mul_range, mul_rows>;
}  // namespace

Status mul_eval(const EvalContext& ctx) { return MulHooks::eval(ctx); }

// The op descriptor (tinyops/op_descriptor.h).
extern const OpDescriptor kMulOp = {
    kBuiltinMul,
    builtin_op_name(kBuiltinMul),
    mul_prepare,
    mul_eval,
    "mul",
    served_in_tflm(TflmOptions::kMul),
    {MulHooks::family, nullptr, nullptr, nullptr, MulHooks::layout, nullptr, MulHooks::flat,
     MulHooks::bands, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
