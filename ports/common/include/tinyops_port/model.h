// The description of an exported model, as `tinyops export` writes it: the
// plan bytes, one memory binding per plan region (each array already placed in
// its physical memory by its linker section) and the fixed input the runner
// feeds.
#pragma once
#include <cstdint>

#include "dma_partition/schedule.h"

namespace tinyops_port {

using Memory = tinyops::MemoryKind;  // the plan format's memory codes

inline const char* memory_name(Memory m) {
  switch (m) {
    case Memory::kSram: return "sram";
    case Memory::kCcm: return "ccm";
    case Memory::kFlash: return "flash";
    case Memory::kSdram: return "sdram";
    case Memory::kQspi: return "qspi";
    case Memory::kHost: return "host";
  }
  return "?";
}

struct RegionDesc {
  uint32_t kind;  // tinyops::RegionKind of the plan region
  Memory memory;  // where the exporter placed it
  void* base;     // 32-byte aligned array in that memory's section
  uint32_t bytes;
};

struct InputDesc {
  const uint8_t* data;
  uint32_t bytes;
};

struct ModelDesc {
  const char* name;   // as registered, e.g. "mbv3-w1.00-r160"
  const char* board;  // board it was exported for
  const uint8_t* plan;
  uint32_t plan_bytes;
  const RegionDesc* regions;
  uint32_t num_regions;
  const InputDesc* inputs;  // one per graph input, in order
  uint32_t num_inputs;
};

// The model the firmware runs (generated per firmware target by the build).
const ModelDesc& selected_model();

}  // namespace tinyops_port
