// The TFLM types the adapter touches, declared by this project for ONE build:
// the PyPI wheel tflite-micro==0.dev20261023182759 (git 8f6596d), whose
// interpreter the host build loads the adapter into. Nothing here comes from
// TFLM's headers; the layouts are facts of that binary's ABI, established by
// disassembling its _runtime.so (x86-64, TF_LITE_STATIC_MEMORY):
//
//   TfLiteContext      impl_ (the MicroContext*) at offset 0; no function
//                      pointers are used (this build reaches everything through
//                      the MicroContext's virtual functions)
//   TfLiteNode         inputs 0, outputs 8, intermediates 16, user_data 24,
//                      builtin_data 32
//   TfLiteTensor       quantization {type 0, params 8}, params {scale 16,
//                      zero_point 20}, data 24, dims 32, bytes 40, type 48,
//                      allocation_type 52 (1 = kTfLiteMmapRo: flatbuffer data),
//                      is_variable 56
//   TfLiteEvalTensor   data 0, dims 8, type 16
//   TfLiteAffineQuantization  scale 0, zero_point 8, quantized_dimension 16
//   TFLMRegistration   init, free, prepare, invoke, reset, builtin_code,
//                      custom_name (56 bytes)
//   builtin params     TfLiteConvParams, TfLiteDepthwiseConvParams,
//                      TfLitePoolParams, TfLiteAddParams, TfLiteMulParams,
//                      TfLiteFullyConnectedParams, TfLiteReducerParams: leading
//                      fields as below (the parsers' stores)
//   MicroContext vtable  slots of MicroInterpreterContext (see host_glue.cc),
//                      each checked by exact symbol name before first use.
//
// The guard (host_glue.cc and tinyops_tflm/tflm.py) checks the installed
// version and, at run time, that the resolver and the interpreter context
// are exactly the classes these declarations describe; on any mismatch the
// adapter refuses with a message instead of touching memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyops {
namespace tflm {

// The pinned wheel (tflite_micro.__version__ starts with it).
constexpr const char* kPinnedTflmVersion = "0.dev20261023182759";

namespace abi {

enum TfLiteStatus : int32_t { kTfLiteOk = 0, kTfLiteError = 1 };

struct TfLiteIntArray {
  int32_t size;
  int32_t data[1];  // really `size` entries
};

struct TfLiteFloatArray {
  int32_t size;
  float data[1];  // really `size` entries
};

union TfLitePtrUnion {
  void* data;
  const char* raw_const;
};

struct TfLiteQuantization {
  int32_t type;  // 0 none, 1 affine
  void* params;  // TfLiteAffineQuantization* when affine
};

struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
};

struct TfLiteAffineQuantization {
  TfLiteFloatArray* scale;
  TfLiteIntArray* zero_point;
  int32_t quantized_dimension;
};

struct TfLiteTensor {
  TfLiteQuantization quantization;
  TfLiteQuantizationParams params;
  TfLitePtrUnion data;
  TfLiteIntArray* dims;
  size_t bytes;
  int32_t type;
  int32_t allocation_type;
  bool is_variable;
};

struct TfLiteEvalTensor {
  TfLitePtrUnion data;
  TfLiteIntArray* dims;
  int32_t type;
};

struct TfLiteNode {
  TfLiteIntArray* inputs;
  TfLiteIntArray* outputs;
  TfLiteIntArray* intermediates;
  void* user_data;
  void* builtin_data;
};

// Only the first member is declared: the object is larger, and only ever
// handled through pointers the interpreter passes in.
struct TfLiteContext {
  void* impl_;
};

struct TFLMRegistration {
  void* (*init)(TfLiteContext* context, const char* buffer, size_t length);
  void (*free)(TfLiteContext* context, void* buffer);
  TfLiteStatus (*prepare)(TfLiteContext* context, TfLiteNode* node);
  TfLiteStatus (*invoke)(TfLiteContext* context, TfLiteNode* node);
  void (*reset)(TfLiteContext* context, void* buffer);
  int32_t builtin_code;
  const char* custom_name;
};

struct TfLiteConvParams {
  int32_t padding;  // 1 SAME, 2 VALID
  int32_t stride_width;
  int32_t stride_height;
  int32_t activation;
  int32_t dilation_width_factor;
  int32_t dilation_height_factor;
};

struct TfLiteDepthwiseConvParams {
  int32_t padding;
  int32_t stride_width;
  int32_t stride_height;
  int32_t depth_multiplier;
  int32_t activation;
  int32_t dilation_width_factor;
  int32_t dilation_height_factor;
};

struct TfLitePoolParams {
  int32_t padding;
  int32_t stride_width;
  int32_t stride_height;
  int32_t filter_width;
  int32_t filter_height;
  int32_t activation;
};

struct TfLiteAddParams {
  int32_t activation;
  bool pot_scale_int16;
};

struct TfLiteMulParams {
  int32_t activation;
};

struct TfLiteFullyConnectedParams {
  int32_t activation;
  int32_t weights_format;  // 0 default
  bool keep_num_dims;
  bool asymmetric_quantize_inputs;
};

struct TfLiteReducerParams {
  bool keep_dims;
};

static_assert(sizeof(TfLiteTensor) == 64, "TfLiteTensor layout of the pinned wheel");
static_assert(offsetof(TfLiteTensor, params) == 16, "TfLiteTensor::params");
static_assert(offsetof(TfLiteTensor, data) == 24, "TfLiteTensor::data");
static_assert(offsetof(TfLiteTensor, dims) == 32, "TfLiteTensor::dims");
static_assert(offsetof(TfLiteTensor, bytes) == 40, "TfLiteTensor::bytes");
static_assert(offsetof(TfLiteTensor, type) == 48, "TfLiteTensor::type");
static_assert(offsetof(TfLiteTensor, allocation_type) == 52, "TfLiteTensor::allocation_type");
static_assert(offsetof(TfLiteEvalTensor, dims) == 8, "TfLiteEvalTensor::dims");
static_assert(offsetof(TfLiteEvalTensor, type) == 16, "TfLiteEvalTensor::type");
static_assert(offsetof(TfLiteNode, user_data) == 24, "TfLiteNode::user_data");
static_assert(offsetof(TfLiteNode, builtin_data) == 32, "TfLiteNode::builtin_data");
static_assert(offsetof(TfLiteAffineQuantization, quantized_dimension) == 16,
              "TfLiteAffineQuantization::quantized_dimension");
static_assert(sizeof(TFLMRegistration) == 56, "TFLMRegistration layout");
static_assert(offsetof(TFLMRegistration, builtin_code) == 40, "TFLMRegistration::builtin_code");
static_assert(offsetof(TFLMRegistration, custom_name) == 48, "TFLMRegistration::custom_name");
static_assert(sizeof(TfLiteDepthwiseConvParams) == 28, "TfLiteDepthwiseConvParams layout");
static_assert(offsetof(TfLiteFullyConnectedParams, keep_num_dims) == 8,
              "TfLiteFullyConnectedParams::keep_num_dims");

}  // namespace abi

