"""Planning a model for a board: tensor placement and per-op tiling.

The decisions are made by the C++ planner (csrc/host/planner.h)
through the binding; this module turns them into a partitioned plan (bytes
the executor loads, on the host and in firmware) and a readable description.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import BudgetError, PlanError
from ..frontend.ir import Graph
from ..runtime.engine import core, translate_core_error
from .boards import CCM, FLASH, QSPI, SDRAM, SRAM, Board, get_board
from .plan_writer import (
    FLAG_CPU_DIRECT,
    FLAG_DMA,
    NO_REGION,
    PLAN_LAYOUT,
    REGION_ARENA,
    REGION_CONSTANT,
    Placement,
    RegionSpec,
    constant_blobs,
    encode_plan,
    write_plan,
)

# Names of the schedule's Strategy and TileOrder codes (csrc/dma_partition/schedule.h).
STRATEGIES = list(PLAN_LAYOUT["strategies"])
ORDERS = list(PLAN_LAYOUT["orders"])


@dataclass
class TensorPlacement:
    tensor: int
    name: str
    memory: str | None  # None: no storage (unused tensor)
    offset: int
    nbytes: int
    lifetime: tuple[int, int] | None  # first and last op (activations), None for constants
    constant: bool
    region: int | None = None  # plan region (SDRAM has two: the arena and boot-copied weights)


@dataclass
class OpTiling:
    op: int
    name: str
    output: str
    strategy: str
    order: str
    rows: int  # rows per band (rows strategy), elements per chunk (flat)
    channels: int  # output channels per tile (conv rows, channels)
    tiles: int
    transfers: int
    dma_bytes: int
    sram_bytes: int
    buffers: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (offset, bytes)


@dataclass
class Plan:
    board: Board
    sram_budget: int
    memories: list[str]  # plan region i is memories[i]
    placements: list[TensorPlacement]
    ops: list[OpTiling]
    memory_used: dict[str, int]
    sram_peak: int
    plan_bytes: bytes
    region_sizes: list[int]
    region_contents: list[bytes | None]

    def regions_for_engine(self) -> list[tuple[int, bytes | None]]:
        """(bytes, contents) per plan region; SRAM is bound at exactly the budget."""
        out = []
        for name, size, contents in zip(self.memories, self.region_sizes, self.region_contents):
            out.append((self.sram_budget if name == SRAM else size, contents))
        return out

    def totals(self) -> dict[str, int]:
        return {
            "sram_peak": self.sram_peak,
            "sram_budget": self.sram_budget,
            "dma_bytes": sum(o.dma_bytes for o in self.ops),
            "tiles": sum(o.tiles for o in self.ops),
            **{f"{m}_bytes": self.memory_used.get(m, 0) for m in self.memories},
        }

    def to_dict(self) -> dict:
        return {
            "board": self.board.name,
            "weights_in": self.board.weights_in,
            "sram_budget": self.sram_budget,
            "sram_peak": self.sram_peak,
            "memory_used": self.memory_used,
            "tensors": [vars(p) for p in self.placements],
            "ops": [vars(o) for o in self.ops],
            "totals": self.totals(),
        }


def _dma_cycles_per_kib(board: Board, memory: str) -> int:
    """The planner weighs each op's copies by its memories' DMA rates; 0 (the
    cost model's default rate) for SRAM and boards without timing."""
    from .latency import dma_cycles_per_kib

    if memory == SRAM:
        return 0
    try:
        return dma_cycles_per_kib(board, memory)
    except (KeyError, ValueError):  # a custom board without timing
        return 0


def _memories(board: Board, sram_budget: int, constants_in_sdram: bool) -> list[tuple[str, dict]]:
    """Board memories the planner may use, in plan-region order. CCM is
    CPU-only and never given to DMA, so tile buffers cannot live there. With
    `constants_in_sdram`, SDRAM appears twice: the arena, and after it a
    read-only region of weights the firmware copies from QSPI at boot (the
    planner keeps the two within the chip)."""
    out = []
    for m in board.memories:
        if m.name == CCM:
            continue
        capacity = sram_budget if m.name == SRAM else (board.flash_budget if m.name == FLASH else m.capacity)
        out.append(
            (
                m.name,
                {
                    "kind": m.code,
                    "capacity": int(max(capacity, 0)),
                    "dma": m.dma,
                    "writable": m.writable,
                    "cpu_direct": m.name in (SRAM, FLASH),
                    "dma_cycles_per_kib": _dma_cycles_per_kib(board, m.name) if m.dma else 0,
                },
            )
        )
    if constants_in_sdram and board.has(SDRAM) and board.has(QSPI):
        sdram = dict(next(spec for name, spec in out if name == SDRAM))
        sdram.update(writable=False, cpu_direct=False)
        out.append((SDRAM, sdram))
    return out


def plan_model(
    graph: Graph, board: str | Board, sram_budget: int | None = None, constants_in_sdram: bool | None = None
) -> Plan:
    """Place every tensor of `graph` on `board` and tile every op so that the
    tile buffers and resident tensors fit `sram_budget` bytes of internal SRAM
    (default: the board's budget). `constants_in_sdram` (default: the board's
    `constants_in_sdram`) lets weights that miss flash live in SDRAM, copied
    from QSPI at boot, instead of QSPI. Raises BudgetError naming the op, the
    bytes it needs and the budget when that is impossible."""
    board = get_board(board)
    budget = board.default_sram_budget if sram_budget is None else int(sram_budget)
    sram_capacity = board.memory(SRAM).capacity
    if budget <= 0:
        raise BudgetError(f"SRAM budget must be positive, got {budget}")
    if budget > sram_capacity:
        raise BudgetError(f"SRAM budget {budget} bytes exceeds the {sram_capacity} bytes of SRAM on {board.name}")
    base = write_plan(graph)
    _core = core()
    try:
        engine = _core.HostEngine(base.plan, [(base.arena_bytes, None), (len(base.constants), base.constants)])
    except _core.CoreError as err:
        raise translate_core_error(err) from None
    if constants_in_sdram is None:
        constants_in_sdram = board.constants_in_sdram
    elif constants_in_sdram != board.constants_in_sdram:
        # The plan's board says where its weights went (Plan.to_dict "weights_in").
        board = replace(board, constants_in_sdram=constants_in_sdram)
    memories = _memories(board, budget, constants_in_sdram)
    from .latency import tile_cost_model

    result = engine.partition([spec for _, spec in memories], budget, cost=tile_cost_model(board))
    if not result["ok"]:
        failed = result["failed_op"]
        if failed >= 0:
            op = graph.operators[failed]
            out = graph.tensors[op.outputs[0]].name if op.outputs else ""
            raise BudgetError(
                f"op {failed} ({op.name}, output '{out}') needs at least "
                f"{result['needed_bytes']} bytes of SRAM for its tile buffers at its finest "
                f"tiling, but the SRAM budget on {board.name} is {budget} bytes"
            )
        raise BudgetError(f"{board.name} with a {budget}-byte SRAM budget: {result['error']}")

    names = [name for name, _ in memories]
    specs = [spec for _, spec in memories]
    regions: list[RegionSpec] = []
    for name, spec, used in zip(names, specs, result["memory_used"]):
        flags = (FLAG_DMA if spec["dma"] else 0) | (FLAG_CPU_DIRECT if spec["cpu_direct"] else 0)
        kind = REGION_ARENA if spec["writable"] else REGION_CONSTANT
        regions.append(RegionSpec(kind, int(used), spec["kind"], flags))
    placements: list[Placement] = []
    described: list[TensorPlacement] = []
    for t, (mem, offset, first, last) in zip(graph.tensors, result["tensors"]):
        region = NO_REGION if mem < 0 else mem
        placements.append(Placement(region, offset, t.nbytes, first, last))
        described.append(
            TensorPlacement(
                t.index,
                t.name,
                names[mem] if mem >= 0 else None,
                offset,
                t.nbytes,
                None if t.is_constant or mem < 0 else (first, last),
                t.is_constant,
                mem if mem >= 0 else None,
            )
        )
    schedules = [(o["schedule"], o["operand_slots"]) for o in result["ops"]]
    sram_index = names.index(SRAM)
    plan_bytes = encode_plan(graph, regions, placements, schedules, sram_index)
    contents = constant_blobs(graph, placements, regions)

    tilings = []
    for i, (op, o) in enumerate(zip(graph.operators, result["ops"])):
        buffers = {n: (int(off), int(size)) for n, (off, size) in o["buffers"].items()}
        for k, (off, size) in enumerate(o["staged"]):
            if size:
                buffers[f"staged{k}"] = (int(off), int(size))
        tilings.append(
            OpTiling(
                i,
                op.name,
                graph.tensors[op.outputs[0]].name if op.outputs else "",
                STRATEGIES[o["strategy"]],
                ORDERS[o["order"]],
                o["rows"],
                o["channels"],
                o["steps"],
                o["transfers"],
                o["dma_bytes"],
                o["sram_bytes"],
                buffers,
            )
        )
    used: dict[str, int] = {}
    for n, u in zip(names, result["memory_used"]):
        used[n] = used.get(n, 0) + int(u)
    return Plan(
        board,
        budget,
        names,
        described,
        tilings,
        used,
        int(result["sram_peak"]),
        plan_bytes,
        [r.nbytes for r in regions],
        contents,
    )


def check_plan(plan: Plan, graph: Graph) -> list[str]:
    """Independent verification of a plan (used by tests): no two tensors or
    tile buffers live at the same time overlap in a memory, every memory is
    within its capacity, every streamed operand is reachable by DMA and every
    buffer is in internal SRAM. Returns the problems found (empty: valid)."""
    problems: list[str] = []
    board = plan.board
    caps = {
        m.name: (plan.sram_budget if m.name == SRAM else board.flash_budget if m.name == FLASH else m.capacity)
        for m in board.memories
    }
    n_ops = len(graph.operators)
    # Offsets are per plan region; two regions of one memory are separate arrays.
    by_memory: dict[tuple[str, int | None], list[tuple[int, int, int, int, str]]] = {}
    for p in plan.placements:
        if p.memory is None:
            continue
        end = p.offset + p.nbytes
        if end > caps[p.memory]:
            problems.append(f"tensor {p.tensor} '{p.name}' ends at {end}, beyond {p.memory} capacity {caps[p.memory]}")
        first, last = p.lifetime if p.lifetime else (-1, n_ops)
        by_memory.setdefault((p.memory, p.region), []).append((p.offset, end, first, last, f"tensor {p.tensor}"))
        mem = board.memory(p.memory)
        if not p.constant and not mem.writable:
            problems.append(f"activation {p.tensor} '{p.name}' in read-only {p.memory}")
    sram_region = plan.memories.index(SRAM) if SRAM in plan.memories else None
    for o in plan.ops:
        for name, (off, size) in o.buffers.items():
            first = o.op
            last = o.op
            if name == "next_weights":
                last = o.op + 1
            elif name == "weights0" and o.op > 0 and plan.ops[o.op - 1].buffers.get("next_weights") == (off, size):
                first = o.op - 1
            if off + size > plan.sram_budget:
                problems.append(f"op {o.op} buffer {name} ends at {off + size}, beyond the SRAM budget")
            by_memory.setdefault((SRAM, sram_region), []).append((off, off + size, first, last, f"op {o.op} {name}"))
        op = graph.operators[o.op]
        if o.strategy not in ("in_place",):
            for t in (*op.inputs, *op.outputs):
                if t < 0:
                    continue
                mem = plan.placements[t].memory
                if mem is not None and mem not in (SRAM, FLASH) and not board.memory(mem).dma:
                    problems.append(f"op {o.op}: tensor {t} in {mem}, which DMA cannot reach")
        elif o.strategy == "in_place":
            for t in (*op.inputs, *op.outputs):
                mem = plan.placements[t].memory if t >= 0 else None
                if mem in (SDRAM, QSPI):
                    problems.append(f"op {o.op} runs in place on tensor {t} in external {mem}")
    for (mem, _), spans in by_memory.items():
        spans.sort()
        for i, a in enumerate(spans):
            for b in spans[i + 1 :]:
                if b[0] >= a[1]:
                    break
                if not (a[3] < b[2] or b[3] < a[2]):
                    # the same prefetch block listed by both ops is one buffer
                    if a[0] == b[0] and a[1] == b[1] and "weights" in a[4] and "weights" in b[4]:
                        continue
                    problems.append(
                        f"{mem}: {a[4]} [{a[0]}, {a[1]}) overlaps {b[4]} [{b[0]}, {b[1]}) while both are live"
                    )
    for mem, used in plan.memory_used.items():
        if used > caps.get(mem, 0):
            problems.append(f"{mem}: {used} bytes used, capacity {caps.get(mem, 0)}")
    return problems


def plan_error_if_invalid(plan: Plan, graph: Graph) -> None:
    problems = check_plan(plan, graph)
    if problems:
        raise PlanError("invalid plan: " + "; ".join(problems[:5]))
