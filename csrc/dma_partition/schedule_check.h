// Load-time validation of one op's schedule against the tile geometry, so the
// scheduler can trust every buffer it is given.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dma_partition/schedule.h"
#include "dma_partition/tiling.h"

namespace tinyops {

// `resident_offset[k]` is operand k's offset in the SRAM region, or
// kNotResident when it lives elsewhere.
constexpr uint32_t kNotResident = 0xFFFFFFFFu;

Status check_schedule(const OpView& op, const OpSchedule& s, const BufferSlot* operand_slots,
                      const uint32_t* resident_offset, uint32_t sram_bytes, char* message,
                      size_t cap);

}  // namespace tinyops
