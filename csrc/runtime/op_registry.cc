#include "runtime/op_registry.h"

#include "kernels/kernels.h"

namespace tinyops {

namespace {

// Codes are the TFLite schema's BuiltinOperator values.
const OpKernel kKernels[] = {
    {0, "ADD", add_prepare, add_eval},
    {1, "AVERAGE_POOL_2D", average_pool2d_prepare, average_pool2d_eval},
    {2, "CONCATENATION", concatenation_prepare, concatenation_eval},
    {3, "CONV_2D", conv2d_prepare, conv2d_eval},
    {4, "DEPTHWISE_CONV_2D", depthwise_conv2d_prepare, depthwise_conv2d_eval},
    {6, "DEQUANTIZE", dequantize_prepare, dequantize_eval},
    {9, "FULLY_CONNECTED", fully_connected_prepare, fully_connected_eval},
    {14, "LOGISTIC", logistic_prepare, logistic_eval},
    {17, "MAX_POOL_2D", max_pool2d_prepare, max_pool2d_eval},
    {18, "MUL", mul_prepare, mul_eval},
    {19, "RELU", relu_prepare, relu_eval},
    {21, "RELU6", relu6_prepare, relu6_eval},
    {22, "RESHAPE", reshape_prepare, reshape_eval},
    {25, "SOFTMAX", softmax_prepare, softmax_eval},
    {34, "PAD", pad_prepare, pad_eval},
    {40, "MEAN", mean_prepare, mean_eval},
    {43, "SQUEEZE", reshape_prepare, reshape_eval},
    {45, "STRIDED_SLICE", strided_slice_prepare, strided_slice_eval},
    {60, "PADV2", pad_prepare, pad_eval},
    {77, "SHAPE", shape_prepare, shape_eval},
    {83, "PACK", pack_prepare, pack_eval},
    {98, "LEAKY_RELU", leaky_relu_prepare, leaky_relu_eval},
    {114, "QUANTIZE", quantize_prepare, quantize_eval},
    {117, "HARD_SWISH", hard_swish_prepare, hard_swish_eval},
};

}  // namespace

const OpKernel* find_op_kernel(int32_t opcode) {
  for (const OpKernel& k : kKernels) {
    if (k.opcode == opcode) return &k;
  }
  return nullptr;
}

const OpKernel* op_kernels(int32_t* count) {
  *count = static_cast<int32_t>(sizeof(kKernels) / sizeof(kKernels[0]));
  return kKernels;
}

}  // namespace tinyops
