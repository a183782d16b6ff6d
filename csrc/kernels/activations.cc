// RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC (int8), bit-exact with TFLM's
// reference kernels; see activations.h.
#include "kernels/activations.h"

#include <cmath>
#include <cstring>

#include "kernels/activation_math.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

#include "kernels/x86/dispatch.h"

namespace tinyops {

// ---------------------------------------------------------------------------
// Table lookup

void activation_range(const ActivationParams& p, const int8_t* in, int8_t* out, int64_t begin,
                      int64_t end) {
  lut8_range(p.lut, in, out, begin, end);
}

const int8_t* activation_table(const ActivationParams& p, void* scratch) {
  if (scratch == nullptr) return p.lut;
  std::memcpy(scratch, p.lut, sizeof(p.lut));
  return static_cast<const int8_t*>(scratch);
}

void lut8_range(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end) {
  if (const auto simd = x86::kernels().lut8) {
    simd(lut, in, out, begin, end);
    return;
  }
  for (int64_t i = begin; i < end; ++i) out[i] = lut[static_cast<uint8_t>(in[i])];
}

// ---------------------------------------------------------------------------
// Definitions

int8_t relu_value(const ReluQuant& q, int8_t x) {
  int32_t v =
      q.output_offset + multiply_by_quantized_multiplier(static_cast<int32_t>(x) - q.input_offset,
                                                         q.output_multiplier, q.output_shift);
  v = v < q.act_min ? q.act_min : v;
  v = v > q.act_max ? q.act_max : v;
  return static_cast<int8_t>(v);
}

int8_t relu6_value(const Relu6Quant& q, int8_t x) {
  return x > q.six ? q.six : (x < q.zero ? q.zero : x);
}

int8_t leaky_relu_value(const LeakyReluQuant& q, int8_t x) {
  const bool alpha_negative = q.multiplier_alpha < 0;
  const int32_t safe_alpha = alpha_negative ? fx::wrap_neg(q.multiplier_alpha) : q.multiplier_alpha;
  const int32_t input = static_cast<int32_t>(x) - q.input_offset;
  int32_t v = q.output_offset;
  if (input >= 0) {
    v += multiply_by_quantized_multiplier(input, q.multiplier_identity, q.shift_identity);
  } else {
    const int32_t scaled = multiply_by_quantized_multiplier(input, safe_alpha, q.shift_alpha);
    v += alpha_negative ? -scaled : scaled;
  }
  return static_cast<int8_t>(clamp_i32(v, -128, 127));
}

int8_t hard_swish_value(const HardSwishQuant& q, int8_t x) {
  const int16_t input_value = static_cast<int16_t>(x - q.input_zero_point);
  const int16_t hires = static_cast<int16_t>(input_value * (1 << 7));
  const int16_t preshift_output_scale = fx::srdhm16(hires, q.output_multiplier_fixedpoint_int16);
  int16_t reluish = hires;
  if (q.reluish_multiplier_exponent > 0) {
    reluish = fx::saturating_left_shift16(reluish, q.reluish_multiplier_exponent - 1);
  }
  reluish = fx::srdhm16(reluish, q.reluish_multiplier_fixedpoint_int16);
  if (q.reluish_multiplier_exponent > 0) reluish = fx::saturating_left_shift16(reluish, 1);
  if (q.reluish_multiplier_exponent < 0) {
    reluish = fx::rounding_divide_by_pot16(reluish, -q.reluish_multiplier_exponent);
  }
  // [-1, 1] -> [0, 1] in Q15.
  reluish = static_cast<int16_t>((reluish + (1 << 15)) >> 1);
  const int16_t preshift_output = fx::sdhm16(reluish, preshift_output_scale);
  int16_t out = fx::rounding_divide_by_pot16(preshift_output, -q.output_multiplier_exponent);
  out = static_cast<int16_t>(out + q.output_zero_point);
  if (out > 127) out = 127;
  if (out < -128) out = -128;
  return static_cast<int8_t>(out);
}

int8_t logistic_value(const LogisticQuant& q, int8_t x) {
  const int32_t input = static_cast<int32_t>(x) - q.input_zero_point;
  if (input <= -q.input_range_radius) return -128;
  if (input >= q.input_range_radius) return 127;
  const int32_t input_q4 =
      multiply_by_quantized_multiplier(input, q.input_multiplier, q.input_left_shift);
  const int32_t output_q0 = fx::logistic(input_q4, 4);
  int32_t v = rounding_divide_by_pot(output_q0, 31 - 8) - 128;
  return static_cast<int8_t>(clamp_i32(v, -128, 127));
}

// ---------------------------------------------------------------------------
// Prepare / eval

namespace {

// One int8 input, one int8 output with the same number of elements, both
// quantized with a positive finite scale.
Status check_unary(PrepareContext& ctx, const char* op) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (out == nullptr) return ctx.fail(Status::kInvalidModel, "%s: output is missing", op);
  const char* roles[2] = {"input", "output"};
  const TensorDesc* t[2] = {in, out};
  for (int i = 0; i < 2; ++i) {
    s = expect_int8_quantized(ctx, op, t[i], roles[i]);  // int16 / float: unsupported
    if (s != Status::kOk) return s;
  }
  if (in->shape.num_elements() != out->shape.num_elements()) {
    return ctx.fail(Status::kInvalidModel, "%s: input has %lld elements, output %lld", op,
                    static_cast<long long>(in->shape.num_elements()),
                    static_cast<long long>(out->shape.num_elements()));
  }
  return Status::kOk;
}

ActivationParams* alloc_params(PrepareContext& ctx, const char* op, Status* s) {
  ActivationParams* p = ctx.alloc_array<ActivationParams>(1);
  *s = p ? Status::kOk : ctx.fail(Status::kOutOfMemory, "%s: no memory for parameters", op);
  return p;
}

template <class Q, class F>
Status finish_lut(PrepareContext& ctx, const char* op, const Q& q, F value) {
  Status s;
  ActivationParams* p = alloc_params(ctx, op, &s);
  if (s != Status::kOk) return s;
  for (int v = -128; v <= 127; ++v) {
    p->lut[static_cast<uint8_t>(v)] = value(q, static_cast<int8_t>(v));
  }
  p->num_elements = ctx.input(0)->shape.num_elements();
  ctx.params = p;
  ctx.scratch_bytes = kActivationScratchBytes;
  return Status::kOk;
}

// TFLM's DownScaleInt32ToInt16Multiplier (rounded Q31 -> Q15, saturating).
int16_t downscale_multiplier_to_int16(int32_t m) {
  if (m >= 2147483647 - (1 << 15)) return 32767;
  return static_cast<int16_t>((m + (1 << 15)) >> 16);
}

// QuantizeMultiplier with the shift range the integer kernels can execute.
bool multiplier_for(double m, int32_t* q, int32_t* shift) {
  int sh = 0;
  if (!quantize_multiplier(m, q, &sh) || sh > 31) return false;
  *shift = sh;
  return true;
}

Status unary_eval(const EvalContext& ctx) {
  const ActivationParams& p = *static_cast<const ActivationParams*>(ctx.params);
  lut8_range(activation_table(p, ctx.scratch), static_cast<const int8_t*>(ctx.inputs[0]),
             static_cast<int8_t*>(ctx.outputs[0]), 0, p.num_elements);
  return Status::kOk;
}

}  // namespace

