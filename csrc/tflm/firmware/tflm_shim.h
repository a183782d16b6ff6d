// The TFLM types the adapter touches, from a user's TFLM source tree
// (firmware builds: ports/common/tflm_example, CMake option TINYOPS_TFLM_DIR).
// Provides exactly the names csrc/tflm/host/tflm_abi.h declares for the host.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensorflow/lite/c/builtin_op_data.h"
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_common.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tensorflow/lite/micro/micro_log.h"

namespace tinyops {
namespace tflm {

using TflmContext = TfLiteContext;
using TflmNode = TfLiteNode;
using TflmTensor = TfLiteTensor;
using TflmEvalTensor = TfLiteEvalTensor;
using TflmIntArray = TfLiteIntArray;
using TflmRegistration = TFLMRegistration;
using TflmStatus = TfLiteStatus;
using TflmAffineQuantization = TfLiteAffineQuantization;
using TflmConvParams = TfLiteConvParams;
using TflmDepthwiseConvParams = TfLiteDepthwiseConvParams;
using TflmPoolParams = TfLitePoolParams;
using TflmAddParams = TfLiteAddParams;
using TflmMulParams = TfLiteMulParams;
using TflmFullyConnectedParams = TfLiteFullyConnectedParams;
using TflmReducerParams = TfLiteReducerParams;

constexpr TflmStatus kTflmOk = kTfLiteOk;
constexpr TflmStatus kTflmError = kTfLiteError;
constexpr int kTflmTypeFloat32 = kTfLiteFloat32, kTflmTypeInt32 = kTfLiteInt32,
              kTflmTypeUInt8 = kTfLiteUInt8, kTflmTypeInt64 = kTfLiteInt64,
              kTflmTypeBool = kTfLiteBool, kTflmTypeInt16 = kTfLiteInt16,
              kTflmTypeInt8 = kTfLiteInt8;
constexpr int kTflmAffineQuantization = kTfLiteAffineQuantization;
constexpr int kTflmMmapRo = kTfLiteMmapRo;
constexpr int kTflmPaddingSame = kTfLitePaddingSame, kTflmPaddingValid = kTfLitePaddingValid;

namespace shim {

// The application sets the TinyOps binding as the interpreter's external
// context itself (MicroInterpreter::SetMicroExternalContext), so nothing to
// do here.
inline bool init_hook(TflmContext*) { return true; }
inline void* persistent_alloc(TflmContext* c, size_t bytes) {
  return tflite::GetMicroContext(c)->AllocatePersistentBuffer(bytes);
}
inline TflmTensor* temp_tensor(TflmContext* c, int index) {
  return tflite::GetMicroContext(c)->AllocateTempTfLiteTensor(index);
}
inline void release_temp(TflmContext* c, TflmTensor* t) {
  tflite::GetMicroContext(c)->DeallocateTempTfLiteTensor(t);
}
inline TflmEvalTensor* eval_tensor(TflmContext* c, int index) {
  return tflite::GetMicroContext(c)->GetEvalTensor(index);
}
inline void* external_context(TflmContext* c) {
  return tflite::GetMicroContext(c)->external_context();
}
inline void report(TflmContext*, const char* message) { MicroPrintf("tinyops: %s", message); }

}  // namespace shim

}  // namespace tflm
}  // namespace tinyops
