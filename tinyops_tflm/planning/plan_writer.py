"""Graph IR -> serialized plan bytes (csrc/runtime/plan_format.h).

The writer also places every tensor: constants into the constant region
(16-byte aligned, in tensor order) and activations into the arena, sharing
bytes between tensors whose lifetimes do not overlap (greedy by size, the
way TFLM's GreedyMemoryPlanner packs its arena).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ..frontend.ir import Graph
from ..runtime.engine import load_core

# The plan format's constants and offsets come from the engine that reads
# it (_core.PLAN_LAYOUT, python/plan_layout.cc); the record formats below are
# checked against its record sizes at import and by tests/test_plan_layout.py.
PLAN_LAYOUT: dict = load_core().PLAN_LAYOUT
PLAN_MAGIC = PLAN_LAYOUT["magic"]
PLAN_VERSION = PLAN_LAYOUT["version"]
NO_REGION = PLAN_LAYOUT["no_region"]
REGION_ARENA = PLAN_LAYOUT["region_arena"]
REGION_CONSTANT = PLAN_LAYOUT["region_constant"]
NO_SCHEDULE = PLAN_LAYOUT["no_schedule"]
MEMORY_HOST = PLAN_LAYOUT["memory_host"]
FLAG_DMA = PLAN_LAYOUT["flag_dma"]
FLAG_CPU_DIRECT = PLAN_LAYOUT["flag_cpu_direct"]
SCHEDULE_OPERAND_SLOTS_AT = PLAN_LAYOUT["schedule_operand_slots_at"]
ALIGN = 16

_HEADER = struct.Struct("<16I")
_REGION = struct.Struct("<IIII")
_TENSOR = struct.Struct("<BBxx6iIIIfiIIiI")
_OP = struct.Struct("<iIII18i2f4iI3I")
RECORD_FORMATS = {"header_bytes": _HEADER, "region_bytes": _REGION, "tensor_bytes": _TENSOR, "op_bytes": _OP}
for _key, _fmt in RECORD_FORMATS.items():
    if _fmt.size != PLAN_LAYOUT[_key]:
        raise ImportError(
            f"plan record {_key}: the writer packs {_fmt.size} bytes, the engine "
            f"reads {PLAN_LAYOUT[_key]}: rebuild the extension"
        )

# OpOptions field order of csrc/include/tinyops/types.h, with the reader's
# option keys feeding each.
_INT_OPTIONS = (
    ("padding", ("padding",), 0),
    ("stride_w", ("stride_w",), 0),
    ("stride_h", ("stride_h",), 0),
    ("dilation_w", ("dilation_w_factor",), 1),
    ("dilation_h", ("dilation_h_factor",), 1),
    ("filter_w", ("filter_width",), 0),
    ("filter_h", ("filter_height",), 0),
    ("depth_multiplier", ("depth_multiplier",), 0),
    ("activation", ("fused_activation_function",), 0),
    ("keep_dims", ("keep_dims", "keep_num_dims"), 0),
    ("axis", ("axis",), 0),
    ("values_count", ("values_count",), 0),
    ("begin_mask", ("begin_mask",), 0),
    ("end_mask", ("end_mask",), 0),
    ("ellipsis_mask", ("ellipsis_mask",), 0),
    ("new_axis_mask", ("new_axis_mask",), 0),
    ("shrink_axis_mask", ("shrink_axis_mask",), 0),
    ("offset", ("offset",), 0),
)
_FLOAT_OPTIONS = (("alpha", 0.0), ("beta", 0.0))


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def pack_options(options: dict) -> tuple[list[int], list[float]]:
    ints = []
    for _, keys, default in _INT_OPTIONS:
        value = default
        for k in keys:
            if k in options and options[k] is not None:
                value = int(options[k])
                break
        ints.append(value)
    floats = [float(options.get(k, d) or d) for k, d in _FLOAT_OPTIONS]
    return ints, floats


@dataclass
class Placement:
    region: int  # REGION_ARENA, REGION_CONSTANT or NO_REGION
    offset: int
    nbytes: int
    first_op: int = -1  # lifetime [first_op, last_op] in op order
    last_op: int = -1


@dataclass
class WrittenPlan:
    plan: bytes
    arena_bytes: int
    constants: bytes
    placements: list[Placement] = field(default_factory=list)


def lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """First and last op index touching each non-constant tensor.

    Graph inputs are live from before op 0 (-1) until after the last op, so
    invoke() may be repeated without setting the input again (as with
    LiteRT); outputs live until after the last op.
    """
    n_ops = len(graph.operators)
    live: dict[int, list[int]] = {}

    def touch(t: int, i: int) -> None:
        span = live.setdefault(t, [i, i])
        span[0] = min(span[0], i)
        span[1] = max(span[1], i)

    for t in graph.inputs:
        touch(t, -1)
    for i, op in enumerate(graph.operators):
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not graph.tensors[t].is_constant:
                touch(t, i)
    for t in (*graph.inputs, *graph.outputs):
        touch(t, n_ops)
    return {t: (a, b) for t, (a, b) in live.items()}


def plan_arena(sizes: dict[int, int], spans: dict[int, tuple[int, int]]) -> tuple[dict[int, int], int]:
    """Greedy-by-size offsets so that tensors live at the same time never overlap."""
    order = sorted(sizes, key=lambda t: (-sizes[t], t))
    placed: list[tuple[int, int, int, int]] = []  # offset, end, first, last
    offsets: dict[int, int] = {}
    total = 0
    for t in order:
        size = _align(sizes[t])
        first, last = spans[t]
        busy = sorted((o, e) for o, e, f, l in placed if not (l < first or f > last))
        offset = 0
        for o, e in busy:
            if offset + size <= o:
                break
            offset = max(offset, _align(e))
        offsets[t] = offset
        placed.append((offset, offset + size, first, last))
        total = max(total, offset + size)
    return offsets, total


@dataclass
class RegionSpec:
    """One plan region: a physical memory as the plan uses it."""

    kind: int  # REGION_ARENA or REGION_CONSTANT
    nbytes: int
    memory: int  # memory kind code (boards.MEMORY_KIND_CODES, or MEMORY_HOST)
    flags: int  # FLAG_DMA | FLAG_CPU_DIRECT


def constant_blobs(graph: Graph, placements: list[Placement], regions: list[RegionSpec]) -> list[bytes | None]:
    """Contents of every constant region, each tensor's bytes at its offset."""
    blobs: list[bytearray | None] = [bytearray(r.nbytes) if r.kind == REGION_CONSTANT else None for r in regions]
    for t, p in zip(graph.tensors, placements):
        if t.is_constant and p.region != NO_REGION:
            blob = blobs[p.region]
            if blob is None:
                raise ValueError(f"constant tensor {t.index} '{t.name}' placed in an arena region")
            blob[p.offset : p.offset + t.nbytes] = t.data
    return [bytes(b) if b is not None else None for b in blobs]


