"""The paper's deployments as schedules the estimator can cost.

``tinyops`` is this project's plan (tinyops_tflm.planning.partition) and kernels. The
two others are models of what the paper ran, replayed on the same timing
model (tinyops_tflm.planning.latency.replay) with CMSIS-NN's measured kernel costs
(``data/refkernel_costs.json``):

``original`` -- the original TinyOps firmware (shared/reference/README.md):
  the model is copied from QSPI to SDRAM at boot and the whole tensor arena
  lives in SDRAM; only CONV_2D / DEPTHWISE_CONV_2D are partitioned, along rows
  only, with two ping-pong input buffers (band p+1 copied while band p is
  computed, halo rows re-fetched); each op's weights and bias are copied
  after the previous op ended, so that copy is never hidden; filters larger
  than the weight buffer are read in place from SDRAM; outputs are written to
  SDRAM by the CPU; DMA2 memory-to-memory, byte-wide, no burst, 32 KB chunks,
  CPU busy-waiting. Every other op reads and writes SDRAM in place.
``internal`` -- the paper's "Internal" rows: TFLM + CMSIS-NN with every
  tensor in internal SRAM and the weights in internal flash, read in place.

Kernel compute comes from the CMSIS-NN table (cycles with operands in SRAM);
CPU accesses to SDRAM / flash add the board's per-access costs
(tinyops_tflm.planning.board_timing). Each estimate is split into compute, CPU
external-memory cycles and exposed DMA so the paper reproduction can
calibrate one scale per part (tinyops_tflm.workflow.paper).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..errors import ScheduleError
from ..frontend.ir import Graph
from .boards import FLASH, SDRAM, SRAM, Board, get_board
from .latency import EV_KERNEL, EV_START, EV_WAIT_ALL, LatencyEstimate, OpTrace, cost_class, replay

SCHEDULES = ("tinyops", "original", "internal")
CHUNK = 32 * 1024  # the original firmware's DMA chunk
PARTITIONED = ("CONV_2D", "DEPTHWISE_CONV_2D")


@lru_cache(maxsize=1)
def cmsis_nn_table() -> dict[str, Any]:
    """CMSIS-NN kernel costs per core and class, in the estimator's table form."""
    path = resources.files("tinyops_tflm") / "data" / "refkernel_costs.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ScheduleError(
            "no CMSIS-NN cost table (tinyops_tflm/data/refkernel_costs.json); "
            "see ports/README.md, 'CMSIS-NN reference costs'"
        ) from None
    boards = {}
    for core, classes in raw["cores"].items():
        table = {cls: {"core": dict(coef), "stall": {}} for cls, coef in classes.items()}
        boards[core] = {"core": core, "classes": table}
    return {"boards": boards, "meta": raw.get("meta", {})}


def _core_entry(board: Board) -> dict[str, Any]:
    t = cmsis_nn_table()
    if board.core not in t["boards"]:
        raise ScheduleError(f"the CMSIS-NN table has no {board.core} costs")
    return {"boards": {board.name: t["boards"][board.core]}}


def cpu_bytes_cycles(
    board: Board, memory: str, nbytes: float, write: bool = False, interleaved: bool = False, stride: int = 0
) -> float:
    """CPU cycles to read (or write) `nbytes` in `memory`, beyond the same
    accesses in SRAM (board_timing's per-access costs). Sequential streams
    use the streaming cost; `interleaved` word reads (a GEMM walking two
    weight rows at once) defeat the FMC's read-ahead on an uncached bus, so
    each word is an isolated SDRAM read there (Cortex-M4 boards); the M7's
    D-cache turns them back into line fills. Two rows `stride` bytes apart
    lie in different SDRAM rows of the same bank once the stride reaches the
    SDRAM row size (the bank bits are above the row bits), so every switch
    between them reopens a row; below that, a fraction stride / row size of
    the word pairs straddles a row boundary."""
    from .board_timing import cpu_access_cycles_per_byte, get_timing

    t = get_timing(board)
    if write and memory == SDRAM and t.dcache is None:
        # The kernels' output stages store one int8 at a time; uncached, each
        # is its own FMC write.
        return nbytes * t.sdram.write_cycles(1)
    if interleaved and memory == SDRAM and not write and t.dcache is None:
        miss = min(1.0, stride / t.sdram.row_bytes)
        hit_cost, miss_cost = t.sdram.word_read_cycles(True), t.sdram.word_read_cycles(False)
        return nbytes * (hit_cost + miss * (miss_cost - hit_cost)) / 4
    return nbytes * cpu_access_cycles_per_byte(board, memory, write=write)


