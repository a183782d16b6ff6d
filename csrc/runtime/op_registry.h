// Builtin opcode -> kernel family lookup.
#pragma once
#include <cstdint>

#include "tinyops/op_api.h"

namespace tinyops {

// nullptr when the engine has no kernel for `opcode`.
const OpKernel* find_op_kernel(int32_t opcode);
// All registered kernels, for listing support from Python.
const OpKernel* op_kernels(int32_t* count);

}  // namespace tinyops
