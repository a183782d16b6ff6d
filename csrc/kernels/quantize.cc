// QUANTIZE and DEQUANTIZE, bit-exact with TFLM's reference; see quantize.h.
#include "kernels/quantize.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/activations.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

namespace {

constexpr float kTwo31 = 2147483648.0f;

// x / scale converted the oracle's way; `q` already rounded.
inline int8_t finish(float q, int32_t zero_point) {
  const int32_t i =
      (q >= -kTwo31 && q < kTwo31) ? static_cast<int32_t>(q) : std::numeric_limits<int32_t>::min();
  const int32_t v =
      static_cast<int32_t>(static_cast<uint32_t>(i) + static_cast<uint32_t>(zero_point));
  return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

inline uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof(b));
  return b;
}

// quantize_float_value written with integer masks only, so it vectorizes
// (float compares and selects would not under -ftrapping-math):
//   in range  <=> |q| < 2^31 or q == -2^31 (bit patterns; NaN is out);
//   c = trunc(q) by the int conversion of q (or of 0 when out of range);
//   q - c is exact (for |q| >= 2^23, q is integral and q - c == 0), and
//   |q - c| >= 0.5 moves c one step away from zero: round half away.
inline int8_t quantize_one_fast(float x, float scale, int32_t zero_point) {
  const float q = x / scale;
  const uint32_t qb = float_bits(q);
  const int32_t ok =
      -static_cast<int32_t>(((qb & 0x7fffffffu) < 0x4f000000u) | (qb == 0xcf000000u));
  const uint32_t sb = qb & static_cast<uint32_t>(ok);
  float s;
  std::memcpy(&s, &sb, sizeof(s));
  int32_t c = static_cast<int32_t>(s);
  const uint32_t fb = float_bits(s - static_cast<float>(c));
  const int32_t half = static_cast<int32_t>((fb & 0x7fffffffu) >= 0x3f000000u);
  const int32_t sign = -static_cast<int32_t>(fb >> 31);  // 0 or -1
  c += (half ^ sign) - sign;
  const int32_t i = (c & ok) | (std::numeric_limits<int32_t>::min() & ~ok);
  const int32_t v =
      static_cast<int32_t>(static_cast<uint32_t>(i) + static_cast<uint32_t>(zero_point));
  return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

}  // namespace

int8_t quantize_float_value(float x, float scale, int32_t zero_point) {
  return finish(std::round(x / scale), zero_point);
}

void quantize_range(const QuantizeParams& p, const void* in, int8_t* out, int64_t begin,
                    int64_t end) {
  if (p.from_float) {
    const float* x = static_cast<const float*>(in);
    const float scale = p.scale;
    const int32_t zp = p.zero_point;
    for (int64_t i = begin; i < end; ++i) out[i] = quantize_one_fast(x[i], scale, zp);
  } else {
    lut8_range(p.lut, static_cast<const int8_t*>(in), out, begin, end);
  }
}

void dequantize_range(const DequantizeParams& p, const int8_t* in, float* out, int64_t begin,
                      int64_t end) {
  for (int64_t i = begin; i < end; ++i) out[i] = p.lut[static_cast<uint8_t>(in[i])];
}