@dataclass
class ScheduleCost:
    """An estimate split into the parts the paper reproduction calibrates."""

    estimate: LatencyEstimate
    compute: float  # kernel cycles with operands in SRAM
    memory: float  # CPU cycles for external / flash accesses
    dma: float  # exposed DMA cycles
    ops: int

    @property
    def cycles(self) -> float:
        return self.estimate.cycles


def _weights_bytes(graph: Graph, op) -> int:
    return sum(graph.tensors[i].nbytes for i in op.inputs[1:] if i >= 0 and graph.tensors[i].is_constant)


def _chunks(nbytes: int, first_id: int, src: int, dst: int) -> list[tuple]:
    out = []
    for k in range(max(1, math.ceil(nbytes / CHUNK)) if nbytes else 0):
        n = min(CHUNK, nbytes - k * CHUNK)
        out.append((EV_START, first_id + k, n, src, dst))
    return out


def original_traces(graph: Graph, board: Board, sram_budget: int) -> tuple[list[OpTrace], list[float]]:
    """Synthetic traces of the original firmware's schedule and, per op, the
    CPU's extra cycles for SDRAM accesses. Regions: 0 = SRAM, 1 = SDRAM."""
    traces: list[OpTrace] = []
    memory: list[float] = []
    ticket = 1
    for op in graph.operators:
        tr = OpTrace(op.index)
        t = graph.tensors
        out_bytes = sum(t[i].nbytes for i in op.outputs if i >= 0)
        in_bytes = sum(t[i].nbytes for i in op.inputs if i >= 0 and not t[i].is_constant)
        w_bytes = _weights_bytes(graph, op)
        extra = 0.0
        if op.name in PARTITIONED:
            x = t[op.inputs[0]]
            y = t[op.outputs[0]]
            _, in_h, in_w, in_c = x.shape
            _, out_h, out_w, out_c = y.shape
            w = t[op.inputs[1]].shape
            kh = w[1]
            stride = int(op.options.get("stride_h", 1))
            # Weight buffer: the op's filter + bias when at most half the SRAM.
            in_sram = w_bytes <= sram_budget // 2
            if in_sram:
                tr.events += _chunks(w_bytes, ticket, 1, 0)
                ticket += math.ceil(w_bytes / CHUNK)
                tr.events.append((EV_WAIT_ALL, 0, 0, -1, -1))
            else:
                # Read in place by the kernel: once per pair of output pixels
                # (CMSIS-NN's 2-column GEMM) for convolutions.
                # CMSIS-NN's GEMM walks two weight rows (output channels)
                # per pair of output pixels; an odd pixel goes alone.
                passes = max(1, -(-(y.size // out_c) // 2)) if op.name == "CONV_2D" else 1
                row = int(np.prod(w[1:]))
                extra += cpu_bytes_cycles(board, SDRAM, w_bytes * passes, interleaved=True, stride=row)
            band_budget = (sram_budget - (w_bytes if in_sram else 0)) // 2
            row_bytes = in_w * in_c
            halo = max(0, kh - stride)
            rows_out = max(1, min(out_h, (band_budget // max(1, row_bytes) - halo) // max(1, stride)))
            bands = math.ceil(out_h / rows_out)
            band_in = [
                min(in_h, (min(out_h, (b + 1) * rows_out) - b * rows_out) * stride + halo) * row_bytes
                for b in range(bands)
            ]
            work = [(min(out_h, (b + 1) * rows_out) - b * rows_out) * out_w * out_c for b in range(bands)]
            tr.events += _chunks(band_in[0], ticket, 1, 0)
            ticket += math.ceil(band_in[0] / CHUNK)
            tr.events.append((EV_WAIT_ALL, 0, 0, -1, -1))
            for b in range(bands):
                if b + 1 < bands:
                    tr.events += _chunks(band_in[b + 1], ticket, 1, 0)
                    ticket += math.ceil(band_in[b + 1] / CHUNK)
                tr.events.append((EV_KERNEL, 0, work[b], -1, -1))
                if b + 1 < bands:
                    tr.events.append((EV_WAIT_ALL, 0, 0, -1, -1))
            extra += cpu_bytes_cycles(board, SDRAM, out_bytes, write=True)
        else:
            # In place on the SDRAM arena (weights in SDRAM too).
            tr.events.append((EV_KERNEL, 0, max(1, out_bytes), -1, -1))
            extra += cpu_bytes_cycles(board, SDRAM, in_bytes + w_bytes)
            extra += cpu_bytes_cycles(board, SDRAM, out_bytes, write=True)
        traces.append(tr)
        memory.append(extra)
    return traces, memory


def internal_traces(graph: Graph, board: Board) -> tuple[list[OpTrace], list[float]]:
    """Every tensor in SRAM, weights read in place from internal flash."""
    traces, memory = [], []
    for op in graph.operators:
        out = sum(graph.tensors[i].size for i in op.outputs if i >= 0)
        w_bytes = _weights_bytes(graph, op)
        passes = 1
        if op.name == "CONV_2D":
            y = graph.tensors[op.outputs[0]]
            passes = max(1, y.size // y.shape[-1] // 2)
        traces.append(OpTrace(op.index, [(EV_KERNEL, 0, max(1, out), -1, -1)]))
        memory.append(cpu_bytes_cycles(board, FLASH, w_bytes * passes))
    return traces, memory


def schedule_cost(
    graph: Graph, board: str | Board, schedule: str = "tinyops", sram_budget: int | None = None
) -> ScheduleCost:
    """Estimate `graph` on `board` under one of SCHEDULES, split into parts."""
    b = get_board(board)
    budget = b.default_sram_budget if sram_budget is None else int(sram_budget)
    if schedule == "tinyops":
        from ..runtime.interpreter import Interpreter

        est = Interpreter(graph, board=b, sram_budget=budget).estimate_latency()
        stall = sum(o.stall_cycles for o in est.ops)
        compute = sum(o.compute_cycles for o in est.ops) - stall
        dma = sum(o.dma_cycles for o in est.ops)
        return ScheduleCost(est, compute, stall, dma, len(est.ops))
    if schedule == "original":
        traces, memory = original_traces(graph, b, budget)
        dma_kwargs = {"width": 1, "burst": False}
    elif schedule == "internal":
        traces, memory = internal_traces(graph, b)
        dma_kwargs = {}
    else:
        raise ScheduleError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    est = replay(graph, [SRAM, SDRAM], None, traces, b, _core_entry(b), dma_kwargs=dma_kwargs, extra_stall=memory)
    est.model = (
        f"{schedule} schedule: CMSIS-NN cost table + {'byte-wide ' if schedule == 'original' else ''}"
        "DMA timeline replay (tinyops_tflm.planning.schedules)"
    )
    stall = sum(o.stall_cycles for o in est.ops)
    return ScheduleCost(
        est, sum(o.compute_cycles for o in est.ops) - stall, stall, sum(o.dma_cycles for o in est.ops), len(est.ops)
    )


def op_classes(graph: Graph) -> list[str]:
    return [cost_class(graph, op) for op in graph.operators]
