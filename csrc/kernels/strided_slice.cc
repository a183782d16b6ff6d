// STRIDED_SLICE, as TFLM's micro kernel runs it: input rank <= 4, constant
// int32 begin/end/strides, begin/end/shrink-axis masks. The input itself may
// be produced at run time (e.g. by SHAPE). TFLM silently drops
// ellipsis_mask, new_axis_mask and the offset flag (it never passes them to
// the reference kernel); rather than give a result that differs from the
// TensorFlow semantics those flags ask for, prepare rejects them.
#include <cmath>
#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

namespace {

struct SliceParams {
  int32_t elem_size;
  int32_t start[5];
  int32_t count[5];      // iterations per axis
  int32_t step[5];       // stride
  int64_t in_stride[5];  // elements
  int64_t total;         // output elements
};

inline int32_t clamp_int(int32_t v, int32_t lo, int32_t hi) {
  return hi < v ? hi : (v < lo ? lo : v);
}

// TFLM's prepare-time output size helpers (strided_slice_logic.h StartForAxis
// / StopForAxis), used to validate the output shape.
int32_t check_start(int32_t axis_size, int32_t begin, int32_t stride, bool begin_masked) {
  if (axis_size == 0) return 0;
  int32_t start = begin;
  if (begin_masked) start = stride > 0 ? INT32_MIN : INT32_MAX;
  if (start < 0) start += axis_size;
  return stride > 0 ? clamp_int(start, 0, axis_size) : clamp_int(start, -1, axis_size - 1);
}
int32_t check_stop(int32_t axis_size, int32_t end, int32_t stride, bool end_masked, bool shrink,
                   int32_t start) {
  if (axis_size == 0) return 0;
  if (shrink) return start + 1;
  int32_t stop = end;
  if (end_masked) stop = stride > 0 ? INT32_MAX : INT32_MIN;
  if (stop < 0) stop += axis_size;
  return stride > 0 ? clamp_int(stop, 0, axis_size) : clamp_int(stop, -1, axis_size - 1);
}

// TFLM's eval-time helpers (StridedSliceStartForAxis / EndForAxis).
int32_t eval_start(int32_t axis_size, int32_t begin, int32_t stride, bool begin_masked) {
  int32_t start = begin;
  if (start < 0) start += axis_size;
  start = stride > 0 ? clamp_int(start, 0, axis_size) : clamp_int(start, -1, axis_size - 1);
  if (begin_masked) start = stride > 0 ? 0 : axis_size - 1;
  return start;
}
int32_t eval_stop(int32_t axis_size, int32_t end, int32_t stride, bool end_masked, bool shrink,
                  int32_t start) {
  if (shrink) return start >= axis_size ? start : start + 1;
  int32_t stop = end;
  if (stop < 0) stop += axis_size;
  stop = stride > 0 ? clamp_int(stop, 0, axis_size) : clamp_int(stop, -1, axis_size - 1);
  if (end_masked) stop = stride > 0 ? axis_size : -1;
  return stop;
}

int32_t iterations(int32_t start, int32_t stop, int32_t stride) {
  if (stride > 0) {
    return stop > start
               ? static_cast<int32_t>((static_cast<int64_t>(stop) - start + stride - 1) / stride)
               : 0;
  }
  const int64_t s = -static_cast<int64_t>(stride);
  return start > stop ? static_cast<int32_t>((static_cast<int64_t>(start) - stop + s - 1) / s) : 0;
}

bool read_indices(const TensorDesc* t, int32_t n, int32_t* out) {
  if (t == nullptr || t->type != DType::kInt32 || !t->is_constant() ||
      t->shape.num_elements() < n || t->bytes < 4u * static_cast<uint32_t>(n)) {
    return false;
  }
  std::memcpy(out, t->const_data, 4u * static_cast<size_t>(n));
  return true;
}

template <typename T>
void slice_copy(const SliceParams& p, const T* in, T* out) {
  const int32_t* c = p.count;
  for (int32_t i0 = 0; i0 < c[0]; ++i0) {
    const T* a0 = in + (p.start[0] + static_cast<int64_t>(i0) * p.step[0]) * p.in_stride[0];
    for (int32_t i1 = 0; i1 < c[1]; ++i1) {
      const T* a1 = a0 + (p.start[1] + static_cast<int64_t>(i1) * p.step[1]) * p.in_stride[1];
      for (int32_t i2 = 0; i2 < c[2]; ++i2) {
        const T* a2 = a1 + (p.start[2] + static_cast<int64_t>(i2) * p.step[2]) * p.in_stride[2];
        for (int32_t i3 = 0; i3 < c[3]; ++i3) {
          const T* a3 = a2 + (p.start[3] + static_cast<int64_t>(i3) * p.step[3]) * p.in_stride[3] +
                        p.start[4];
          if (p.step[4] == 1) {
            std::memcpy(out, a3, sizeof(T) * static_cast<size_t>(c[4]));
            out += c[4];
          } else {
            const int32_t st = p.step[4];
            for (int32_t i4 = 0; i4 < c[4]; ++i4) *out++ = a3[static_cast<int64_t>(i4) * st];
          }
        }
      }
    }
  }
}

}  // namespace

