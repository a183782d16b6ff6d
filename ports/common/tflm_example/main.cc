// Example firmware: an ordinary TFLM application that gets TinyOps by
// registering its kernels and handing it its memory, nothing else.
//
//   - the model flatbuffer stays in QSPI NOR flash (memory-mapped, read-only);
//   - TFLM's non-persistent arena (all activations) is in SDRAM, its
//     persistent arena (tensor structs, kernel parameters) in internal SRAM,
//     through TFLM's two-arena MicroAllocator;
//   - TinyOps' SRAM tile arena and the board's DMA engine reach the kernels as
//     the interpreter's external context (tinyops::tflm::Binding).
//
// It feeds a fixed pseudo-random input and prints the output bytes, their
// FNV-1a checksum, cycles and what the TinyOps kernels did, so the same
// input run through tinyops_tflm.tflm on the host (or stock TFLM) can be
// compared byte for byte. Output (one record a line):
//   tflm-example board=<b> core=<c> clock_hz=<hz>
//   arenas tile=<n> persistent=<n> (used <n>) non_persistent=<n> (used <n>)
//   prepared streamed=<n> constants_direct=<n> all_direct=<n> sram_planned=<n>
//   invoke cycles=<n> ms=<x.yyy>
//   tinyops <OP>=<invocations> ...
//   tinyops tiles=<n> transfers=<n> dma_read=<sram>,<arena>,<constants> sram_high_water=<n>
//   output <i> bytes=<n> fnv1a32=<hex>
//   out<i> <hex bytes ...>
//   DONE status=<0|error>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tflm/tinyops_tflm.h"
#include "tinyops_port/board.h"
#include "tinyops_port/console.h"
#include "tinyops_port/patterns.h"

#ifndef TINYOPS_TFLM_TILE_ARENA
#define TINYOPS_TFLM_TILE_ARENA (64 * 1024)
#endif
#ifndef TINYOPS_TFLM_PERSISTENT_ARENA
#define TINYOPS_TFLM_PERSISTENT_ARENA (96 * 1024)
#endif
#ifndef TINYOPS_TFLM_TENSOR_ARENA
#define TINYOPS_TFLM_TENSOR_ARENA (4 * 1024 * 1024)
#endif

// The model (generated from TINYOPS_TFLM_MODEL into .tinyops_qspi).
extern "C" const unsigned char g_tinyops_tflm_model[];
extern "C" const unsigned int g_tinyops_tflm_model_len;

namespace {

using tinyops_port::console_printf;
using tinyops_port::console_puts;
using tinyops_port::fill_pattern;
using tinyops_port::fnv1a32;

// Internal SRAM: TinyOps' tile arena and TFLM's persistent arena.
alignas(32) uint8_t g_tile_arena[TINYOPS_TFLM_TILE_ARENA]
    __attribute__((section(".bss.tinyops_sram")));
alignas(16) uint8_t g_persistent_arena[TINYOPS_TFLM_PERSISTENT_ARENA]
    __attribute__((section(".bss.tinyops_sram")));
// SDRAM: TFLM's non-persistent arena (every activation tensor).
alignas(16) uint8_t g_tensor_arena[TINYOPS_TFLM_TENSOR_ARENA]
    __attribute__((section(".bss.tinyops_sdram")));

tinyops::tflm::Binding g_binding;

int done(const char* status, int code) {
  console_printf("DONE status=%s\n", status);
  return code;
}

}  // namespace

// TFLM's log output goes to the board console.
extern "C" void DebugLog(const char* format, va_list args) {
  char line[256];
  std::vsnprintf(line, sizeof(line), format, args);
  console_puts(line);
}
extern "C" int DebugVsnprintf(char* buffer, size_t buf_size, const char* format, va_list vlist) {
  return std::vsnprintf(buffer, buf_size, format, vlist);
}

