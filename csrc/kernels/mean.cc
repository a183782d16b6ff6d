// MEAN (int8): prepare, eval and the band API. See mean.h for the numerics.
#include "kernels/mean.h"

#include <cstring>

#include "kernels/kernels.h"
#include "kernels/quant.h"

namespace tinyops {

namespace {

inline int8_t requantize_mean(const MeanParams& p, int32_t sum) {
  // TFLM subtracts input_zp * n in 64 bits and narrows the result to int32.
  const int32_t centered = static_cast<int32_t>(
      static_cast<int64_t>(sum) - static_cast<int64_t>(p.input_zp) * static_cast<int64_t>(p.n));
  int32_t v = multiply_by_quantized_multiplier(centered, p.multiplier, p.shift) + p.output_zp;
  v = v < -128 ? -128 : (v > 127 ? 127 : v);
  return static_cast<int8_t>(v);
}

int floor_log2_u64(uint64_t v) {
  int r = -1;
  while (v) {
    v >>= 1;
    ++r;
  }
  return r;
}

}  // namespace

void mean_hw_accumulate(const MeanParams& p, const int8_t* rows, int32_t num_rows, int32_t* acc) {
  const int32_t C = p.channels;
  const int64_t pixels = static_cast<int64_t>(num_rows) * p.width;
  int32_t* __restrict a = acc;
  const int8_t* px = rows;
  for (int64_t i = 0; i < pixels; ++i, px += C) {
    const int8_t* __restrict x = px;
    for (int32_t c = 0; c < C; ++c) a[c] += x[c];
  }
}

void mean_hw_finish(const MeanParams& p, const int32_t* acc, int8_t* out) {
  for (int32_t c = 0; c < p.channels; ++c) out[c] = requantize_mean(p, acc[c]);
}

Status mean_prepare(PrepareContext& ctx) {
  Status s = expect_io_counts(ctx, 2, 2, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* axes = ctx.input(1);
  const TensorDesc* out = ctx.output(0);
  if (axes->type != DType::kInt32) {
    return ctx.fail(Status::kInvalidModel, "MEAN: axis tensor must be int32, has type %d",
                    static_cast<int>(axes->type));
  }
  if (in->type != DType::kInt8) {
    return ctx.fail(Status::kUnsupported, "MEAN: input type %d unsupported (only int8)",
                    static_cast<int>(in->type));
  }
  if ((s = expect_type(ctx, out, DType::kInt8, "MEAN output")) != Status::kOk) return s;
  const int32_t rank = in->shape.rank;
  if (rank < 0 || rank > 6) {
    return ctx.fail(Status::kUnsupported, "MEAN: input rank %d unsupported (max 6)",
                    static_cast<int>(rank));
  }
  const int64_t num_axes = axes->shape.num_elements();
  if (num_axes > 0 && !axes->is_constant()) {
    return ctx.fail(Status::kUnsupported, "MEAN: non-constant axis tensor is not supported");
  }
  if (num_axes < 0 || static_cast<uint64_t>(num_axes) * 4u > axes->bytes) {
    return ctx.fail(Status::kInvalidModel, "MEAN: axis tensor holds %lld values in %u bytes",
                    static_cast<long long>(num_axes), static_cast<unsigned>(axes->bytes));
  }
  // Resolve axes as TFLM's ResolveAxis: wrap negatives, drop duplicates.
  uint8_t reduced[6] = {0, 0, 0, 0, 0, 0};
  int32_t num_resolved = 0;
  if (rank > 0) {
    for (int64_t i = 0; i < num_axes; ++i) {
      int32_t a;
      std::memcpy(&a, static_cast<const uint8_t*>(axes->const_data) + 4 * i, 4);
      const int32_t r = a < 0 ? a + rank : a;
      if (r < 0 || r >= rank) {
        return ctx.fail(Status::kInvalidModel, "MEAN: axis %d out of range for a %d-D input",
                        static_cast<int>(a), static_cast<int>(rank));
      }
      if (!reduced[r]) ++num_resolved;
      reduced[r] = 1;
    }
  }

  MeanParams p{};
  int64_t n = 1, num_outputs = 1;
  bool empty = false;
  for (int32_t d = 0; d < rank; ++d) {
    const int32_t dim = in->shape.dims[d];
    if (dim < 0) return ctx.fail(Status::kInvalidModel, "MEAN: negative input dim");
    if (dim == 0) empty = true;
    if (reduced[d]) n *= dim;
    else num_outputs *= dim;
  }
  if (n > (int64_t{1} << 23)) {
    return ctx.fail(Status::kUnsupported, "MEAN: %lld elements per output is too many",
                    static_cast<long long>(n));
  }
  if (out->shape.num_elements() != num_outputs) {
    return ctx.fail(
        Status::kInvalidModel, "MEAN: output has %lld elements, reducing the input leaves %lld",
        static_cast<long long>(out->shape.num_elements()), static_cast<long long>(num_outputs));
  }
  p.empty_input = empty ? 1 : 0;
  p.num_outputs = static_cast<int32_t>(num_outputs);
  p.n = static_cast<int32_t>(n);
  p.input_zp = in->quant.zero_point;
  p.output_zp = out->quant.zero_point;

  int32_t mult = 0;
  int shift = 0;
  const double real = static_cast<double>(in->quant.scale) / static_cast<double>(out->quant.scale);
  if (!(out->quant.scale > 0.0f) || !quantize_multiplier(real, &mult, &shift)) {
    return ctx.fail(Status::kInvalidModel, "MEAN: bad scales (input %g, output %g)",
                    static_cast<double>(in->quant.scale), static_cast<double>(out->quant.scale));
  }
  if (n > 0) {
    int k = floor_log2_u64(static_cast<uint64_t>(n));
    if (k > 32) k = 32;
    if (k > 31 + shift) k = 31 + shift;
    mult = static_cast<int32_t>((static_cast<int64_t>(mult) << k) / n);
    shift -= k;
  }
  if (shift > 31) {  // a left shift past the word: the scales are absurd, not a mean
    return ctx.fail(Status::kInvalidModel,
                    "MEAN: input scale %g / output scale %g needs a left shift of %d (> 31)",
                    static_cast<double>(in->quant.scale), static_cast<double>(out->quant.scale),
                    shift);
  }
  p.multiplier = mult;
  p.shift = shift;

  // Merge adjacent dims of the same kind for the general path.
  int32_t mr = 0;
  int32_t mdims[6];
  uint8_t mred[6];
  for (int32_t d = 0; d < rank; ++d) {
    if (mr > 0 && mred[mr - 1] == reduced[d]) {
      mdims[mr - 1] *= in->shape.dims[d];
    } else {
      mdims[mr] = in->shape.dims[d];
      mred[mr] = reduced[d];
      ++mr;
    }
  }
  if (mr == 0) {
    mdims[0] = 1;
    mred[0] = 0;
    mr = 1;
  }
  int64_t stride = 1;
  for (int32_t d = mr - 1; d >= 0; --d) {
    p.dims[d] = mdims[d];
    p.out_stride[d] = mred[d] ? 0 : static_cast<int32_t>(stride);
    if (!mred[d]) stride *= mdims[d];
  }
  p.rank = mr;

  if (rank == 4 && num_resolved == 2 && reduced[1] && reduced[2]) {
    p.hw_path = 1;
    p.batches = in->shape.dims[0];
    p.height = in->shape.dims[1];
    p.width = in->shape.dims[2];
    p.channels = in->shape.dims[3];
  }

  auto* stored = ctx.alloc_array<MeanParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "MEAN: no memory for params");
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = mean_scratch_size(p);
  return Status::kOk;
}

Status mean_eval(const EvalContext& ctx) {
  const MeanParams& p = *static_cast<const MeanParams*>(ctx.params);
  const int8_t* in = static_cast<const int8_t*>(ctx.inputs[0]);
  int8_t* out = static_cast<int8_t*>(ctx.outputs[0]);
  if (p.empty_input) {
    std::memset(out, 0, static_cast<size_t>(p.num_outputs));
    return Status::kOk;
  }
  int32_t* acc = static_cast<int32_t*>(ctx.scratch);
  std::memset(acc, 0, sizeof(int32_t) * static_cast<size_t>(p.num_outputs));
  if (p.hw_path) {
    const int64_t image = static_cast<int64_t>(p.height) * p.width * p.channels;
    for (int32_t b = 0; b < p.batches; ++b) {
      int32_t* a = acc + static_cast<int64_t>(b) * p.channels;
      mean_hw_accumulate(p, in + b * image, p.height, a);
      mean_hw_finish(p, a, out + static_cast<int64_t>(b) * p.channels);
    }
    return Status::kOk;
  }

  // General path: odometer over all merged dims but the last.
  const int32_t last = p.rank - 1;
  const int32_t inner = p.dims[last];
  const bool inner_reduced = p.out_stride[last] == 0;
  int32_t idx[6] = {0, 0, 0, 0, 0, 0};
  int64_t outer = 1;
  for (int32_t d = 0; d < last; ++d) outer *= p.dims[d];
  const int8_t* src = in;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t base = 0;
    for (int32_t d = 0; d < last; ++d) base += static_cast<int64_t>(idx[d]) * p.out_stride[d];
    if (inner_reduced) {
      int32_t s = 0;
      const int8_t* __restrict x = src;
      for (int32_t i = 0; i < inner; ++i) s += x[i];
      acc[base] += s;
    } else {
      int32_t* __restrict a = acc + base;
      const int8_t* __restrict x = src;
      for (int32_t i = 0; i < inner; ++i) a[i] += x[i];
    }
    src += inner;
    for (int32_t d = last - 1; d >= 0; --d) {
      if (++idx[d] < p.dims[d]) break;
      idx[d] = 0;
    }
  }
  for (int32_t i = 0; i < p.num_outputs; ++i) out[i] = requantize_mean(p, acc[i]);
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
const MeanParams& mean_params(const void* p) { return *static_cast<const MeanParams*>(p); }
// Only the H, W mean of a 4-D tensor accumulates band by band.
OpFamily mean_family(const void* params) {
  return mean_params(params).hw_path ? OpFamily::kMeanRows : OpFamily::kOther;
}
void mean_geometry(const void* params, TileGeometry* g) {
  const MeanParams& p = mean_params(params);
  *g = TileGeometry{p.batches, p.height, p.width, p.channels, 1, 1, p.channels, 1, 1, 1, 0, 0};
}
void mean_accumulate(const void* params, const int8_t* rows, int32_t num_rows, int32_t* acc) {
  mean_hw_accumulate(mean_params(params), rows, num_rows, acc);
}
void mean_finish(const void* params, const int32_t* acc, int8_t* out) {
  mean_hw_finish(mean_params(params), acc, out);
}
}  // namespace

extern const OpDescriptor kMeanOp = {
    kBuiltinMean,
    builtin_op_name(kBuiltinMean),
    mean_prepare,
    mean_eval,
    "mean",
    served_in_tflm(TflmOptions::kReducer),
    {mean_family, mean_geometry, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
     mean_accumulate, mean_finish, nullptr, nullptr}};

}  // namespace tinyops
