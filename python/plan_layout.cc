#include "plan_layout.h"

#include <cstddef>
#include <utility>

#include "runtime/plan_format.h"
#include "tinyops/status.h"

namespace py = pybind11;

namespace tinyops {

namespace {

struct NamedSlot {
  const char* name;
  size_t offset;
};

// OpSchedule's BufferSlot fields, in declaration order.
const NamedSlot kScheduleSlots[] = {
    {"in_band0", offsetof(OpSchedule, in_band)},
    {"in_band1", offsetof(OpSchedule, in_band) + sizeof(BufferSlot)},
    {"in2_band0", offsetof(OpSchedule, in2_band)},
    {"in2_band1", offsetof(OpSchedule, in2_band) + sizeof(BufferSlot)},
    {"weights0", offsetof(OpSchedule, weights)},
    {"weights1", offsetof(OpSchedule, weights) + sizeof(BufferSlot)},
    {"out_band0", offsetof(OpSchedule, out_band)},
    {"out_band1", offsetof(OpSchedule, out_band) + sizeof(BufferSlot)},
    {"scratch", offsetof(OpSchedule, scratch)},
    {"next_weights", offsetof(OpSchedule, next_weights)},
};

}  // namespace

py::dict plan_layout() {
  py::dict d;
  d["magic"] = kPlanMagic;
  d["version"] = kPlanVersion;
  d["header_bytes"] = sizeof(PlanHeader);
  d["region_bytes"] = sizeof(RegionRecord);
  d["tensor_bytes"] = sizeof(TensorRecord);
  d["op_bytes"] = sizeof(OpRecord);
  d["options_bytes"] = sizeof(OpOptions);
  d["schedule_bytes"] = sizeof(OpSchedule);
  d["buffer_slot_bytes"] = sizeof(BufferSlot);
  d["op_schedule_offset_at"] = offsetof(OpRecord, schedule_offset);
  d["schedule_operand_slots_at"] = offsetof(OpSchedule, operand_slots);
  py::list slots;
  for (const NamedSlot& s : kScheduleSlots) slots.append(py::make_tuple(s.name, s.offset));
  d["schedule_slots"] = slots;
  d["no_region"] = kNoRegion;
  d["no_schedule"] = kNoSchedule;
  d["region_arena"] = static_cast<uint32_t>(RegionKind::kArena);
  d["region_constant"] = static_cast<uint32_t>(RegionKind::kConstant);
  d["memory_host"] = static_cast<uint32_t>(MemoryKind::kHost);
  d["flag_dma"] = static_cast<uint32_t>(kRegionDma);
  d["flag_cpu_direct"] = static_cast<uint32_t>(kRegionCpuDirect);
  // Enum names in value order (index = code).
  d["strategies"] = py::make_tuple("in_place", "staged", "copy", "rows", "flat", "channels");
  d["orders"] = py::make_tuple("channels_outer", "rows_outer");
  static_assert(
      static_cast<int>(Strategy::kChannels) == 5 && static_cast<int>(TileOrder::kRowsOuter) == 1,
      "strategies / orders above follow schedule.h");
  // Status codes by the names tinyops_tflm.engine gives them (STATUS_<name>).
  py::dict status;
  const std::pair<const char*, Status> codes[] = {
      {"OK", Status::kOk},
      {"INVALID_PLAN", Status::kInvalidPlan},
      {"INVALID_MODEL", Status::kInvalidModel},
      {"UNSUPPORTED", Status::kUnsupported},
      {"OUT_OF_MEMORY", Status::kOutOfMemory},
      {"BAD_ARGUMENT", Status::kBadArgument},
      {"INTERNAL", Status::kInternal},
  };
  for (const auto& c : codes) status[c.first] = static_cast<int32_t>(c.second);
  d["status"] = status;
  return d;
}

py::dict schedule_buffers(const OpSchedule& s) {
  py::dict out;
  const auto* base = reinterpret_cast<const uint8_t*>(&s);
  for (const NamedSlot& n : kScheduleSlots) {
    const auto* b = reinterpret_cast<const BufferSlot*>(base + n.offset);
    if (b->bytes) out[n.name] = py::make_tuple(b->offset, b->bytes);
  }
  return out;
}

}  // namespace tinyops