int main() {
  const tinyops_port::BoardInfo& info = tinyops_port::board_info();
  console_printf("tflm-example board=%s core=%s clock_hz=%lu\n", info.name, info.core,
                 static_cast<unsigned long>(info.core_hz));

  const tflite::Model* model = tflite::GetModel(g_tinyops_tflm_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    console_printf("model schema %lu, TFLM reads %d\n",
                   static_cast<unsigned long>(model->version()), TFLITE_SCHEMA_VERSION);
    return done("model", 2);
  }

  // 1. TinyOps kernels for the ops it serves, stock TFLM kernels for the rest.
  static tflite::MicroMutableOpResolver<24> resolver;
  if (tinyops::tflm::add_tinyops_kernels(resolver) != kTfLiteOk ||
      resolver.AddReshape() != kTfLiteOk || resolver.AddSoftmax() != kTfLiteOk ||
      resolver.AddLogistic() != kTfLiteOk || resolver.AddQuantize() != kTfLiteOk ||
      resolver.AddDequantize() != kTfLiteOk || resolver.AddMaxPool2D() != kTfLiteOk ||
      resolver.AddRelu() != kTfLiteOk || resolver.AddRelu6() != kTfLiteOk ||
      resolver.AddConcatenation() != kTfLiteOk) {
    return done("resolver", 2);
  }

  // 2. Two-arena allocator: persistent in internal SRAM, activations in SDRAM.
  tflite::MicroAllocator* allocator = tflite::MicroAllocator::Create(
      g_persistent_arena, sizeof(g_persistent_arena), g_tensor_arena, sizeof(g_tensor_arena));
  if (allocator == nullptr) return done("allocator", 2);

  // 3. The SRAM tile arena and the DMA engine, as the external context.
  tinyops::tflm::init_binding(&g_binding, g_tile_arena, sizeof(g_tile_arena),
                              &tinyops_port::dma_engine());
  static tflite::MicroInterpreter interpreter(model, resolver, allocator);
  if (interpreter.SetMicroExternalContext(&g_binding) != kTfLiteOk) return done("context", 2);

  // 4. As usual from here on.
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    if (g_binding.error[0]) console_printf("tinyops: %s\n", g_binding.error);
    return done("allocate", 2);
  }
  console_printf("arenas tile=%lu persistent=%lu non_persistent=%lu used=%lu\n",
                 static_cast<unsigned long>(g_binding.sram_bytes),
                 static_cast<unsigned long>(sizeof(g_persistent_arena)),
                 static_cast<unsigned long>(sizeof(g_tensor_arena)),
                 static_cast<unsigned long>(interpreter.arena_used_bytes()));
  console_printf(
      "prepared streamed=%lu constants_direct=%lu all_direct=%lu sram_planned=%lu\n",
      static_cast<unsigned long>(g_binding.prepared[tinyops::tflm::kModeStreamed]),
      static_cast<unsigned long>(g_binding.prepared[tinyops::tflm::kModeConstantsDirect]),
      static_cast<unsigned long>(g_binding.prepared[tinyops::tflm::kModeAllDirect]),
      static_cast<unsigned long>(g_binding.sram_planned));

  for (size_t i = 0; i < interpreter.inputs_size(); ++i) {
    TfLiteTensor* in = interpreter.input(i);
    fill_pattern(static_cast<uint8_t*>(in->data.data), static_cast<uint32_t>(in->bytes),
                 static_cast<uint32_t>(i + 1));
  }
  const uint32_t c0 = tinyops_port::cycle_count();
  const TfLiteStatus s = interpreter.Invoke();
  const uint32_t c1 = tinyops_port::cycle_count();
  if (s != kTfLiteOk) {
    if (g_binding.error[0]) console_printf("tinyops: %s\n", g_binding.error);
    return done("invoke", 3);
  }
  const uint32_t cycles = c1 - c0;
  const uint64_t us = info.core_hz ? uint64_t{cycles} * 1000000u / info.core_hz : 0;
  console_printf("invoke cycles=%lu ms=%lu.%03lu\n", static_cast<unsigned long>(cycles),
                 static_cast<unsigned long>(us / 1000), static_cast<unsigned long>(us % 1000));

  console_puts("tinyops");
  for (int i = 0; i < tinyops::tflm::num_served_ops(); ++i) {
    console_printf(" %s=%lu", tinyops::tflm::served_op_name(i),
                   static_cast<unsigned long>(g_binding.invocations[i]));
  }
  console_puts("\n");
  console_printf("tinyops tiles=%llu transfers=%llu dma_read=%llu,%llu,%llu sram_high_water=%lu\n",
                 static_cast<unsigned long long>(g_binding.tiles),
                 static_cast<unsigned long long>(g_binding.transfers),
                 static_cast<unsigned long long>(g_binding.dma_read[0]),
                 static_cast<unsigned long long>(g_binding.dma_read[1]),
                 static_cast<unsigned long long>(g_binding.dma_read[2]),
                 static_cast<unsigned long>(g_binding.sram_high_water));

  for (size_t i = 0; i < interpreter.outputs_size(); ++i) {
    const TfLiteTensor* out = interpreter.output(i);
    const auto* p = static_cast<const uint8_t*>(out->data.data);
    const uint32_t n = static_cast<uint32_t>(out->bytes);
    console_printf("output %lu bytes=%lu fnv1a32=%08lx\n", static_cast<unsigned long>(i),
                   static_cast<unsigned long>(n), static_cast<unsigned long>(fnv1a32(p, n)));
    char prefix[16];
    std::snprintf(prefix, sizeof(prefix), "out%lu ", static_cast<unsigned long>(i));
    tinyops_port::console_hex_lines(prefix, p, n, 32);
  }
  return done("0", 0);
}
