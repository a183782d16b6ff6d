// The plan format's layout, as the C++ side defines it, for the Python plan
// writer and partition description: no offset or code is written twice.
#pragma once
#include <pybind11/pybind11.h>

#include "dma_partition/schedule.h"

namespace tinyops {

// _core.PLAN_LAYOUT: record sizes, field offsets, special values, enum codes.
pybind11::dict plan_layout();

// The used tile buffers of a schedule by name (PLAN_LAYOUT["schedule_slots"]
// names): {name: (offset, bytes)}.
pybind11::dict schedule_buffers(const OpSchedule& s);

}  // namespace tinyops
