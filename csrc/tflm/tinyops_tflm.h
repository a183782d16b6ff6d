// TinyOps inside TensorFlow Lite Micro: kernel registrations that run the
// engine's kernels and tile scheduler in a TFLM interpreter.
//
// Use (firmware; see ports/common/tflm_example/main.cc):
//
//   static uint8_t tile_arena[64 * 1024] __attribute__((aligned(32)));  // internal SRAM
//   static tinyops::tflm::Binding tinyops_binding;
//   tinyops::tflm::init_binding(&tinyops_binding, tile_arena, sizeof(tile_arena), &dma);
//   tflite::MicroMutableOpResolver<16> resolver;
//   tinyops::tflm::add_tinyops_kernels(resolver);      // or resolver.AddConv2D(
//                                                      //   tinyops::tflm::Register_CONV_2D()) ...
//   tflite::MicroInterpreter interpreter(model, resolver, allocator);
//   interpreter.SetMicroExternalContext(&tinyops_binding);   // before AllocateTensors()
//   interpreter.AllocateTensors();
//
// Each kernel's prepare builds the engine's tensor descriptions from the
// TFLM tensors, runs the engine's prepare (parameters into TFLM persistent
// memory), chooses the cheapest tiling whose buffers fit the SRAM tile arena
// and lays them out there; invoke streams the operands (which live in the
// TFLM arena / the model flatbuffer) through the tile arena with the DMA
// engine. Both reach the kernels only through TFLM's external context.
//
// The same source compiles on the host against the project's declaration of
// the pinned tflite-micro wheel's ABI (TINYOPS_TFLM_HOST_ABI, tflm/host/)
// and in firmware against a real TFLM tree (tflm/firmware/tflm_shim.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "dma_partition/dma.h"

#if defined(TINYOPS_TFLM_HOST_ABI)
#include "tflm/host/tflm_abi.h"
#else
#include "tflm/firmware/tflm_shim.h"
#endif

namespace tinyops {
namespace tflm {

constexpr uint32_t kBindingMagic = 0x54464F31u;  // "TFO1"
constexpr int kMaxServedOps = 16;
constexpr uint32_t kTileAlign = 32;  // Cortex-M7 D-cache line: no two buffers share one

// Statistic regions of the adapter's DMA traffic.
enum StatRegion : uint32_t {
  kStatSram = 0,       // the SRAM tile arena
  kStatArena = 1,      // TFLM's tensor arena (activations)
  kStatConstants = 2,  // the model flatbuffer (weights, biases)
  kNumStatRegions = 3,
};

// How prepare placed an op's operands (the first that fits the tile arena).
enum OperandMode : uint32_t {
  kModeStreamed = 0,         // every operand through the tile arena by DMA
  kModeConstantsDirect = 1,  // constants read in place, activations streamed
  kModeAllDirect = 2,        // kernel on the tensors in place (arena too small)
  kNumModes = 3,
};

// Everything the kernels need from the application, handed over as TFLM's
// external context. Caller-owned; must outlive the interpreter.
struct Binding {
  uint32_t magic;
  uint8_t* sram;  // tile arena, kTileAlign-aligned
  uint32_t sram_bytes;
  DmaEngine* dma;
  // Per served op (index as in served_op()).
  uint32_t invocations[kMaxServedOps];
  uint32_t prepared[kNumModes];  // ops prepared per OperandMode
  uint64_t tiles;
  uint64_t transfers;
  uint64_t dma_read[kNumStatRegions];
  uint64_t dma_write[kNumStatRegions];
  uint32_t sram_high_water;  // highest tile-arena byte any op touched
  uint32_t sram_planned;     // largest tile-arena footprint any op was planned with
  int32_t error_status;      // tinyops::Status of the last failure (0: none)
  char error[240];           // its message
};

// Fills `b`: the tile arena is `sram` (aligned up to kTileAlign) of `bytes`.
void init_binding(Binding* b, void* sram, uint32_t bytes, DmaEngine* dma);
// Zeroes the counters (invocations, tiles, traffic, high water).
void reset_counters(Binding* b);

// Ops served by TinyOps kernels.
int num_served_ops();
// Builtin code and name of served op i (0 <= i < num_served_ops()).
int32_t served_op_code(int i);
const char* served_op_name(int i);
// The registration of served op i.
TflmRegistration served_registration(int i);

TflmRegistration Register_CONV_2D();
TflmRegistration Register_DEPTHWISE_CONV_2D();
TflmRegistration Register_FULLY_CONNECTED();
TflmRegistration Register_ADD();
TflmRegistration Register_MUL();
TflmRegistration Register_AVERAGE_POOL_2D();
TflmRegistration Register_MEAN();
TflmRegistration Register_HARD_SWISH();
TflmRegistration Register_PAD();

// Adds every TinyOps kernel to a tflite::MicroMutableOpResolver (which must
// not already hold these builtins). Returns the first failing status.
template <typename Resolver>
TflmStatus add_tinyops_kernels(Resolver& resolver) {
  TflmStatus s;
  if ((s = resolver.AddConv2D(Register_CONV_2D())) != kTflmOk) return s;
  if ((s = resolver.AddDepthwiseConv2D(Register_DEPTHWISE_CONV_2D())) != kTflmOk) return s;
  if ((s = resolver.AddFullyConnected(Register_FULLY_CONNECTED())) != kTflmOk) return s;
  if ((s = resolver.AddAdd(Register_ADD())) != kTflmOk) return s;
  if ((s = resolver.AddMul(Register_MUL())) != kTflmOk) return s;
  if ((s = resolver.AddAveragePool2D(Register_AVERAGE_POOL_2D())) != kTflmOk) return s;
  if ((s = resolver.AddMean(Register_MEAN())) != kTflmOk) return s;
  if ((s = resolver.AddHardSwish(Register_HARD_SWISH())) != kTflmOk) return s;
  return resolver.AddPad(Register_PAD());
}

}  // namespace tflm
}  // namespace tinyops
