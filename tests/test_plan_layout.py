"""The planning boundary: the plan format's sizes, offsets, special values and
status codes are the C++ engine's (_core.PLAN_LAYOUT, python/plan_layout.cc);
the Python writer and the partition description read them from there, and
these tests check that what Python packs is what C++ reads."""

from __future__ import annotations

import struct

import pytest
from test_plan_loader import small_graph

from tinyops_tflm import PlanError
from tinyops_tflm.planning import plan_writer
from tinyops_tflm.planning.partition import plan_model
from tinyops_tflm.runtime.engine import core, status_code, translate_core_error

LAYOUT = core().PLAN_LAYOUT


def test_record_formats_match_the_engine():
    for key, fmt in plan_writer.RECORD_FORMATS.items():
        assert fmt.size == LAYOUT[key], key
    # OpRecord: opcode, counts, tensors offset, OpOptions, then schedule_offset.
    assert LAYOUT["op_schedule_offset_at"] == 16 + LAYOUT["options_bytes"]


def test_schedule_slots_tile_the_schedule_record():
    slots = LAYOUT["schedule_slots"]
    names = [n for n, _ in slots]
    assert len(set(names)) == len(names) == 10
    offsets = [o for _, o in slots]
    step = LAYOUT["buffer_slot_bytes"]
    assert offsets == list(range(offsets[0], offsets[0] + step * len(offsets), step))
    assert offsets[-1] + step == LAYOUT["schedule_operand_slots_at"]
    assert LAYOUT["schedule_operand_slots_at"] + 4 <= LAYOUT["schedule_bytes"]


@pytest.fixture(scope="module")
def plan():
    return plan_model(small_graph(), "stm32f746", 320)  # tight: tile buffers and staging


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def test_plan_schedules_read_back_at_the_exported_offsets(plan):
    """The encoded plan, read with the engine's offsets only, holds the
    buffers the planner reported."""
    data = plan.plan_bytes
    header = struct.unpack_from("<16I", data, 0)
    assert header[0] == LAYOUT["magic"] and header[1] == LAYOUT["version"]
    num_regions, num_tensors, num_ops, pool = header[3], header[4], header[5], header[8]
    assert num_ops == len(plan.ops)
    ops_at = LAYOUT["header_bytes"] + num_regions * LAYOUT["region_bytes"] + num_tensors * LAYOUT["tensor_bytes"]
    seen = 0
    for i, tiling in enumerate(plan.ops):
        rec = ops_at + i * LAYOUT["op_bytes"]
        sched_off = _u32(data, rec + LAYOUT["op_schedule_offset_at"])
        assert sched_off != LAYOUT["no_schedule"]
        sched = pool + sched_off
        buffers = {}
        for name, at in LAYOUT["schedule_slots"]:
            off, size = struct.unpack_from("<II", data, sched + at)
            if size:
                buffers[name] = (off, size)
        slots = pool + _u32(data, sched + LAYOUT["schedule_operand_slots_at"])
        n_operands = struct.unpack_from("<iII", data, rec)[1] + struct.unpack_from("<iII", data, rec)[2]
        for k in range(n_operands):
            off, size = struct.unpack_from("<II", data, slots + k * LAYOUT["buffer_slot_bytes"])
            if size:
                buffers[f"staged{k}"] = (off, size)
        assert buffers == tiling.buffers, (i, tiling.name)
        seen += len(buffers)
    assert seen > 0  # the budget forces tile buffers


def test_status_codes_are_the_engines():
    assert [
        status_code(n)
        for n in ("OK", "INVALID_PLAN", "INVALID_MODEL", "UNSUPPORTED", "OUT_OF_MEMORY", "BAD_ARGUMENT", "INTERNAL")
    ] == list(range(7))
    w = plan_writer.write_plan(small_graph())
    _core = core()
    with pytest.raises(_core.CoreError) as err:
        _core.HostEngine(b"XXXX" + w.plan[4:], [(w.arena_bytes, None), (len(w.constants), w.constants)])
    assert err.value.args[0] == status_code("INVALID_PLAN")
    assert err.value.args[1] == "invalid plan"
    assert isinstance(translate_core_error(err.value), PlanError)