Status relu_prepare(PrepareContext& ctx) {
  Status s = check_unary(ctx, "RELU");
  if (s != Status::kOk) return s;
  const QuantInfo& qi = ctx.input(0)->quant;
  const QuantInfo& qo = ctx.output(0)->quant;
  ReluQuant q{};
  // TFLM divides in float, then widens.
  const float ratio = qi.scale / qo.scale;
  if (!multiplier_for(static_cast<double>(ratio), &q.output_multiplier, &q.output_shift)) {
    return ctx.fail(Status::kUnsupported, "RELU: input/output scale ratio %g is out of range",
                    static_cast<double>(ratio));
  }
  q.input_offset = qi.zero_point;
  q.output_offset = qo.zero_point;
  // max(-128, zo + round(0 / so)), 127.
  const int32_t zero_q = qo.zero_point + static_cast<int32_t>(std::round(0.0f / qo.scale));
  q.act_min = zero_q > -128 ? zero_q : -128;
  q.act_max = 127;
  return finish_lut(ctx, "RELU", q, relu_value);
}

Status relu6_prepare(PrepareContext& ctx) {
  Status s = check_unary(ctx, "RELU6");
  if (s != Status::kOk) return s;
  const QuantInfo& qi = ctx.input(0)->quant;
  Relu6Quant q{};
  q.zero = static_cast<int8_t>(qi.zero_point);
  // TFLM's FloatToQuantizedType<int8_t>(6.0f, scale, zero_point): the
  // rounded quotient plus the zero point converted to int32, then clamped.
  // A sum beyond int32 converts to INT32_MIN on the x86 oracle (cvttsd2si);
  // reproduced so RELU6 of absurdly small scales still matches it.
  const double sum = static_cast<double>(std::round(6.0f / qi.scale)) + qi.zero_point;
  int32_t six =
      (sum >= -2147483648.0 && sum < 2147483648.0) ? static_cast<int32_t>(sum) : fx::kInt32Min;
  six = six > 127 ? 127 : (six < -128 ? -128 : six);
  q.six = static_cast<int8_t>(six);
  if (qi.zero_point < -128 || qi.zero_point > 127) {
    return ctx.fail(Status::kInvalidModel, "RELU6: input zero point %d is outside int8",
                    static_cast<int>(qi.zero_point));
  }
  return finish_lut(ctx, "RELU6", q, relu6_value);
}

