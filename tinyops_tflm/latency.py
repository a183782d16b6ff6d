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
    fully_connected: float  # cycles per MAC
    add: float  # cycles per output element (two requantized inputs)
    mul: float  # cycles per output element
    lut: float  # cycles per element of a table activation (HARD_SWISH, LOGISTIC, RELU...)
    mean: float  # cycles per input element
    pool: float  # cycles per window tap
    other: float  # cycles per output element of anything else
    tile: int  # fixed cycles per kernel call
    transfer: int  # CPU cycles to start and retire one DMA transfer


# Instructions per unit of work measured with `tinyops emulate` (the project's
# QEMU TCG plugin) on this build's Arm DSP kernels, MobileNetV3 models:
# 1x1 conv 1.7 instr/MAC, kxk conv 3.0, depthwise 4.3-4.7, ADD 66 per
# element, MUL 35, table activations 5, MEAN 7 per input element. Cycles
# assume a CPI of 0.9 on the dual-issue Cortex-M7 and 1.25 on the Cortex-M4
# (wait states on flash and SDRAM reads); calibrate against a board run.
def _costs(cpi: float, tile: int, transfer: int) -> CoreCosts:
    return CoreCosts(conv_1x1=1.7 * cpi, conv=3.0 * cpi, depthwise=4.5 * cpi,
                     fully_connected=1.7 * cpi, add=66 * cpi, mul=35 * cpi, lut=5 * cpi,
                     mean=7 * cpi, pool=3 * cpi, other=4 * cpi, tile=tile, transfer=transfer)


CORE_COSTS: dict[str, CoreCosts] = {
    "cortex-m7": _costs(0.9, tile=600, transfer=120),
    "cortex-m4": _costs(1.25, tile=800, transfer=150),
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
    elements = out.size if out is not None else 0
    if op.name == "CONV_2D":
        w = graph.tensors[op.inputs[1]].shape
        return macs * (costs.conv_1x1 if w[1] == 1 and w[2] == 1 else costs.conv)
    per_mac = {"DEPTHWISE_CONV_2D": costs.depthwise, "FULLY_CONNECTED": costs.fully_connected,
               "AVERAGE_POOL_2D": costs.pool, "MAX_POOL_2D": costs.pool}
    if op.name in per_mac:
        return macs * per_mac[op.name]
    if op.name == "MEAN":
        return graph.tensors[op.inputs[0]].size * costs.mean
    per_element = {"ADD": costs.add, "MUL": costs.mul, "HARD_SWISH": costs.lut,
                   "LOGISTIC": costs.lut, "RELU": costs.lut, "RELU6": costs.lut,
                   "LEAKY_RELU": costs.lut}
    return elements * per_element.get(op.name, costs.other)


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
