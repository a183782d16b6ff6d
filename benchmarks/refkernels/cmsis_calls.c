/* Kernel layer of the cost harness against a user's CMSIS-NN checkout: each
 * shape is called the way TFLM's CMSIS-NN port (tensorflow/lite/micro/kernels/
 * cmsis_nn) calls the library for int8 models -- the conv / depthwise
 * wrappers (which pick arm_convolve_1x1_s8_fast, arm_convolve_1x1_s8,
 * arm_convolve_s8, arm_depthwise_conv_3x3_s8, arm_depthwise_conv_s8_opt or
 * arm_depthwise_conv_s8 for the shape), arm_fully_connected_s8,
 * arm_elementwise_add_s8 / arm_elementwise_mul_s8 (same-shape operands) and
 * arm_avgpool_s8 -- with the scratch buffer the library asks for.
 * Written against the public API in arm_nnfunctions.h; builds against
 * CMSIS-NN v3 (CMSIS_5, 2021-22) to current releases. */
#include <string.h>

#include "arm_nnfunctions.h"
#include "bench.h"

static cmsis_nn_dims dims(int32_t n, int32_t h, int32_t w, int32_t c) {
  cmsis_nn_dims d;
  d.n = n;
  d.h = h;
  d.w = w;
  d.c = c;
  return d;
}

/* Typical TFLM operand values: zero points, ReLU6-like clamp. */
enum { IN_OFFSET = 128, OUT_OFFSET = -128, ACT_MIN = -128, ACT_MAX = 127 };

static cmsis_nn_conv_params conv_params(const bench_shape* s) {
  cmsis_nn_conv_params p;
  memset(&p, 0, sizeof(p));
  p.input_offset = IN_OFFSET;
  p.output_offset = OUT_OFFSET;
  p.stride.h = s->sh;
  p.stride.w = s->sw;
  p.padding.h = s->ph;
  p.padding.w = s->pw;
  p.dilation.h = 1;
  p.dilation.w = 1;
  p.activation.min = ACT_MIN;
  p.activation.max = ACT_MAX;
  return p;
}

static cmsis_nn_dw_conv_params dw_params(const bench_shape* s) {
  cmsis_nn_dw_conv_params p;
  memset(&p, 0, sizeof(p));
  p.input_offset = IN_OFFSET;
  p.output_offset = OUT_OFFSET;
  p.ch_mult = 1;
  p.stride.h = s->sh;
  p.stride.w = s->sw;
  p.padding.h = s->ph;
  p.padding.w = s->pw;
  p.dilation.h = 1;
  p.dilation.w = 1;
  p.activation.min = ACT_MIN;
  p.activation.max = ACT_MAX;
  return p;
}

int32_t bench_scratch_bytes(const bench_shape* s) {
  cmsis_nn_dims in = dims(1, s->ih, s->iw, s->ic);
  cmsis_nn_dims out = dims(1, s->oh, s->ow, s->oc);
  switch (s->kind) {
    case BENCH_CONV: {
      cmsis_nn_conv_params p = conv_params(s);
      cmsis_nn_dims f = dims(s->oc, s->kh, s->kw, s->ic);
      return arm_convolve_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
    }
    case BENCH_DW: {
      cmsis_nn_dw_conv_params p = dw_params(s);
      cmsis_nn_dims f = dims(1, s->kh, s->kw, s->oc);
      return arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
    }
    case BENCH_FC: {
      cmsis_nn_dims f = dims(s->ic, 1, 1, s->oc);
      return arm_fully_connected_s8_get_buffer_size(&f);
    }
    case BENCH_AVGPOOL: return arm_avgpool_s8_get_buffer_size(s->ow, s->ic);
    default: return 0;
  }
}

