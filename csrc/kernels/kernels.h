// Every op kernel family's prepare/eval entry points (see tinyops/op_api.h).
// The op registry (csrc/runtime/op_registry.cc) maps builtin codes to these.
#pragma once
#include "tinyops/op_descriptor.h"

namespace tinyops {

#define TINYOPS_DECLARE_OP(name) \
  Status name##_prepare(PrepareContext& ctx); \
  Status name##_eval(const EvalContext& ctx);

// conv.cc, depthwise_conv.cc, fully_connected.cc
TINYOPS_DECLARE_OP(conv2d)
TINYOPS_DECLARE_OP(depthwise_conv2d)
TINYOPS_DECLARE_OP(fully_connected)
// add.cc, mul.cc
TINYOPS_DECLARE_OP(add)
TINYOPS_DECLARE_OP(mul)
// activations.cc
TINYOPS_DECLARE_OP(relu)
TINYOPS_DECLARE_OP(relu6)
TINYOPS_DECLARE_OP(leaky_relu)
TINYOPS_DECLARE_OP(hard_swish)
TINYOPS_DECLARE_OP(logistic)
// softmax.cc
TINYOPS_DECLARE_OP(softmax)
// quantize.cc
TINYOPS_DECLARE_OP(quantize)
TINYOPS_DECLARE_OP(dequantize)
// pooling.cc
TINYOPS_DECLARE_OP(average_pool2d)
TINYOPS_DECLARE_OP(max_pool2d)
// mean.cc
TINYOPS_DECLARE_OP(mean)
// pad.cc (PAD and PADV2 share prepare/eval)
TINYOPS_DECLARE_OP(pad)
// concatenation.cc
TINYOPS_DECLARE_OP(concatenation)
// reshape.cc (RESHAPE and SQUEEZE share prepare/eval: a byte copy)
TINYOPS_DECLARE_OP(reshape)
// strided_slice.cc
TINYOPS_DECLARE_OP(strided_slice)
// pack.cc
TINYOPS_DECLARE_OP(pack)
// shape.cc
TINYOPS_DECLARE_OP(shape)

#undef TINYOPS_DECLARE_OP

}  // namespace tinyops
