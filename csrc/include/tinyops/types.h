// Tensor descriptions shared by the planner, the executor and the kernels.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyops {

// Values equal the TFLite schema's TensorType so plans need no translation.
enum class DType : uint8_t {
  kFloat32 = 0,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kBool = 6,
  kInt16 = 7,
  kInt8 = 9,
};

// Byte size of one element; 0 for an unknown value (plans are validated with it).
size_t dtype_size(DType t);
// The type's name, for messages.
const char* dtype_name(DType t);
bool dtype_valid(uint8_t raw);

constexpr int kMaxRank = 6;

struct Shape {
  int32_t rank;
  int32_t dims[kMaxRank];

  int64_t num_elements() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  // Dimension counted from the back (-1 = last) padded with 1s, as TFLite's
  // broadcasting and 4D "extended shape" helpers view it.
  int32_t dim_from_back(int i) const {
    int k = rank - 1 - i;
    return k >= 0 ? dims[k] : 1;
  }
};

struct QuantInfo {
  float scale;          // per-tensor scale (scales[0] when per-channel)
  int32_t zero_point;   // per-tensor zero point
  const float* scales;  // per-channel scales, num_scales entries (>= 1)
  int32_t num_scales;   // 0 when the tensor is not quantized
  int32_t quantized_dimension;
};

struct TensorDesc {
  DType type;
  Shape shape;
  QuantInfo quant;
  const void* const_data;  // contents of a constant tensor, else nullptr
  uint32_t bytes;

  bool is_constant() const { return const_data != nullptr; }
};

// TFLite enums used in op options (values equal the schema's).
enum Padding : int32_t { kPaddingSame = 0, kPaddingValid = 1 };
enum FusedActivation : int32_t {
  kActNone = 0,
  kActRelu = 1,
  kActReluN1To1 = 2,
  kActRelu6 = 3,
};

// Every builtin option any supported op uses, in one fixed-size record so
// plans store options without per-op encodings. Unused fields are zero.
struct OpOptions {
  int32_t padding;
  int32_t stride_w, stride_h;
  int32_t dilation_w, dilation_h;
  int32_t filter_w, filter_h;  // pooling window
  int32_t depth_multiplier;
  int32_t activation;    // FusedActivation
  int32_t keep_dims;     // MEAN keep_dims, FULLY_CONNECTED keep_num_dims
  int32_t axis;          // CONCATENATION, PACK
  int32_t values_count;  // PACK
  int32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask;
  int32_t offset;  // STRIDED_SLICE offset flag
  float alpha;     // LEAKY_RELU
  float beta;      // SOFTMAX
  int32_t reserved[4];
};
static_assert(sizeof(OpOptions) == 24 * 4, "OpOptions is part of the plan format");

}  // namespace tinyops
