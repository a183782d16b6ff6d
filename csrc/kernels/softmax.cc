// SOFTMAX (int8 -> int8 / int16), bit-exact with TFLM's reference; see softmax.h.
#include "kernels/softmax.h"

#include <cmath>
#include <cstring>

#include "kernels/activation_math.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

namespace {

constexpr int kScaledDiffIntegerBits = 5;
constexpr int kAccumulationIntegerBits = 12;

inline int count_leading_zeros(uint32_t x) {
  if (x == 0) return 32;
#if defined(__GNUC__)
  return __builtin_clz(x);
#else
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
#endif
}

template <typename OutT>
void softmax_row(const SoftmaxParams& p, const int8_t* in, OutT* out) {
  constexpr int32_t kMin = sizeof(OutT) == 1 ? -128 : -32768;
  constexpr int32_t kMax = sizeof(OutT) == 1 ? 127 : 32767;
  const int32_t depth = p.depth;
  int32_t max_in_row = -128;
  for (int32_t c = 0; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;

  uint32_t sum = 0;  // Q12.19, wrapping like TFLM's int32 accumulation
  for (int32_t c = 0; c < depth; ++c) {
    sum += static_cast<uint32_t>(p.exp_acc[max_in_row - in[c]]);
  }

  // TFLM's GetReciprocal(sum, 12, &num_bits_over_unit).
  const int headroom_plus_one = count_leading_zeros(sum);
  const int num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
  const uint32_t shifted = headroom_plus_one >= 32 ? 0u : (sum << headroom_plus_one);
  const int32_t shifted_sum_minus_one = static_cast<int32_t>(shifted - 0x80000000u);
  const int32_t shifted_scale = fx::one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);

  const int exponent = num_bits_over_unit + 31 - static_cast<int>(sizeof(OutT) * 8);
  if (exponent < 0 || exponent > 31) {
    // TFLM aborts here; defined result (softmax.h): probability 0 everywhere.
    for (int32_t c = 0; c < depth; ++c) out[c] = static_cast<OutT>(kMin);
    return;
  }
  for (int32_t c = 0; c < depth; ++c) {
    const int32_t d = max_in_row - in[c];
    const int32_t unsat = rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted_scale, p.exp_q0[d]), exponent);
    int32_t v = unsat + kMin;
    v = v > kMax ? kMax : (v < kMin ? kMin : v);
    out[c] = static_cast<OutT>(p.included[d] ? v : kMin);
  }
}

}  // namespace

void softmax_rows(const SoftmaxParams& p, const int8_t* in, void* out, int64_t row_begin,
                  int64_t row_end) {
  const int64_t depth = p.depth;
  if (depth <= 0) return;
  if (p.output_int16) {
    int16_t* o = static_cast<int16_t*>(out);
    for (int64_t r = row_begin; r < row_end; ++r) softmax_row(p, in + r * depth, o + r * depth);
  } else {
    int8_t* o = static_cast<int8_t*>(out);
    for (int64_t r = row_begin; r < row_end; ++r) softmax_row(p, in + r * depth, o + r * depth);
  }
}

