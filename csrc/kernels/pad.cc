// PAD / PADV2: prepare, eval and the row-band kernel.
#include "kernels/pad.h"

#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

void pad_fill(const PadParams& p, void* out, int64_t count) {
  if (count <= 0) return;
  const int32_t es = p.elem_size;
  bool uniform = true;
  for (int32_t i = 1; i < es; ++i) uniform = uniform && p.pad_value[i] == p.pad_value[0];
  if (uniform) {
    std::memset(out, p.pad_value[0], static_cast<size_t>(count) * static_cast<size_t>(es));
    return;
  }
  uint8_t* o = static_cast<uint8_t*>(out);
  if (es == 4) {
    uint32_t v;
    std::memcpy(&v, p.pad_value, 4);
    for (int64_t i = 0; i < count; ++i) std::memcpy(o + 4 * i, &v, 4);
  } else {
    for (int64_t i = 0; i < count; ++i) std::memcpy(o + es * i, p.pad_value, es);
  }
}

void pad_rows(const PadParams& p, const InputBand& in, int32_t out_row_begin, int32_t out_row_end,
              int8_t* out) {
  const size_t es = static_cast<size_t>(p.elem_size);
  const int32_t in_w = p.in_dims[3], in_d = p.in_dims[4];
  const int32_t out_w = p.out_dims[3], out_d = p.out_dims[4];
  const size_t in_row_bytes = static_cast<size_t>(in_w) * in_d * es;
  const size_t out_row_elems = static_cast<size_t>(out_w) * out_d;
  const int32_t top = p.left[2], in_h = p.in_dims[2];
  const int32_t lw = p.left[3], rw = p.right[3], ld = p.left[4], rd = p.right[4];
  uint8_t* o = reinterpret_cast<uint8_t*>(out);
  for (int32_t y = out_row_begin; y < out_row_end; ++y) {
    const int32_t iy = y - top;
    if (iy < 0 || iy >= in_h) {
      pad_fill(p, o, static_cast<int64_t>(out_row_elems));
      o += out_row_elems * es;
      continue;
    }
    const uint8_t* src = reinterpret_cast<const uint8_t*>(in.data) +
                         static_cast<size_t>(iy - in.row_begin) * in_row_bytes;
    pad_fill(p, o, static_cast<int64_t>(lw) * out_d);
    o += static_cast<size_t>(lw) * out_d * es;
    if (ld == 0 && rd == 0) {
      std::memcpy(o, src, in_row_bytes);
      o += in_row_bytes;
    } else {
      const size_t px_bytes = static_cast<size_t>(in_d) * es;
      for (int32_t x = 0; x < in_w; ++x) {
        pad_fill(p, o, ld);
        o += static_cast<size_t>(ld) * es;
        std::memcpy(o, src, px_bytes);
        o += px_bytes;
        src += px_bytes;
        pad_fill(p, o, rd);
        o += static_cast<size_t>(rd) * es;
      }
    }
    pad_fill(p, o, static_cast<int64_t>(rw) * out_d);
    o += static_cast<size_t>(rw) * out_d * es;
  }
}