Status strided_slice_prepare(PrepareContext& ctx) {
  const char* op = "STRIDED_SLICE";
  Status s = expect_io_counts(ctx, 4, 4, 1);
  if (s != Status::kOk) return s;
  const TensorDesc* in = ctx.input(0);
  const TensorDesc* out = ctx.output(0);
  const OpOptions& o = *ctx.options;
  const DType t = in->type;
  if (t != DType::kInt8 && t != DType::kInt32 && t != DType::kFloat32 && t != DType::kBool) {
    return ctx.fail(Status::kUnsupported, "%s: type %d unsupported (int8, int32, float32, bool)",
                    op, static_cast<int>(t));
  }
  if (out->type != t) {
    return ctx.fail(Status::kInvalidModel, "%s: output type %d differs from input type %d", op,
                    static_cast<int>(out->type), static_cast<int>(t));
  }
  const int32_t dims = in->shape.rank;
  if (dims > 4) {
    return ctx.fail(Status::kUnsupported, "%s: input rank %d unsupported (TFLM: max 4)", op,
                    static_cast<int>(dims));
  }
  if (o.ellipsis_mask != 0 || o.new_axis_mask != 0 || o.offset != 0) {
    return ctx.fail(Status::kUnsupported,
                    "%s: ellipsis_mask %d / new_axis_mask %d / offset %d unsupported (TFLM "
                    "ignores them)",
                    op, static_cast<int>(o.ellipsis_mask), static_cast<int>(o.new_axis_mask),
                    static_cast<int>(o.offset));
  }
  int32_t begin[4] = {0, 0, 0, 0}, end[4] = {0, 0, 0, 0}, strides[4] = {1, 1, 1, 1};
  if (!read_indices(ctx.input(1), dims, begin) || !read_indices(ctx.input(2), dims, end) ||
      !read_indices(ctx.input(3), dims, strides)) {
    return ctx.fail(Status::kUnsupported,
                    "%s: begin, end and strides must be constant int32 tensors with %d values", op,
                    static_cast<int>(dims));
  }
  // Output shape, as TFLM's Prepare checks it.
  int32_t shape_size = 0;
  for (int32_t d = 0; d < dims; ++d) {
    if (strides[d] == 0)
      return ctx.fail(Status::kInvalidModel, "%s: stride %d is zero", op, static_cast<int>(d));
    const int32_t size = in->shape.dims[d];
    const bool bm = (o.begin_mask >> d) & 1, em = (o.end_mask >> d) & 1;
    const bool shrink = (o.shrink_axis_mask >> d) & 1;
    const int32_t b = check_start(size, begin[d], strides[d], bm);
    int32_t e = check_stop(size, end[d], strides[d], em, shrink, b);
    if (shrink) e = b + 1;
    int32_t dim =
        static_cast<int32_t>(std::ceil(static_cast<float>(e - b) / static_cast<float>(strides[d])));
    dim = dim < 0 ? 0 : dim;
    if (!shrink) {
      if (shape_size >= out->shape.rank || out->shape.dims[shape_size] != dim) {
        return ctx.fail(Status::kInvalidModel, "%s: output dim %d should be %d", op,
                        static_cast<int>(shape_size), static_cast<int>(dim));
      }
      ++shape_size;
    }
  }
  if (shape_size != out->shape.rank) {
    return ctx.fail(Status::kInvalidModel, "%s: output rank %d should be %d", op,
                    static_cast<int>(out->shape.rank), static_cast<int>(shape_size));
  }
  // Eval parameters, TFLM's 5-D padded iteration.
  SliceParams p{};
  p.elem_size = static_cast<int32_t>(dtype_size(t));
  const int32_t pad = 5 - dims;
  int32_t in5[5];
  for (int32_t d = 0; d < 5; ++d) in5[d] = d < pad ? 1 : in->shape.dims[d - pad];
  int64_t stride = 1;
  for (int32_t d = 4; d >= 0; --d) {
    p.in_stride[d] = stride;
    stride *= in5[d];
  }
  int64_t total = 1;
  for (int32_t d = 0; d < 5; ++d) {
    int32_t st, b, e;
    if (d < pad) {
      st = 1;
      b = 0;
      e = 1;
    } else {
      const int32_t k = d - pad;
      st = strides[k];
      const bool bm = (o.begin_mask >> k) & 1, em = (o.end_mask >> k) & 1;
      const bool shrink = (o.shrink_axis_mask >> k) & 1;
      b = eval_start(in5[d], begin[k], st, bm);
      e = eval_stop(in5[d], end[k], st, em, shrink, b);
    }
    p.start[d] = b;
    p.step[d] = st;
    p.count[d] = iterations(b, e, st);
    total *= p.count[d];
  }
  if (total != out->shape.num_elements()) {
    return ctx.fail(Status::kInvalidModel,
                    "%s: the slice selects %lld elements but the output has %lld (index out of "
                    "range on a shrunk axis?)",
                    op, static_cast<long long>(total),
                    static_cast<long long>(out->shape.num_elements()));
  }
  p.total = total;
  auto* stored = ctx.alloc_array<SliceParams>(1);
  if (!stored) return ctx.fail(Status::kOutOfMemory, "%s: no memory for params", op);
  *stored = p;
  ctx.params = stored;
  ctx.scratch_bytes = 0;
  return Status::kOk;
}