int32_t bench_run(uint32_t index, const bench_shape* s, const bench_buffers* b) {
  cmsis_nn_context ctx;
  ctx.buf = b->scratch;
  ctx.size = b->scratch_bytes;
  cmsis_nn_dims in = dims(1, s->ih, s->iw, s->ic);
  cmsis_nn_dims out = dims(1, s->oh, s->ow, s->oc);
  cmsis_nn_dims bias = dims(1, 1, 1, s->oc);
  cmsis_nn_per_channel_quant_params pc;
  pc.multiplier = b->mult;
  pc.shift = b->shift;
  arm_cmsis_nn_status st = ARM_CMSIS_NN_ARG_ERROR;
  const uint32_t n = (uint32_t)s->ih * s->iw * s->ic;

  switch (s->kind) {
    case BENCH_CONV: {
      cmsis_nn_conv_params p = conv_params(s);
      cmsis_nn_dims f = dims(s->oc, s->kh, s->kw, s->ic);
      tinyops_op_marker(2 * index);
      st = arm_convolve_wrapper_s8(&ctx, &p, &pc, &in, b->in, &f, b->filter, &bias, b->bias, &out,
                                   b->out);
      tinyops_op_marker(2 * index + 1);
      break;
    }
    case BENCH_DW: {
      cmsis_nn_dw_conv_params p = dw_params(s);
      cmsis_nn_dims f = dims(1, s->kh, s->kw, s->oc);
      tinyops_op_marker(2 * index);
      st = arm_depthwise_conv_wrapper_s8(&ctx, &p, &pc, &in, b->in, &f, b->filter, &bias, b->bias,
                                         &out, b->out);
      tinyops_op_marker(2 * index + 1);
      break;
    }
    case BENCH_FC: {
      cmsis_nn_fc_params p;
      memset(&p, 0, sizeof(p));
      p.input_offset = IN_OFFSET;
      p.output_offset = OUT_OFFSET;
      p.activation.min = ACT_MIN;
      p.activation.max = ACT_MAX;
      cmsis_nn_per_tensor_quant_params pt;
      pt.multiplier = b->mult[0];
      pt.shift = b->shift[0];
      cmsis_nn_dims fin = dims(1, 1, 1, s->ic);
      cmsis_nn_dims f = dims(s->ic, 1, 1, s->oc);
      cmsis_nn_dims fout = dims(1, 1, 1, s->oc);
      tinyops_op_marker(2 * index);
      st = arm_fully_connected_s8(&ctx, &p, &pt, &fin, b->in, &f, b->filter, &bias, b->bias, &fout,
                                  b->out);
      tinyops_op_marker(2 * index + 1);
      break;
    }
    case BENCH_ADD:
      /* TFLM's quantized ADD parameters: left shift 20, input multipliers
       * in [2^30, 2^31) with small right shifts. */
      tinyops_op_marker(2 * index);
      st = arm_elementwise_add_s8(b->in, b->in2, IN_OFFSET, 1518500250, -1, IN_OFFSET, 1340000000,
                                  -1, 20, b->out, OUT_OFFSET, 1610612736, -19, ACT_MIN, ACT_MAX,
                                  (int32_t)n);
      tinyops_op_marker(2 * index + 1);
      break;
    case BENCH_MUL:
      tinyops_op_marker(2 * index);
      st = arm_elementwise_mul_s8(b->in, b->in2, IN_OFFSET, IN_OFFSET, b->out, OUT_OFFSET,
                                  1431655765, -8, ACT_MIN, ACT_MAX, (int32_t)n);
      tinyops_op_marker(2 * index + 1);
      break;
    case BENCH_AVGPOOL: {
      cmsis_nn_pool_params p;
      memset(&p, 0, sizeof(p));
      p.stride.h = s->sh;
      p.stride.w = s->sw;
      p.padding.h = s->ph;
      p.padding.w = s->pw;
      p.activation.min = ACT_MIN;
      p.activation.max = ACT_MAX;
      cmsis_nn_dims f = dims(1, s->kh, s->kw, 1);
      tinyops_op_marker(2 * index);
      st = arm_avgpool_s8(&ctx, &p, &in, b->in, &f, &out, b->out);
      tinyops_op_marker(2 * index + 1);
      break;
    }
    default: break;
  }
  return (int32_t)st;
}
