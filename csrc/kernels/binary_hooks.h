// The glue ADD and MUL share: the start of prepare, the eval and the
// descriptor hooks (tinyops/op_descriptor.h): flat chunks, or output row
// bands when an operand broadcasts. P is the op's params (both name their
// layout and offsets alike), Op its BinaryOp (a type local to the op's file,
// so the loops instantiated here stay local too), Range and Rows its tile
// functions.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/elementwise_loops.h"
#include "tinyops/op_descriptor.h"

namespace tinyops {
namespace binary_detail {

// binary_check_tensors, then the op's params zeroed in persistent memory
// with their layout and the input and output offsets.
template <class P>
Status prepare_binary_params(PrepareContext& ctx, const char* op, P** out) {
  Status s = binary_check_tensors(ctx, op);
  if (s != Status::kOk) return s;
  P* p = ctx.alloc_array<P>(1);
  if (p == nullptr) return ctx.fail(Status::kOutOfMemory, "%s: no memory for parameters", op);
  std::memset(p, 0, sizeof(*p));
  s = binary_layout_fail(ctx, op, &p->layout);
  if (s != Status::kOk) return s;
  p->input1_offset = -ctx.input(0)->quant.zero_point;
  p->input2_offset = -ctx.input(1)->quant.zero_point;
  p->output_offset = ctx.output(0)->quant.zero_point;
  *out = p;
  return Status::kOk;
}

template <class P, class Op,
          void (*Range)(const P&, const int8_t*, const int8_t*, int8_t*, int64_t, int64_t),
          void (*Rows)(const P&, const InputBand&, const InputBand&, int8_t*, int64_t, int64_t)>
struct BinaryHooks {
  static const P& params(const void* p) { return *static_cast<const P*>(p); }
  static Status eval(const EvalContext& ctx) {
    const P& p = BinaryHooks::params(ctx.params);
    run_all(Op(p), p.layout, static_cast<const int8_t*>(ctx.inputs[0]),
            static_cast<const int8_t*>(ctx.inputs[1]), static_cast<int8_t*>(ctx.outputs[0]));
    return Status::kOk;
  }
  static OpFamily family(const void* params) {
    return BinaryHooks::params(params).layout.kind == kBinaryBroadcast ? OpFamily::kBinaryRows
                                                                       : OpFamily::kBinaryFlat;
  }
  static const BinaryLayout* layout(const void* params) {
    return &BinaryHooks::params(params).layout;
  }
  static void flat(const void* params, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
                   int64_t end) {
    Range(BinaryHooks::params(params), a, b, out, begin, end);
  }
  static void bands(const void* params, const InputBand& a, const InputBand& b, int8_t* out,
                    int64_t r0, int64_t r1) {
    Rows(BinaryHooks::params(params), a, b, out, r0, r1);
  }
};

}  // namespace binary_detail
}  // namespace tinyops