Status pad_prepare(PrepareContext& ctx) {
  const char* op = builtin_op_name(ctx.opcode);
  Status s = expect_io_counts(ctx, 2, 3, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* paddings = ctx.input(1);
  const TensorDesc* value = ctx.input(2);
  const TensorDesc* out = ctx.output(0);
  if (in->type != out->type) {
    return ctx.fail(Status::kInvalidModel, "%s: input type %d differs from output type %d", op,
                    static_cast<int>(in->type), static_cast<int>(out->type));
  }
  if (in->type != DType::kInt8 && in->type != DType::kInt32 && in->type != DType::kFloat32) {
    return ctx.fail(Status::kUnsupported, "%s: input type %d unsupported (int8, int32, float32)",
                    op, static_cast<int>(in->type));
  }
  const int32_t rank = in->shape.rank;
  if (rank > 5) {
    return ctx.fail(Status::kUnsupported, "%s: input rank %d unsupported (max 5, as TFLM)", op,
                    static_cast<int>(rank));
  }
  if (out->shape.rank != rank) {
    return ctx.fail(Status::kInvalidModel, "%s: output rank %d differs from input rank %d", op,
                    static_cast<int>(out->shape.rank), static_cast<int>(rank));
  }
  if (value != nullptr) {
    if (value->type != in->type) {
      return ctx.fail(Status::kInvalidModel, "%s: constant value type %d differs from input %d", op,
                      static_cast<int>(value->type), static_cast<int>(in->type));
    }
    if (value->shape.num_elements() != 1) {
      return ctx.fail(Status::kInvalidModel, "%s: constant value must have 1 element, has %lld", op,
                      static_cast<long long>(value->shape.num_elements()));
    }
  }
  if (paddings->type != DType::kInt32) {
    return ctx.fail(Status::kUnsupported, "%s: paddings must be int32, has type %d", op,
                    static_cast<int>(paddings->type));
  }
  if (!paddings->is_constant()) {
    return ctx.fail(Status::kUnsupported, "%s: non-constant paddings tensor is not supported", op);
  }
  if (paddings->shape.num_elements() != 2 * static_cast<int64_t>(rank) ||
      paddings->bytes < 8u * static_cast<uint32_t>(rank)) {
    return ctx.fail(Status::kInvalidModel, "%s: paddings must have %d values, has %lld", op,
                    static_cast<int>(2 * rank),
                    static_cast<long long>(paddings->shape.num_elements()));
  }
  PadParams p{};
  p.elem_size = static_cast<int32_t>(dtype_size(in->type));
  const int32_t lead = 5 - rank;
  for (int32_t d = 0; d < 5; ++d) {
    p.in_dims[d] = p.out_dims[d] = 1;
    p.left[d] = p.right[d] = 0;
  }
  for (int32_t d = 0; d < rank; ++d) {
    int32_t lr[2];
    std::memcpy(lr, static_cast<const uint8_t*>(paddings->const_data) + 8 * d, 8);
    if (lr[0] < 0 || lr[1] < 0) {
      return ctx.fail(Status::kInvalidModel, "%s: negative padding (%d, %d) on dim %d", op,
                      static_cast<int>(lr[0]), static_cast<int>(lr[1]), static_cast<int>(d));
    }
    const int64_t expected = static_cast<int64_t>(in->shape.dims[d]) + lr[0] + lr[1];
    if (out->shape.dims[d] != expected) {
      return ctx.fail(Status::kInvalidModel,
                      "%s: output dim %d is %d, input %d + paddings %d + %d = %lld", op,
                      static_cast<int>(d), static_cast<int>(out->shape.dims[d]),
                      static_cast<int>(in->shape.dims[d]), static_cast<int>(lr[0]),
                      static_cast<int>(lr[1]), static_cast<long long>(expected));
    }
    p.in_dims[lead + d] = in->shape.dims[d];
    p.out_dims[lead + d] = out->shape.dims[d];
    p.left[lead + d] = lr[0];
    p.right[lead + d] = lr[1];
  }
  if (in->type == DType::kInt8) {
    if (value == nullptr) {
      const int32_t zp = out->quant.zero_point;
      if (zp < -128 || zp > 127) {
        return ctx.fail(Status::kInvalidModel, "%s: output zero point %d outside int8", op,
                        static_cast<int>(zp));
      }
      p.pad_value[0] = static_cast<uint8_t>(static_cast<int8_t>(zp));
    } else if (value->quant.zero_point != out->quant.zero_point ||
               static_cast<double>(value->quant.scale) != static_cast<double>(out->quant.scale)) {
      return ctx.fail(
          Status::kInvalidModel,
          "%s: constant value quantization (scale %g, zero point %d) differs from "
          "the output's (scale %g, zero point %d)",
          op, static_cast<double>(value->quant.scale), static_cast<int>(value->quant.zero_point),
          static_cast<double>(out->quant.scale), static_cast<int>(out->quant.zero_point));
    }
  }
  if (value != nullptr) {
    if (value->is_constant() && value->bytes >= static_cast<uint32_t>(p.elem_size)) {
      std::memcpy(p.pad_value, value->const_data, static_cast<size_t>(p.elem_size));
    } else {
      p.pad_value_input = 1;
    }
  }
  auto* stored = ctx.alloc_array<PadParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status pad_eval(const EvalContext& ctx) {
  PadParams p = *static_cast<const PadParams*>(ctx.params);
  if (p.pad_value_input) std::memcpy(p.pad_value, ctx.inputs[2], static_cast<size_t>(p.elem_size));
  const uint8_t* in = static_cast<const uint8_t*>(ctx.inputs[0]);
  uint8_t* out = static_cast<uint8_t*>(ctx.outputs[0]);
  const size_t es = static_cast<size_t>(p.elem_size);
  const size_t in_image = static_cast<size_t>(p.in_dims[2]) * p.in_dims[3] * p.in_dims[4] * es;
  const int64_t out_image_elems =
      static_cast<int64_t>(p.out_dims[2]) * p.out_dims[3] * p.out_dims[4];
  const size_t out_image = static_cast<size_t>(out_image_elems) * es;
  for (int32_t b = 0; b < p.out_dims[0]; ++b) {
    for (int32_t pl = 0; pl < p.out_dims[1]; ++pl) {
      uint8_t* dst = out + (static_cast<size_t>(b) * p.out_dims[1] + pl) * out_image;
      const int32_t ib = b - p.left[0], ip = pl - p.left[1];
      if (ib < 0 || ib >= p.in_dims[0] || ip < 0 || ip >= p.in_dims[1]) {
        pad_fill(p, dst, out_image_elems);
        continue;
      }
      const InputBand band{reinterpret_cast<const int8_t*>(
                               in + (static_cast<size_t>(ib) * p.in_dims[1] + ip) * in_image),
                           0, p.in_dims[2]};
      pad_rows(p, band, 0, p.out_dims[2], reinterpret_cast<int8_t*>(dst));
    }
  }
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kPadOp = {
    kBuiltinPad, builtin_op_name(kBuiltinPad), pad_prepare, pad_eval, "pad", kServedInTflm, {}};
extern const OpDescriptor kPadV2Op = {
    kBuiltinPadv2, builtin_op_name(kBuiltinPadv2), pad_prepare, pad_eval, "padv2", 0, {}};

}  // namespace tinyops