Status softmax_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (out == nullptr) return ctx.fail(Status::kInvalidModel, "SOFTMAX: output is missing");
  s = expect_type(ctx, in, DType::kInt8, "input");  // int16 / float input: unsupported
  if (s != Status::kOk) return s;
  if (out->type != DType::kInt16) {
    s = expect_type(ctx, out, DType::kInt8, "output (int8 or int16)");
    if (s != Status::kOk) return s;
  }
  if (in->quant.num_scales < 1 || out->quant.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "SOFTMAX: %s has no quantization parameters",
                    in->quant.num_scales < 1 ? "input" : "output");
  }
  if (in->shape.rank < 1) {
    return ctx.fail(Status::kInvalidModel, "SOFTMAX: input must have rank >= 1, has rank 0");
  }
  const int32_t depth = in->shape.dims[in->shape.rank - 1];
  if (out->shape.rank < 1 || out->shape.dims[out->shape.rank - 1] != depth ||
      out->shape.num_elements() != in->shape.num_elements()) {
    return ctx.fail(Status::kInvalidModel, "SOFTMAX: output shape differs from the input's");
  }
  const bool out16 = out->type == DType::kInt16;
  if (out16) {
    const float want = 1.0f / 65536;
    const float delta = out->quant.scale > want ? out->quant.scale - want : want - out->quant.scale;
    if (out->quant.zero_point != -32768 || delta > 0.001f * 1.0f / 65536) {
      return ctx.fail(Status::kInvalidModel,
                      "SOFTMAX: int16 output must have scale 1/65536 and zero point -32768 "
                      "(has %g, %d)",
                      static_cast<double>(out->quant.scale),
                      static_cast<int>(out->quant.zero_point));
    }
  } else if (out->quant.zero_point != -128 || !(out->quant.scale == 1.0f / 256)) {
    return ctx.fail(Status::kInvalidModel,
                    "SOFTMAX: int8 output must have scale 1/256 and zero point -128 (has %g, %d)",
                    static_cast<double>(out->quant.scale), static_cast<int>(out->quant.zero_point));
  }

  SoftmaxParams* p = ctx.alloc_array<SoftmaxParams>(1);
  if (p == nullptr) return ctx.fail(Status::kOutOfMemory, "SOFTMAX: no memory for parameters");
  std::memset(p, 0, sizeof(*p));
  p->depth = depth;
  p->num_rows = depth > 0 ? in->shape.num_elements() / depth : 0;
  p->output_int16 = out16 ? 1 : 0;

  // TFLM's PreprocessSoftmaxScaling (double rounding: cap 2^31 - 1).
  const double beta = static_cast<double>(ctx.options ? ctx.options->beta : 0.0f);
  const double input_scale = static_cast<double>(in->quant.scale);
  double real = beta * input_scale * static_cast<double>(1 << (31 - kScaledDiffIntegerBits));
  const double kMaxReal = static_cast<double>((int64_t{1} << 31) - 1);
  if (real > kMaxReal) real = kMaxReal;
  if (!(real >= 0.0)) {
    return ctx.fail(Status::kUnsupported,
                    "SOFTMAX: beta %g * input scale %g must be non-negative and finite", beta,
                    input_scale);
  }
  int left_shift = 0;
  if (!quantize_multiplier_greater_than_one(real, &p->input_multiplier, &left_shift)) {
    // TFLM aborts here; defined result (softmax.h): a multiplier of exactly 1.
    p->input_multiplier = int32_t{1} << 30;
    left_shift = 1;
    p->multiplier_clamped = 1;
  }
  p->input_left_shift = left_shift;
  p->diff_min = -fx::input_radius(kScaledDiffIntegerBits, left_shift);

  for (int d = 0; d < 256; ++d) {
    const int32_t diff = -d;
    if (diff < p->diff_min) continue;  // excluded: contributes 0, outputs the minimum
    const int32_t rescaled = multiply_by_quantized_multiplier_greater_than_one(
        diff, p->input_multiplier, p->input_left_shift);
    const int32_t e = fx::exp_on_negative_values(rescaled, kScaledDiffIntegerBits);
    p->included[d] = 1;
    p->exp_q0[d] = e;
    p->exp_acc[d] = fx::rescale(e, 0, kAccumulationIntegerBits);
  }
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status softmax_eval(const EvalContext& ctx) {
  const SoftmaxParams& p = *static_cast<const SoftmaxParams*>(ctx.params);
  softmax_rows(p, static_cast<const int8_t*>(ctx.inputs[0]), ctx.outputs[0], 0, p.num_rows);
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kSoftmaxOp = {kBuiltinSoftmax,
                                        builtin_op_name(kBuiltinSoftmax),
                                        softmax_prepare,
                                        softmax_eval,
                                        "softmax",
                                        0,
                                        {}};

}  // namespace tinyops
