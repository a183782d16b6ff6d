// Status codes: the engine never throws; every fallible call returns one.
#pragma once
#include <cstdint>

namespace tinyops {

enum class Status : int32_t {
  kOk = 0,
  kInvalidPlan = 1,   // plan bytes malformed or inconsistent
  kInvalidModel = 2,  // tensor/op parameters TFLM would reject
  kUnsupported = 3,   // valid TFLite, but not implemented here
  kOutOfMemory = 4,   // an allocator or region ran out
  kBadArgument = 5,   // caller passed something wrong (index, size)
  kInternal = 6,
};

const char* status_name(Status s);

}  // namespace tinyops
