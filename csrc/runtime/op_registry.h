// Builtin opcode -> op descriptor lookup.
#pragma once
#include <cstdint>

#include "tinyops/op_descriptor.h"

namespace tinyops {

// nullptr when the engine has no kernel for `opcode`.
const OpDescriptor* find_op_kernel(int32_t opcode);
// Every registered op, in registry order (for the TFLM adapter and Python).
const OpDescriptor* const* op_descriptors(int32_t* count);

}  // namespace tinyops