Status strided_slice_eval(const EvalContext& ctx) {
  const SliceParams& p = *static_cast<const SliceParams*>(ctx.params);
  if (p.total == 0) return Status::kOk;
  switch (p.elem_size) {
    case 1:
      slice_copy(p, static_cast<const uint8_t*>(ctx.inputs[0]),
                 static_cast<uint8_t*>(ctx.outputs[0]));
      break;
    case 2:
      slice_copy(p, static_cast<const uint16_t*>(ctx.inputs[0]),
                 static_cast<uint16_t*>(ctx.outputs[0]));
      break;
    case 4:
      slice_copy(p, static_cast<const uint32_t*>(ctx.inputs[0]),
                 static_cast<uint32_t*>(ctx.outputs[0]));
      break;
    default:
      slice_copy(p, static_cast<const uint64_t*>(ctx.inputs[0]),
                 static_cast<uint64_t*>(ctx.outputs[0]));
      break;
  }
  return Status::kOk;
}

// The op descriptor (tinyops/op_descriptor.h): whole tensors only.
extern const OpDescriptor kStridedSliceOp = {kBuiltinStridedSlice,
                                             builtin_op_name(kBuiltinStridedSlice),
                                             strided_slice_prepare,
                                             strided_slice_eval,
                                             "strided_slice",
                                             0,
                                             {}};

}  // namespace tinyops
