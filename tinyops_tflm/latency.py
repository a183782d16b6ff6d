"""Latency estimate of a partitioned run on a board.

A first-order model: per op, compute cycles from the op's work (MACs or
elements) at per-core costs, DMA cycles from the bytes the run actually moved
per memory (the executor's statistics) at each memory's sustained bandwidth,
and per-tile / per-transfer overheads. Double-buffered ops overlap DMA with
compute (the slower of the two dominates, plus the first fetch); single-
buffered ops add them. The per-core costs are estimates for the portable C++
kernels built with arm-none-eabi-gcc -O3; calibrate them with `tinyops
emulate`'s per-op instruction counts and with board measurements
(shared/reference: the paper's on-board latencies).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .boards import Board
from .ir import Graph
from .partition import Plan


@dataclass(frozen=True)
class CoreCosts:
    conv_1x1: float  # cycles per MAC, pointwise convolution / GEMM
    conv: float  # cycles per MAC, other convolutions (im2col + GEMM)
    depthwise: float  # cycles per MAC
    fully_connected: float  # cycles per MAC (GEMV: weight-bandwidth bound)
    elementwise: float  # cycles per output element (ADD, MUL, LUT activations, pooling)
    tile: int  # fixed cycles per kernel call
    transfer: int  # CPU cycles to start and retire one DMA transfer


CORE_COSTS: dict[str, CoreCosts] = {
    # Cortex-M7: dual-issue, SMLAD-class 16-bit MACs, 4 KB D-cache.
    "cortex-m7": CoreCosts(conv_1x1=1.1, conv=1.5, depthwise=2.2, fully_connected=1.4,
                           elementwise=3.0, tile=600, transfer=120),
    # Cortex-M4F: single issue, slower loads from SDRAM/flash.
    "cortex-m4": CoreCosts(conv_1x1=1.9, conv=2.5, depthwise=3.6, fully_connected=2.2,
                           elementwise=5.0, tile=800, transfer=150),
}


@dataclass
class OpLatency:
    op: int
    name: str
    compute_cycles: float
    dma_cycles: float
    cycles: float


@dataclass
class LatencyEstimate:
    board: str
    clock_hz: int
    ops: list[OpLatency] = field(default_factory=list)

    @property
    def cycles(self) -> float:
        return sum(o.cycles for o in self.ops)

    @property
    def ms(self) -> float:
        return self.cycles / self.clock_hz * 1e3

    def __str__(self) -> str:
        compute = sum(o.compute_cycles for o in self.ops) / self.clock_hz * 1e3
        dma = sum(o.dma_cycles for o in self.ops) / self.clock_hz * 1e3
        return (f"estimated latency on {self.board}: {self.ms:.1f} ms "
                f"(compute {compute:.1f} ms, DMA {dma:.1f} ms before overlap)")


def _compute_cycles(graph: Graph, op_index: int, macs: int, costs: CoreCosts) -> float:
    op = graph.operators[op_index]
    out = graph.tensors[op.outputs[0]] if op.outputs else None
    if op.name == "CONV_2D":
        w = graph.tensors[op.inputs[1]].shape
        per_mac = costs.conv_1x1 if w[1] == 1 and w[2] == 1 else costs.conv
        return macs * per_mac
    if op.name == "DEPTHWISE_CONV_2D":
        return macs * costs.depthwise
    if op.name == "FULLY_CONNECTED":
        return macs * costs.fully_connected
    elements = out.size if out is not None else 0
    if op.name == "MEAN":
        elements = graph.tensors[op.inputs[0]].size
    if op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return macs * costs.elementwise / 2
    return elements * costs.elementwise


def estimate_latency(plan: Plan, graph: Graph, stats: dict) -> LatencyEstimate:
    """Estimate from a plan and the statistics of one host run of it
    (`Interpreter.stats` after `invoke()`)."""
    board: Board = plan.board
    costs = CORE_COSTS[board.core]
    bandwidth = {m.name: m.bandwidth_mb_s for m in board.memories}
    result = LatencyEstimate(board.name, board.clock_hz)
    cycles_per_byte = {name: board.clock_hz / (bw * 1e6) for name, bw in bandwidth.items()}
    for tiling, st in zip(plan.ops, stats["ops"]):
        compute = _compute_cycles(graph, tiling.op, st["macs"], costs) + costs.tile * st["tiles"]
        # A copy is limited by the slower side: charge each byte at its
        # source's and destination's rate, the larger of the two.
        read = sum(b * cycles_per_byte[m] for m, b in st["dma_read_bytes"].items())
        write = sum(b * cycles_per_byte[m] for m, b in st["dma_write_bytes"].items())
        dma = max(read, write)
        compute += costs.transfer * st["dma_transfers"]
        double = "in_band1" in tiling.buffers or "weights1" in tiling.buffers or "out_band1" in tiling.buffers
        if double and st["tiles"] > 1:
            first = dma / st["tiles"]
            cycles = max(compute, dma) + first
        else:
            cycles = compute + dma
        result.ops.append(OpLatency(tiling.op, tiling.name, compute, dma, cycles))
    return result
