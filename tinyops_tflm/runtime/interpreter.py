"""Host interpreter with the TFLM / LiteRT shape of API."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..frontend.ir import Graph, Tensor
from ..frontend.metrics import op_macs
from ..frontend.reader import read_model
from ..planning.boards import Board
from ..planning.plan_writer import write_plan
from .engine import core, translate_core_error
from .model_file import FromFile
from .run_all import RunAll
from .stats import InvocationStats, OpStats


def _details(t: Tensor) -> dict[str, Any]:
    if t.quant is not None and t.quant.scales.size:
        scales = np.asarray(t.quant.scales, dtype=np.float32)
        zps = np.asarray(t.quant.zero_points, dtype=np.int32)
        qdim = int(t.quant.quantized_dimension)
    else:
        scales = np.zeros(0, np.float32)
        zps = np.zeros(0, np.int32)
        qdim = 0
    return {
        "name": t.name,
        "index": t.index,
        "shape": np.asarray(t.shape, dtype=np.int32),
        "dtype": t.dtype.type,
        "quantization": (float(scales[0]), int(zps[0])) if scales.size else (0.0, 0),
        "quantization_parameters": {
            "scales": scales,
            "zero_points": zps,
            "quantized_dimension": qdim,
        },
    }


class Interpreter(FromFile, RunAll):
    """Runs a .tflite model on the tinyops engine, bit-exact with TFLM.

    >>> interp = Interpreter.from_file("model.tflite")
    >>> interp.set_input(x, 0); interp.invoke(); y = interp.get_output(0)
    """

    def __init__(
        self,
        graph: Graph,
        board: str | Board | None = None,
        sram_budget: int | str | None = None,
        dma: str = "sync",
        dma_delay_us: int = 0,
    ):
        """`board=None` runs unpartitioned. With a board, every tensor is
        placed in the board's memories and every op streams through at most
        `sram_budget` bytes of internal SRAM (bytes or e.g. "128K"; default:
        the board's budget). `dma="async"` moves data on a worker thread
        (optionally `dma_delay_us` late), so a missing wait shows as wrong bytes."""
        from ..planning.boards import parse_size
        from ..planning.partition import plan_model

        self.graph = graph
        self.board = board
        self.plan = None
        self.stats: InvocationStats | None = None
        self._trace: np.ndarray | None = None
        _core = core()
        if board is None:
            if sram_budget is not None:
                raise ValueError("sram_budget needs a board (e.g. board='stm32f746')")
            self.written = write_plan(graph)
            plan_bytes = self.written.plan
            regions = [(self.written.arena_bytes, None), (len(self.written.constants), self.written.constants)]
        else:
            budget = None if sram_budget is None else parse_size(sram_budget)
            self.plan = plan_model(graph, board, budget)
            self.written = None
            plan_bytes = self.plan.plan_bytes
            regions = self.plan.regions_for_engine()
        try:
            self._engine = _core.HostEngine(plan_bytes, regions, dma, dma_delay_us)
        except _core.CoreError as err:
            raise translate_core_error(err) from None
        self._macs = [op_macs(graph, op) for op in graph.operators]

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        board: str | Board | None = None,
        sram_budget: int | str | None = None,
        **kwargs: Any,
    ) -> "Interpreter":
        return cls(read_model(bytes(data)), board=board, sram_budget=sram_budget, **kwargs)

    # -- details ---------------------------------------------------------
    def get_input_details(self) -> list[dict[str, Any]]:
        return [_details(self.graph.tensors[t]) for t in self.graph.inputs]

    def get_output_details(self) -> list[dict[str, Any]]:
        return [_details(self.graph.tensors[t]) for t in self.graph.outputs]

    @property
    def num_inputs(self) -> int:
        return len(self.graph.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.graph.outputs)

    # -- running ---------------------------------------------------------
    def _io_tensor(self, index: int, ios: tuple[int, ...], what: str) -> Tensor:
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(ios):
            raise IndexError(f"{what} index {index!r} out of range: the model has {len(ios)} {what}s")
        return self.graph.tensors[ios[int(index)]]

    def set_input(self, value: np.ndarray, index: int = 0) -> None:
        t = self._io_tensor(index, self.graph.inputs, "input")
        arr = np.asarray(value)
        if arr.dtype != t.dtype:
            raise ValueError(f"input {index} '{t.name}' expects dtype {t.dtype.name}, got {arr.dtype.name}")
        if tuple(arr.shape) != tuple(t.shape):
            raise ValueError(f"input {index} '{t.name}' expects shape {list(t.shape)}, got {list(arr.shape)}")
        self._engine.set_tensor(t.index, np.ascontiguousarray(arr))

    def invoke(self) -> None:
        _core = core()
        try:
            self._engine.invoke()
        except _core.CoreError as err:
            raise translate_core_error(err) from None
        self.stats = self._collect_stats()

    def _collect_stats(self) -> InvocationStats:
        ops = []
        raw = self._engine.op_stats()
        names = self.plan.memories if self.plan is not None else []
        for i, op in enumerate(self.graph.operators):
            if raw:
                st = raw[i]
                ops.append(
                    OpStats(
                        op.name,
                        i,
                        self._macs[i],
                        tiles=st["tiles"],
                        dma_transfers=st["transfers"],
                        dma_read_bytes=_bytes_per_memory(names, st["read_bytes"]),
                        dma_write_bytes=_bytes_per_memory(names, st["write_bytes"]),
                    )
                )
            else:
                ops.append(OpStats(op.name, i, self._macs[i], tiles=1, dma_transfers=0))
        return InvocationStats(ops, self._engine.sram_high_water if self.plan is not None else None)

    def get_output(self, index: int = 0) -> np.ndarray:
        t = self._io_tensor(index, self.graph.outputs, "output")
        if self.stats is None:  # set only by a successful invoke()
            from ..errors import InvocationError

            raise InvocationError(
                f"get_output({index}) before invoke(): the output "
                f"'{t.name}' holds no result yet; call set_input() and "
                "invoke() first"
            )
        return self._engine.get_tensor(t.index)

    def schedule_trace(self) -> np.ndarray:
        """The plan's timeline (op boundaries, DMA copies and waits, kernel
        calls) from one run of it on the engine's tracing DMA. The schedule is
        fixed, so it is traced once; the run leaves activations as an invoke()
        would."""
        if self.plan is None:
            raise ValueError("a schedule trace needs a board plan (Interpreter(..., board=...))")
        if self._trace is None:
            _core = core()
            try:
                self._trace = self._engine.trace_invoke()
            except _core.CoreError as err:
                raise translate_core_error(err) from None
        return self._trace

    def estimate_latency(self, tables: dict | None = None):
        """Modelled on-board latency of this plan (tinyops_tflm.planning.latency: cost
        tables fitted to the QEMU cycle model + the schedule's DMA timeline).
        Needs a board plan; no prior invoke()."""
        from ..planning.latency import estimate_latency

        if self.plan is None:
            raise ValueError("estimate_latency() needs a board plan (Interpreter(..., board=...))")
        return estimate_latency(self.plan, self.graph, self.schedule_trace(), tables)


def _bytes_per_memory(region_memories: list[str], per_region: list[int]) -> dict[str, int]:
    """Per-region byte counts summed per memory (SDRAM may hold two regions)."""
    out: dict[str, int] = {}
    for name, nbytes in zip(region_memories, per_region):
        if nbytes:
            out[name] = out.get(name, 0) + nbytes
    return out