Status quantize_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (out == nullptr) return ctx.fail(Status::kInvalidModel, "QUANTIZE: output is missing");
  s = expect_type(ctx, out, DType::kInt8, "output");  // int16 / uint8 / int32: unsupported
  if (s != Status::kOk) return s;
  if (in->type != DType::kInt8) {
    s = expect_type(ctx, in, DType::kFloat32, "input (float32 or int8)");
    if (s != Status::kOk) return s;
  }
  if (out->quant.num_scales != 1) {
    return ctx.fail(Status::kInvalidModel,
                    "QUANTIZE: output needs exactly one (per-tensor) scale, has %d",
                    static_cast<int>(out->quant.num_scales));
  }
  const float so = out->quant.scale;
  if (!(so > 0.0f) || !(so <= 3.4e38f)) {
    return ctx.fail(Status::kInvalidModel, "QUANTIZE: output scale %g must be positive and finite",
                    static_cast<double>(so));
  }
  if (in->shape.num_elements() != out->shape.num_elements()) {
    return ctx.fail(Status::kInvalidModel, "QUANTIZE: input and output element counts differ");
  }
  QuantizeParams* p = ctx.alloc_array<QuantizeParams>(1);
  if (p == nullptr) return ctx.fail(Status::kOutOfMemory, "QUANTIZE: no memory for parameters");
  std::memset(p, 0, sizeof(*p));
  p->num_elements = out->shape.num_elements();
  p->scale = so;
  p->zero_point = out->quant.zero_point;
  if (in->type == DType::kFloat32) {
    p->from_float = 1;
  } else {
    if (in->quant.num_scales < 1) {
      return ctx.fail(Status::kInvalidModel, "QUANTIZE: int8 input has no quantization parameters");
    }
    const double effective = static_cast<double>(in->quant.scale) / static_cast<double>(so);
    int32_t m = 0;
    int shift = 0;
    if (!(in->quant.scale > 0.0f) || !quantize_multiplier(effective, &m, &shift) || shift > 31) {
      return ctx.fail(Status::kUnsupported,
                      "QUANTIZE: requantization scale %g / %g is out of range",
                      static_cast<double>(in->quant.scale), static_cast<double>(so));
    }
    for (int v = -128; v <= 127; ++v) {
      const int32_t r = multiply_by_quantized_multiplier(v - in->quant.zero_point, m, shift) +
                        out->quant.zero_point;
      p->lut[static_cast<uint8_t>(v)] = static_cast<int8_t>(clamp_i32(r, -128, 127));
    }
  }
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status quantize_eval(const EvalContext& ctx) {
  const QuantizeParams& p = *static_cast<const QuantizeParams*>(ctx.params);
  quantize_range(p, ctx.inputs[0], static_cast<int8_t*>(ctx.outputs[0]), 0, p.num_elements);
  return Status::kOk;
}

Status dequantize_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 1, 1, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  if (out == nullptr) return ctx.fail(Status::kInvalidModel, "DEQUANTIZE: output is missing");
  s = expect_type(ctx, in, DType::kInt8, "input");  // int16 / uint8: unsupported
  if (s != Status::kOk) return s;
  s = expect_type(ctx, out, DType::kFloat32, "output");
  if (s != Status::kOk) return s;
  if (in->quant.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "DEQUANTIZE: input has no quantization parameters");
  }
  if (in->shape.num_elements() != out->shape.num_elements()) {
    return ctx.fail(Status::kInvalidModel, "DEQUANTIZE: input and output element counts differ");
  }
  DequantizeParams* p = ctx.alloc_array<DequantizeParams>(1);
  if (p == nullptr) return ctx.fail(Status::kOutOfMemory, "DEQUANTIZE: no memory for parameters");
  p->num_elements = out->shape.num_elements();
  const double scale = static_cast<double>(in->quant.scale);
  for (int v = -128; v <= 127; ++v) {
    p->lut[static_cast<uint8_t>(v)] = static_cast<float>(scale * (v - in->quant.zero_point));
  }
  ctx.params = p;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status dequantize_eval(const EvalContext& ctx) {
  const DequantizeParams& p = *static_cast<const DequantizeParams*>(ctx.params);
  dequantize_range(p, static_cast<const int8_t*>(ctx.inputs[0]),
                   static_cast<float*>(ctx.outputs[0]), 0, p.num_elements);
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kQuantizeOp = {kBuiltinQuantize,
                                         builtin_op_name(kBuiltinQuantize),
                                         quantize_prepare,
                                         quantize_eval,
                                         "quantize",
                                         0,
                                         {}};
extern const OpDescriptor kDequantizeOp = {kBuiltinDequantize,
                                           builtin_op_name(kBuiltinDequantize),
                                           dequantize_prepare,
                                           dequantize_eval,
                                           "dequantize",
                                           0,
                                           {}};

}  // namespace tinyops
