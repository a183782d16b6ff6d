#include "runtime/op_registry.h"

namespace tinyops {

// The registry: one line per op, naming the descriptor its kernel file
// defines (csrc/kernels/<op>.cc).
#define TINYOPS_REGISTERED_OPS(X) \
  X(kAddOp) \
  X(kAveragePool2DOp) \
  X(kConcatenationOp) \
  X(kConv2DOp) \
  X(kDepthwiseConv2DOp) \
  X(kDequantizeOp) \
  X(kFullyConnectedOp) \
  X(kLogisticOp) \
  X(kMaxPool2DOp) \
  X(kMulOp) \
  X(kReluOp) \
  X(kRelu6Op) \
  X(kReshapeOp) \
  X(kSoftmaxOp) \
  X(kPadOp) \
  X(kMeanOp) \
  X(kSqueezeOp) \
  X(kStridedSliceOp) \
  X(kPadV2Op) \
  X(kShapeOp) \
  X(kPackOp) \
  X(kLeakyReluOp) \
  X(kQuantizeOp) \
  X(kHardSwishOp)

#define TINYOPS_DECLARE(d) extern const OpDescriptor d;
TINYOPS_REGISTERED_OPS(TINYOPS_DECLARE)
#undef TINYOPS_DECLARE

namespace {

#define TINYOPS_ENTRY(d) &d,
const OpDescriptor* const kOps[] = {TINYOPS_REGISTERED_OPS(TINYOPS_ENTRY)};
#undef TINYOPS_ENTRY

}  // namespace

const OpDescriptor* find_op_kernel(int32_t opcode) {
  for (const OpDescriptor* d : kOps) {
    if (d->opcode == opcode) return d;
  }
  return nullptr;
}

const OpDescriptor* const* op_descriptors(int32_t* count) {
  *count = static_cast<int32_t>(sizeof(kOps) / sizeof(kOps[0]));
  return kOps;
}

}  // namespace tinyops
