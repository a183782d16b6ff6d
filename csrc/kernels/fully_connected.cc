// FULLY_CONNECTED (int8): prepare, eval and the tile entry points.
//
// Fast path: sum_d (w + wo) * (x + xo) = sum w*x + xo * sum w + wo * sum x + K*wo*xo
// (mod 2^32), so the core is a pure int8 GEMM/GEMV plus a per-unit effective bias
// (and, only for a nonzero weight zero point, a per-batch term).
#include "fully_connected.h"

#include <cmath>
#include <cstring>

#include "kernels/conv_prepare.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/requant.h"

namespace tinyops {

using namespace conv_detail;

namespace {

constexpr int32_t kBatchChunk = 64;

}  // namespace

uint32_t fully_connected_tile_scratch_size(const FullyConnectedParams& p, int32_t batches,
                                           int32_t channels) {
  (void)batches;
  if (p.path == kFullyConnectedPathReference) return 0;
  if (channels < 1) channels = 1;
  return gemm_scratch_bytes(p.accum_depth, channels) +
         align16(static_cast<uint32_t>(channels) * 4u);
}

void fully_connected_tile_reference(const FullyConnectedParams& p, const int8_t* input,
                                    const int8_t* filter, const int32_t* bias, int8_t* output,
                                    int32_t output_row_stride, int32_t ch_begin, int32_t ch_end,
                                    int32_t batch_begin, int32_t batch_end) {
  const int32_t K = p.accum_depth;
  for (int32_t b = batch_begin; b < batch_end; ++b) {
    const int8_t* x = input + static_cast<ptrdiff_t>(b - batch_begin) * K;
    for (int32_t c = ch_begin; c < ch_end; ++c) {
      const int8_t* w = filter + static_cast<ptrdiff_t>(c - ch_begin) * K;
      uint32_t acc = 0;
      for (int32_t d = 0; d < K; ++d) {
        const uint32_t wv = static_cast<uint32_t>(static_cast<int32_t>(w[d]) + p.filter_offset);
        const uint32_t xv = static_cast<uint32_t>(static_cast<int32_t>(x[d]) + p.input_offset);
        acc += wv * xv;
      }
      output[static_cast<ptrdiff_t>(b - batch_begin) * output_row_stride + (c - ch_begin)] =
          reference_output(p, c, acc, bias);
    }
  }
}

void fully_connected_tile(const FullyConnectedParams& p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, int8_t* output, int32_t output_row_stride,
                          int32_t ch_begin, int32_t ch_end, int32_t batch_begin, int32_t batch_end,
                          void* scratch) {
  if (ch_begin >= ch_end || batch_begin >= batch_end) return;
  if (p.path == kFullyConnectedPathReference) {
    fully_connected_tile_reference(p, input, filter, bias, output, output_row_stride, ch_begin,
                                   ch_end, batch_begin, batch_end);
    return;
  }
  const int32_t K = p.accum_depth, n = ch_end - ch_begin;
  ScratchCursor sc{static_cast<uint8_t*>(scratch)};
  const GemmScratch gs = take_gemm_scratch(sc, K, n);
  int32_t* bias_b = sc.take<int32_t>(static_cast<size_t>(n));
  const GemmWeights gw = gemm_weights(filter, K, ch_begin, n, gs.wbuf, p.packed_filter);
  int32_t* bias_eff = gs.bias_eff;

  // bias + xo * sum(w) + K * wo * xo; the GEMM backend's input shift only
  // affects the sum(w) term (it computes sum w * (x - shift)).
  const int32_t xo = p.input_offset + gemm_input_shift(gw);
  const int32_t kwx = wrap_mul(wrap_mul(K, p.filter_offset), p.input_offset);
  if (p.filter_sum && bias) {
    // The common case in a loop of its own: it runs for every channel of
    // every invoke, which a 1-pixel layer notices.
    const int32_t* fs = p.filter_sum + ch_begin;
    const int32_t* b = bias + ch_begin;
    for (int32_t i = 0; i < n; ++i)
      bias_eff[i] = wrap_add(wrap_add(b[i], wrap_mul(xo, fs[i])), kwx);
  } else {
    for (int32_t c = ch_begin; c < ch_end; ++c) {
      int32_t wsum;
      if (p.filter_sum) {
        wsum = p.filter_sum[c];
      } else {
        wsum = 0;
        const int8_t* w = filter + static_cast<ptrdiff_t>(c - ch_begin) * K;
        for (int32_t d = 0; d < K; ++d) wsum += w[d];
      }
      bias_eff[c - ch_begin] = wrap_add(wrap_add(bias ? bias[c] : 0, wrap_mul(xo, wsum)), kwx);
    }
  }
  const Requant rq = requant_of(p);

  if (p.filter_offset == 0) {
    const int8_t* xs[kBatchChunk];
    int8_t* outs[kBatchChunk];
    for (int32_t b0 = batch_begin; b0 < batch_end; b0 += kBatchChunk) {
      const int32_t nb = batch_end - b0 < kBatchChunk ? batch_end - b0 : kBatchChunk;
      for (int32_t i = 0; i < nb; ++i) {
        xs[i] = input + static_cast<ptrdiff_t>(b0 + i - batch_begin) * K;
        outs[i] = output + static_cast<ptrdiff_t>(b0 + i - batch_begin) * output_row_stride;
      }
      gemm_requant(xs, nb, gw, bias_eff, rq, ch_begin, outs, gs);
    }
    return;
  }
  // Nonzero weight zero point: add wo * sum(x) per batch.
  for (int32_t b = batch_begin; b < batch_end; ++b) {
    const int8_t* x = input + static_cast<ptrdiff_t>(b - batch_begin) * K;
    int32_t xsum = 0;
    for (int32_t d = 0; d < K; ++d) xsum += x[d];
    const int32_t term = wrap_mul(p.filter_offset, xsum);
    for (int32_t i = 0; i < n; ++i) bias_b[i] = wrap_add(bias_eff[i], term);
    int8_t* o = output + static_cast<ptrdiff_t>(b - batch_begin) * output_row_stride;
    gemm_requant(&x, 1, gw, bias_b, rq, ch_begin, &o, gs);
  }
}

Status fully_connected_prepare(PrepareContext& ctx) {
  WindowTensors t;
  Status s = weighted_op_tensors(ctx, "FULLY_CONNECTED", &t);
  if (s != Status::kOk) return s;
  const TensorDesc *input = t.input, *filter = t.filter, *bias = t.bias, *output = t.output;
  const OpOptions& opt = *ctx.options;
  if ((s = weighted_op_types(ctx, "FULLY_CONNECTED", t)) != Status::kOk) return s;
  if (filter->shape.rank != 2) {
    return ctx.fail(Status::kInvalidModel, "FULLY_CONNECTED: filter must be 2D, is %dD",
                    static_cast<int>(filter->shape.rank));
  }
  if (output->shape.rank < 1 || input->shape.rank < 1) {
    return ctx.fail(Status::kInvalidModel, "FULLY_CONNECTED: input and output need rank >= 1");
  }
  if (!dims_positive(input) || !dims_positive(filter) || !dims_positive(output)) {
    return ctx.fail(Status::kUnsupported, "FULLY_CONNECTED: empty tensors are not supported");
  }
  const int32_t units = filter->shape.dims[0], depth = filter->shape.dims[1];
  const int32_t out_units = output->shape.dims[output->shape.rank - 1];
  if (out_units != units) {
    return ctx.fail(Status::kInvalidModel,
                    "FULLY_CONNECTED: output last dimension is %d, filter has %d units",
                    static_cast<int>(out_units), static_cast<int>(units));
  }
  const int64_t out_elems = output->shape.num_elements();
  const int64_t batches = out_elems / units;
  if (batches * depth != input->shape.num_elements() || batches > (int64_t{1} << 30)) {
    return ctx.fail(Status::kInvalidModel,
                    "FULLY_CONNECTED: input has %lld elements, expected %lld batches x %d",
                    static_cast<long long>(input->shape.num_elements()),
                    static_cast<long long>(batches), static_cast<int>(depth));
  }
  if (bias && bias->shape.num_elements() != units) {
    return ctx.fail(Status::kInvalidModel, "FULLY_CONNECTED: bias has %lld elements, expected %d",
                    static_cast<long long>(bias->shape.num_elements()), static_cast<int>(units));
  }
  if ((s = check_activation_quant(ctx, input, "FULLY_CONNECTED input")) != Status::kOk) return s;
  if ((s = check_activation_quant(ctx, output, "FULLY_CONNECTED output")) != Status::kOk) return s;
  const QuantInfo& fq = filter->quant;
  if (fq.num_scales < 1) {
    return ctx.fail(Status::kInvalidModel, "FULLY_CONNECTED: filter must be quantized");
  }
  const bool per_channel = fq.num_scales > 1;
  if (per_channel) {
    if (fq.quantized_dimension < 0 || fq.quantized_dimension >= 2 ||
        filter->shape.dims[fq.quantized_dimension] != fq.num_scales) {
      return ctx.fail(Status::kInvalidModel,
                      "FULLY_CONNECTED: filter quantized_dimension %d does not have %d entries",
                      static_cast<int>(fq.quantized_dimension), static_cast<int>(fq.num_scales));
    }
    if (fq.quantized_dimension != 0) {
      return ctx.fail(Status::kUnsupported,
                      "FULLY_CONNECTED: per-channel weights must be quantized along dimension "
                      "0 (units), not %d",
                      static_cast<int>(fq.quantized_dimension));
    }
  }

  FullyConnectedParams* p = ctx.alloc_array<FullyConnectedParams>(1);
  int32_t* arrays = ctx.alloc_array<int32_t>(static_cast<size_t>(units) * 5);
  if (p == nullptr || arrays == nullptr) {
    return ctx.fail(Status::kOutOfMemory, "FULLY_CONNECTED: out of persistent memory");
  }
  std::memset(p, 0, sizeof(*p));
  int32_t* mult = arrays;
  int32_t* shift = arrays + units;
  int32_t* lsh = arrays + 2 * static_cast<size_t>(units);
  int32_t* rsh = arrays + 3 * static_cast<size_t>(units);
  int32_t* fsum = arrays + 4 * static_cast<size_t>(units);
  p->batches = static_cast<int32_t>(batches);
  p->accum_depth = depth;
  p->units = units;
  p->input_offset = -input->quant.zero_point;
  p->output_offset = output->quant.zero_point;
  p->per_channel = per_channel ? 1 : 0;
  if (per_channel) {
    // FullyConnectedPerChannel ignores the weight zero points.
    p->filter_offset = 0;
    if ((s = per_channel_multipliers(ctx, input->quant.scale, fq, output->quant.scale, units, true,
                                     mult, shift, lsh, rsh)) != Status::kOk)
      return s;
  } else {
    const float fscale = fq.scales ? fq.scales[0] : fq.scale;
    if (!(fscale >= 0.0f) || !(fscale < 3.0e38f)) {
      return ctx.fail(Status::kUnsupported,
                      "FULLY_CONNECTED: filter scale must be non-negative and finite, is %g",
                      static_cast<double>(fscale));
    }
    if (bias) {
      // TFLM GetQuantizedConvolutionMultipler: bias scale must match
      // input_scale * filter_scale within 2% of the output scale.
      const double product = static_cast<double>(input->quant.scale) * static_cast<double>(fscale);
      const double diff = std::fabs(product - static_cast<double>(bias->quant.scale));
      if (!(diff / static_cast<double>(output->quant.scale) <= 0.02)) {
        return ctx.fail(Status::kInvalidModel,
                        "FULLY_CONNECTED: bias scale %g differs from input*filter scale %g by "
                        "more than 2%% of the output scale",
                        static_cast<double>(bias->quant.scale), product);
      }
    }
    // Note: TFLM multiplies the two float scales in float here.
    const double product = static_cast<double>(input->quant.scale * fscale);
    const double real = product / static_cast<double>(output->quant.scale);
    int32_t q = 0;
    int sh = 0;
    if (!quantize_multiplier(real, &q, &sh) || sh > 31) {
      return ctx.fail(Status::kUnsupported,
                      "FULLY_CONNECTED: effective scale %g is not representable", real);
    }
    const int64_t fo = -static_cast<int64_t>(fq.zero_point);
    if (fo < -255 || fo > 255) {
      return ctx.fail(Status::kInvalidModel, "FULLY_CONNECTED: filter zero point %d out of range",
                      static_cast<int>(fq.zero_point));
    }
    p->filter_offset = static_cast<int32_t>(fo);
    for (int32_t c = 0; c < units; ++c) {
      mult[c] = q;
      shift[c] = sh;
      lsh[c] = sh > 0 ? sh : 0;
      rsh[c] = sh > 0 ? 0 : -sh;
    }
  }
  p->multiplier = mult;
  p->shift = shift;
  p->left_shift = lsh;
  p->right_shift = rsh;
  if (!activation_range_quantized(opt.activation, DType::kInt8, output->quant.scale,
                                  output->quant.zero_point, &p->act_min, &p->act_max)) {
    return ctx.fail(Status::kUnsupported, "FULLY_CONNECTED: fused activation %d is not supported",
                    static_cast<int>(opt.activation));
  }
  p->path = depth > kMaxFastDepth ? kFullyConnectedPathReference : kFullyConnectedPathGemm;
  if (filter->is_constant() && p->path != kFullyConnectedPathReference) {
    const int8_t* w = static_cast<const int8_t*>(filter->const_data);
    for (int32_t c = 0; c < units; ++c) {
      int32_t sum = 0;
      const int8_t* row = w + static_cast<ptrdiff_t>(c) * depth;
      for (int32_t d = 0; d < depth; ++d) sum += row[d];
      fsum[c] = sum;
    }
    p->filter_sum = fsum;
    const uint32_t packed_bytes = gemm_prepack_bytes(depth, units);
    if (packed_bytes) {
      int8_t* packed = ctx.alloc_array<int8_t>(packed_bytes);
      if (packed == nullptr) {
        return ctx.fail(Status::kOutOfMemory, "FULLY_CONNECTED: out of persistent memory");
      }
      gemm_prepack(w, depth, units, packed);
      p->packed_filter = packed;
    }
  }
  p->has_bias = bias != nullptr ? 1 : 0;
  ctx.params = p;
  ctx.scratch_bytes = fully_connected_tile_scratch_size(*p, p->batches, units);
  return Status::kOk;
}

Status fully_connected_eval(const EvalContext& ctx) {
  const FullyConnectedParams& p = *static_cast<const FullyConnectedParams*>(ctx.params);
  fully_connected_tile(
      p, static_cast<const int8_t*>(ctx.inputs[0]), static_cast<const int8_t*>(ctx.inputs[1]),
      p.has_bias ? static_cast<const int32_t*>(ctx.inputs[2]) : nullptr,
      static_cast<int8_t*>(ctx.outputs[0]), p.units, 0, p.units, 0, p.batches, ctx.scratch);
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h).
namespace {
const FullyConnectedParams& fc_params(const void* p) {
  return *static_cast<const FullyConnectedParams*>(p);
}
void fc_geometry(const void* params, TileGeometry* g) {
  const FullyConnectedParams& p = fc_params(params);
  *g = TileGeometry{p.batches,
                    1,
                    1,
                    p.accum_depth,
                    1,
                    1,
                    p.units,
                    1,
                    1,
                    1,
                    p.accum_depth,
                    uint64_t(p.batches) * p.units * uint64_t(p.accum_depth)};
}
uint32_t fc_scratch(const void* params, int32_t batches, int32_t channels) {
  return fully_connected_tile_scratch_size(fc_params(params), batches, channels);
}
void fc_channels(const void* params, const int8_t* input, const int8_t* filter, const int32_t* bias,
                 int8_t* out, int32_t out_stride, int32_t c0, int32_t c1, int32_t b0, int32_t b1,
                 void* scratch) {
  fully_connected_tile(fc_params(params), input, filter, bias, out, out_stride, c0, c1, b0, b1,
                       scratch);
}
}  // namespace

extern const OpDescriptor kFullyConnectedOp = {
    kBuiltinFullyConnected,
    builtin_op_name(kBuiltinFullyConnected),
    fully_connected_prepare,
    fully_connected_eval,
    "fully_connected",
    served_in_tflm(TflmOptions::kFullyConnected),
    {fixed_family<OpFamily::kFullyConnected>, fc_geometry, nullptr, fc_scratch, nullptr, nullptr,
     nullptr, nullptr, nullptr, nullptr, fc_channels, nullptr}};

}  // namespace tinyops