def encode_plan(
    graph: Graph,
    regions: list[RegionSpec],
    placements: list[Placement],
    schedules: list[tuple[bytes, bytes]] | None = None,
    sram_region: int = NO_REGION,
) -> bytes:
    """Serialize a plan. `schedules[i]` is (OpSchedule bytes, BufferSlot array bytes)."""
    tensors = graph.tensors
    pool = bytearray()

    def pool_add(data: bytes, align: int = 4) -> int:
        off = _align(len(pool), align)
        pool.extend(b"\0" * (off - len(pool)))
        pool.extend(data)
        return off

    tensor_recs = []
    for t, p in zip(tensors, placements):
        dims = list(t.shape) + [0] * (6 - len(t.shape))
        scale, zp, scales_off, n_scales, qdim = 0.0, 0, 0, 0, 0
        if t.quant is not None and t.quant.scales.size:
            scales = np.asarray(t.quant.scales, dtype="<f4")
            scale = float(scales[0])
            zp = int(t.quant.zero_points[0]) if t.quant.zero_points.size else 0
            scales_off = pool_add(scales.tobytes())
            n_scales = int(scales.size)
            qdim = int(t.quant.quantized_dimension)
        name_off = pool_add(t.name.encode("utf-8", "replace") + b"\0", 1)
        tensor_recs.append(
            _TENSOR.pack(
                t.tflite_type,
                len(t.shape),
                *dims,
                p.region,
                p.offset,
                p.nbytes,
                scale,
                zp,
                scales_off,
                n_scales,
                qdim,
                name_off,
            )
        )

    op_recs = []
    for i, op in enumerate(graph.operators):
        ids = np.asarray([*op.inputs, *op.outputs], dtype="<i4")
        tensors_off = pool_add(ids.tobytes())
        sched_off = NO_SCHEDULE
        if schedules is not None:
            sched, slots = schedules[i]
            slots_off = pool_add(slots)
            sched = bytearray(sched)
            struct.pack_into("<I", sched, SCHEDULE_OPERAND_SLOTS_AT, slots_off)
            sched_off = pool_add(bytes(sched))
        ints, floats = pack_options(op.options)
        op_recs.append(
            _OP.pack(
                op.opcode, len(op.inputs), len(op.outputs), tensors_off, *ints, *floats, 0, 0, 0, 0, sched_off, 0, 0, 0
            )
        )

    io = np.asarray([*graph.inputs, *graph.outputs], dtype="<i4").tobytes()
    region_recs = [_REGION.pack(r.kind, r.nbytes, r.memory, r.flags) for r in regions]
    tables = b"".join(region_recs) + b"".join(tensor_recs) + b"".join(op_recs) + io
    pool_offset = _align(_HEADER.size + len(tables), 4)
    body = tables + b"\0" * (pool_offset - _HEADER.size - len(tables)) + bytes(pool)
    total = _HEADER.size + len(body)
    header = _HEADER.pack(
        PLAN_MAGIC,
        PLAN_VERSION,
        total,
        len(regions),
        len(tensors),
        len(graph.operators),
        len(graph.inputs),
        len(graph.outputs),
        pool_offset,
        len(pool),
        sram_region,
        0,
        0,
        0,
        0,
        0,
    )
    return header + body


def write_plan(graph: Graph) -> WrittenPlan:
    """The unpartitioned host plan: one arena, one constant blob."""
    tensors = graph.tensors
    spans = lifetimes(graph)
    arena_sizes = {t: tensors[t].nbytes for t in spans}
    arena_offsets, arena_bytes = plan_arena(arena_sizes, spans)

    placements: list[Placement] = []
    const_bytes = 0
    for t in tensors:
        if t.is_constant:
            offset = _align(const_bytes)
            placements.append(Placement(REGION_CONSTANT, offset, t.nbytes))
            const_bytes = offset + t.nbytes
        elif t.index in arena_offsets:
            first, last = spans[t.index]
            placements.append(Placement(REGION_ARENA, arena_offsets[t.index], t.nbytes, first, last))
        else:
            placements.append(Placement(NO_REGION, 0, t.nbytes))
    host = FLAG_DMA | FLAG_CPU_DIRECT
    regions = [
        RegionSpec(REGION_ARENA, arena_bytes, MEMORY_HOST, host),
        RegionSpec(REGION_CONSTANT, const_bytes, MEMORY_HOST, host),
    ]
    constants = constant_blobs(graph, placements, regions)[1]
    plan = encode_plan(graph, regions, placements)
    return WrittenPlan(plan, arena_bytes, constants, placements)