// ---------------------------------------------------------------------------
// What the adapter source sees (the firmware header provides the same names
// from a real TFLM tree).
using TflmContext = abi::TfLiteContext;
using TflmNode = abi::TfLiteNode;
using TflmTensor = abi::TfLiteTensor;
using TflmEvalTensor = abi::TfLiteEvalTensor;
using TflmIntArray = abi::TfLiteIntArray;
using TflmRegistration = abi::TFLMRegistration;
using TflmStatus = abi::TfLiteStatus;
using TflmAffineQuantization = abi::TfLiteAffineQuantization;
using TflmConvParams = abi::TfLiteConvParams;
using TflmDepthwiseConvParams = abi::TfLiteDepthwiseConvParams;
using TflmPoolParams = abi::TfLitePoolParams;
using TflmAddParams = abi::TfLiteAddParams;
using TflmMulParams = abi::TfLiteMulParams;
using TflmFullyConnectedParams = abi::TfLiteFullyConnectedParams;
using TflmReducerParams = abi::TfLiteReducerParams;

constexpr TflmStatus kTflmOk = abi::kTfLiteOk;
constexpr TflmStatus kTflmError = abi::kTfLiteError;
// TfLiteType values.
constexpr int kTflmTypeFloat32 = 1, kTflmTypeInt32 = 2, kTflmTypeUInt8 = 3, kTflmTypeInt64 = 4,
              kTflmTypeBool = 6, kTflmTypeInt16 = 7, kTflmTypeInt8 = 9;
constexpr int kTflmAffineQuantization = 1;
constexpr int kTflmMmapRo = 1;  // TfLiteAllocationType of flatbuffer (constant) data
constexpr int kTflmPaddingSame = 1, kTflmPaddingValid = 2;

// Access to the interpreter (host_glue.cc: through the verified MicroContext
// virtual functions of the pinned build).
namespace shim {
// Called from every TinyOps kernel's init: checks the context is the
// expected class and attaches the TinyOps binding the host front end is
// constructing this interpreter with as TFLM's external context (what
// firmware does with MicroInterpreter::SetMicroExternalContext). False (with
// a recorded message) when the context cannot be used.
bool init_hook(TflmContext* context);
void* persistent_alloc(TflmContext* context, size_t bytes);
TflmTensor* temp_tensor(TflmContext* context, int tensor_index);
void release_temp(TflmContext* context, TflmTensor* tensor);
TflmEvalTensor* eval_tensor(TflmContext* context, int tensor_index);
void* external_context(TflmContext* context);
// Errors the adapter raises; host: kept for the Python front end.
void report(TflmContext* context, const char* message);
}  // namespace shim

}  // namespace tflm
}  // namespace tinyops
