// ADD (int8), bit-exact with TFLM's reference integer ADD (see elementwise.h).
#include "kernels/binary_hooks.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_loops.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

int8_t add_reference(const AddParams& p, int8_t a, int8_t b) {
  const int32_t shifted1 = (p.input1_offset + a) * (1 << p.left_shift);
  const int32_t shifted2 = (p.input2_offset + b) * (1 << p.left_shift);
  const int32_t scaled1 = multiply_by_quantized_multiplier_smaller_than_one_exp(
      shifted1, p.input1_multiplier, p.input1_shift);
  const int32_t scaled2 = multiply_by_quantized_multiplier_smaller_than_one_exp(
      shifted2, p.input2_multiplier, p.input2_shift);
  const int32_t raw = multiply_by_quantized_multiplier_smaller_than_one_exp(
                          scaled1 + scaled2, p.output_multiplier, p.output_shift) +
                      p.output_offset;
  return static_cast<int8_t>(clamp_i32(raw, p.act_min, p.act_max));
}

namespace {

// Branch-free form of add_reference (ew::AddMath says why the fast
// primitives are identical to TFLM's), with its ISA loops.
// A type of this file only, so the loops instantiated for it stay local
// (and are inlined as local functions are).
struct AddOp : binary_detail::BinaryOp<ew::AddMath> {
  using BinaryOp::BinaryOp;
};

}  // namespace

void add_range(const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
               int64_t end) {
  binary_detail::run_flat(AddOp(p), p.layout, a, b, out, begin, end);
}

void add_rows(const AddParams& p, const InputBand& a, const InputBand& b, int8_t* out,
              int64_t row_begin, int64_t row_end) {
  binary_detail::run_band(AddOp(p), p.layout, a, b, out, row_begin, row_end);
}

Status add_prepare(PrepareContext& ctx) {
  AddParams* p = nullptr;
  Status s = binary_detail::prepare_binary_params(ctx, "ADD", &p);
  if (s != Status::kOk) return s;
  const TensorDesc* in1 = ctx.input(0);
  const TensorDesc* in2 = ctx.input(1);
  const TensorDesc* out = ctx.output(0);
  p->left_shift = 20;
  const float s1 = in1->quant.scale, s2 = in2->quant.scale, so = out->quant.scale;
  const double twice_max_input_scale = 2 * static_cast<double>(s1 > s2 ? s1 : s2);
  const double real1 = static_cast<double>(s1) / twice_max_input_scale;
  const double real2 = static_cast<double>(s2) / twice_max_input_scale;
  const double real_out = twice_max_input_scale / ((1 << p->left_shift) * static_cast<double>(so));
  int shift1 = 0, shift2 = 0, shift_out = 0;  // int, not int32_t: they differ on Arm
  if (!quantize_multiplier_smaller_than_one_exp(real1, &p->input1_multiplier, &shift1) ||
      !quantize_multiplier_smaller_than_one_exp(real2, &p->input2_multiplier, &shift2)) {
    return ctx.fail(Status::kUnsupported, "ADD: input rescale multipliers out of range");
  }
  p->input1_shift = shift1;
  p->input2_shift = shift2;
  const bool out_ok =
      quantize_multiplier_smaller_than_one_exp(real_out, &p->output_multiplier, &shift_out);
  p->output_shift = shift_out;
  if (!out_ok) {
    // TFLM aborts (CHECK) here.
    return ctx.fail(Status::kUnsupported,
                    "ADD: output scale %g too small for input scales %g, %g (needs "
                    "2*max(input scale) < 2^20 * output scale)",
                    static_cast<double>(so), static_cast<double>(s1), static_cast<double>(s2));
  }
  const int32_t act = ctx.options ? ctx.options->activation : kActNone;
  if (!activation_range_quantized(act, DType::kInt8, so, out->quant.zero_point, &p->act_min,
                                  &p->act_max)) {
    return ctx.fail(Status::kInvalidModel, "ADD: cannot quantize the fused activation range");
  }
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

namespace {
using AddHooks = binary_detail::BinaryHooks<AddParams, AddOp, add_range, add_rows>;
}  // namespace

Status add_eval(const EvalContext& ctx) { return AddHooks::eval(ctx); }

// The op descriptor (tinyops/op_descriptor.h).
extern const OpDescriptor kAddOp = {
    kBuiltinAdd,
    builtin_op_name(kBuiltinAdd),
    add_prepare,
    add_eval,
    "add",
    served_in_tflm(TflmOptions::kAdd),
    {AddHooks::family, nullptr, nullptr, nullptr, AddHooks::layout, nullptr, AddHooks::flat,
     AddHooks::bands, nullptr, nullptr, nullptr, nullptr}};

}  // namespace tinyops