Status leaky_relu_prepare(PrepareContext& ctx) {
  Status s = check_unary(ctx, "LEAKY_RELU");
  if (s != Status::kOk) return s;
  const QuantInfo& qi = ctx.input(0)->quant;
  const QuantInfo& qo = ctx.output(0)->quant;
  const float alpha = ctx.options ? ctx.options->alpha : 0.0f;
  if (!std::isfinite(alpha)) {
    return ctx.fail(Status::kInvalidModel, "LEAKY_RELU: alpha %g is not finite",
                    static_cast<double>(alpha));
  }
  LeakyReluQuant q{};
  q.input_offset = qi.zero_point;
  q.output_offset = qo.zero_point;
  const float alpha_ratio = qi.scale * alpha / qo.scale;
  const float identity_ratio = qi.scale / qo.scale;
  if (!multiplier_for(static_cast<double>(alpha_ratio), &q.multiplier_alpha, &q.shift_alpha) ||
      !multiplier_for(static_cast<double>(identity_ratio), &q.multiplier_identity,
                      &q.shift_identity)) {
    return ctx.fail(Status::kUnsupported,
                    "LEAKY_RELU: rescale multipliers (alpha %g, scales %g -> %g) out of range",
                    static_cast<double>(alpha), static_cast<double>(qi.scale),
                    static_cast<double>(qo.scale));
  }
  return finish_lut(ctx, "LEAKY_RELU", q, leaky_relu_value);
}

