// The eval and descriptor hooks (tinyops/op_descriptor.h) ADD and MUL share:
// flat chunks, or output row bands when an operand broadcasts. P is the op's
// params (its BinaryLayout named `layout`), Op its BinaryOp (a type local to
// the op's file, so the loops instantiated here stay local too), Range and
// Rows its tile functions.
#pragma once
#include <cstdint>

#include "kernels/elementwise_loops.h"
#include "tinyops/op_descriptor.h"

namespace tinyops {
namespace binary_detail {

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