Status hard_swish_prepare(PrepareContext& ctx) {
  Status s = check_unary(ctx, "HARD_SWISH");
  if (s != Status::kOk) return s;
  const QuantInfo& qi = ctx.input(0)->quant;
  const QuantInfo& qo = ctx.output(0)->quant;
  HardSwishQuant q{};
  q.input_zero_point = qi.zero_point;
  q.output_zero_point = qo.zero_point;
  const float hires_input_scale = (1.0f / 128.0f) * qi.scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float output_ratio = hires_input_scale / qo.scale;
  const float reluish_ratio = hires_input_scale / reluish_scale;
  int32_t m32 = 0;
  int shift = 0;
  if (!quantize_multiplier(static_cast<double>(output_ratio), &m32, &shift) || shift > 0) {
    return ctx.fail(Status::kInvalidModel,
                    "HARD_SWISH: input scale %g must be < 128 * output scale %g",
                    static_cast<double>(qi.scale), static_cast<double>(qo.scale));
  }
  q.output_multiplier_exponent = shift;
  q.output_multiplier_fixedpoint_int16 = downscale_multiplier_to_int16(m32);
  if (!quantize_multiplier(static_cast<double>(reluish_ratio), &m32, &shift) || shift > 31) {
    return ctx.fail(Status::kUnsupported, "HARD_SWISH: input scale %g is out of range",
                    static_cast<double>(qi.scale));
  }
  q.reluish_multiplier_exponent = shift;
  q.reluish_multiplier_fixedpoint_int16 = downscale_multiplier_to_int16(m32);
  return finish_lut(ctx, "HARD_SWISH", q, hard_swish_value);
}

Status logistic_prepare(PrepareContext& ctx) {
  Status s = check_unary(ctx, "LOGISTIC");
  if (s != Status::kOk) return s;
  const QuantInfo& qi = ctx.input(0)->quant;
  const QuantInfo& qo = ctx.output(0)->quant;
  if (qo.zero_point != -128) {
    return ctx.fail(Status::kInvalidModel, "LOGISTIC: output zero point must be -128, is %d",
                    static_cast<int>(qo.zero_point));
  }
  constexpr int kInputIntegerBits = 4;
  LogisticQuant q{};
  q.input_zero_point = qi.zero_point;
  const double real =
      static_cast<double>(qi.scale) * static_cast<double>(1 << (31 - kInputIntegerBits));
  int left_shift = 0;
  const double frac = std::frexp(real, &left_shift);
  if (left_shift < 0 || left_shift > 62) {
    return ctx.fail(Status::kUnsupported, "LOGISTIC: input scale %g is out of range",
                    static_cast<double>(qi.scale));
  }
  q.input_left_shift = left_shift;
  q.input_multiplier =
      static_cast<int32_t>(std::round(frac * static_cast<double>(int64_t{1} << 31)));
  q.input_range_radius = fx::input_radius(kInputIntegerBits, left_shift);
  return finish_lut(ctx, "LOGISTIC", q, logistic_value);
}

Status relu_eval(const EvalContext& ctx) { return unary_eval(ctx); }
Status relu6_eval(const EvalContext& ctx) { return unary_eval(ctx); }
Status leaky_relu_eval(const EvalContext& ctx) { return unary_eval(ctx); }
Status hard_swish_eval(const EvalContext& ctx) { return unary_eval(ctx); }
Status logistic_eval(const EvalContext& ctx) { return unary_eval(ctx); }

// The op descriptors (tinyops/op_descriptor.h): every LUT activation tiles
// as flat chunks through the same hooks (activations.h).

extern const OpDescriptor kReluOp = {
    kBuiltinRelu, builtin_op_name(kBuiltinRelu), relu_prepare, relu_eval, "relu", 0, kLutTileHooks};
extern const OpDescriptor kRelu6Op = {
    kBuiltinRelu6, builtin_op_name(kBuiltinRelu6), relu6_prepare, relu6_eval, "relu", 0,
    kLutTileHooks};
extern const OpDescriptor kLeakyReluOp = {kBuiltinLeakyRelu,
                                          builtin_op_name(kBuiltinLeakyRelu),
                                          leaky_relu_prepare,
                                          leaky_relu_eval,
                                          "relu",
                                          0,
                                          kLutTileHooks};
extern const OpDescriptor kHardSwishOp = {kBuiltinHardSwish,  builtin_op_name(kBuiltinHardSwish),
                                          hard_swish_prepare, hard_swish_eval,
                                          "hard_swish",       kServedInTflm,
                                          kLutTileHooks};
extern const OpDescriptor kLogisticOp = {kBuiltinLogistic, builtin_op_name(kBuiltinLogistic),
                                         logistic_prepare, logistic_eval,
                                         "logistic",       0,
                                         kLutTileHooks};

}  // namespace tinyops
