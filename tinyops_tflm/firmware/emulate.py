"""Run an exported model on the emulated board (QEMU) and read its outputs back.

``tinyops emulate MODEL.tflite --board stm32f746`` exports the model (the same
plan the host :class:`~tinyops_tflm.Interpreter` runs with ``board=...``),
builds the port's emulated firmware (QEMU ``mps2-an500`` for the Cortex-M7
port, ``mps2-an386`` for the Cortex-M4F port: same core and compile flags,
same internal SRAM budget enforced by the linker script, PSRAM standing in for
SDRAM and QSPI, CPU-copy DMA, semihosting console), runs it and returns the
output arrays and per-op guest instruction counts.

Instruction counts come from the project's QEMU TCG plugin
(ports/common/qemu_plugin/tinyops_cycles.c, built here with the host C
compiler): it counts every executed guest instruction and records the count
each time the firmware calls ``tinyops_op_marker`` at an op boundary. With
``cycles=True`` the same plugin runs the board's cycle model
(:mod:`tinyops_tflm.planning.board_timing`): per-op modelled cycles and stalls by
cause, the DMA costed as the board's DMA engine (its CPU stand-in copies are
then counted neither as instructions nor as cycles).

Builds are cached per board (:mod:`.builds`); the tools are found and run by
:mod:`.toolchain`, QEMU by :mod:`.qemu`, and the firmware's console read by
:mod:`.console`. Their names stay importable from here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..cli import progress
from ..errors import EmulationError, ToolchainMissing
from ..frontend.metrics import human_bytes
from ..frontend.model_bytes import read_model_bytes
from ..planning.boards import Board, get_board

# `name as name`: a name of the parts this module was split into, importable
# from here as before.
from .builds import PLUGIN_SOURCE as PLUGIN_SOURCE
from .builds import _locked, _model_key, board_key, build_firmware, build_plugin, cache_dir, export_cached
from .console import OpCount, read_console, stack_use
from .console import parse_log as parse_log
from .export import ExportResult
from .ports import port_for
from .qemu import EVENT_SYMBOL as EVENT_SYMBOL
from .qemu import LOAD_BEGIN as LOAD_BEGIN
from .qemu import LOAD_END as LOAD_END
from .qemu import MAILBOX_SYMBOL as MAILBOX_SYMBOL
from .qemu import MARKER_SYMBOL as MARKER_SYMBOL
from .qemu import STALL_KEYS, FirmwareRun, run_firmware
from .qemu import parse_record as parse_record
from .toolchain import APT_PACKAGES as APT_PACKAGES
from .toolchain import Tools, find_tools
from .toolchain import _run as _run
from .toolchain import _symbols as _symbols

__all__ = [
    "ToolchainMissing",
    "EmulationError",
    "EmulationResult",
    "find_tools",
    "emulate",
    "build_firmware",
    "build_plugin",
    "run_firmware",
    "cache_dir",
]

_KEEP_MODELS = 12  # exported models kept in a board's emulation cache


@dataclass
class EmulationResult:
    board: str
    machine: str
    model_name: str
    outputs: list[np.ndarray]
    ops: list[OpCount]
    invoke_instructions: int | None  # all ops
    load_instructions: int | None  # plan validation + prepare
    program_instructions: int | None  # everything QEMU ran, boot to exit
    export: ExportResult
    elf: Path
    log: str
    seconds: dict[str, float] = field(default_factory=dict)
    # With the cycle model: modelled cycles (invoke = all ops), clock
    invoke_cycles: int | None = None
    load_cycles: int | None = None
    program_cycles: int | None = None
    clock_hz: int | None = None
    # The stack's high-water mark in the run and the port's stack size (bytes).
    stack_used: int | None = None
    stack_size: int | None = None

    @property
    def total_cycles(self) -> int | None:
        return self.invoke_cycles

    def to_dict(self) -> dict:
        """The run as JSON-friendly data (`tinyops emulate --json`)."""
        d = {
            "board": self.board,
            "machine": self.machine,
            "partitioned": self.export.partitioned,
            "sram_budget": self.export.sram_budget,
            "invoke_instructions": self.invoke_instructions,
            "load_instructions": self.load_instructions,
            "program_instructions": self.program_instructions,
            "ops": [o.to_dict() for o in self.ops],
            "outputs": [{"shape": list(y.shape), "dtype": y.dtype.name} for y in self.outputs],
            "seconds": self.seconds,
            "stack_used": self.stack_used,
            "stack_size": self.stack_size,
        }
        if self.invoke_cycles is not None:
            d.update(
                total_cycles=self.invoke_cycles,
                load_cycles=self.load_cycles,
                program_cycles=self.program_cycles,
                clock_hz=self.clock_hz,
                ms=self.invoke_cycles / self.clock_hz * 1e3,
                latency_kind="modelled (tinyops cycle model, ports/README.md)",
            )
        return d

    def report(self) -> str:
        kind = "partitioned" if self.export.partitioned else "unpartitioned"
        lines = [
            f"tinyops emulate: {self.model_name} on {self.board} (QEMU {self.machine}, "
            f"{kind} plan, SRAM budget {human_bytes(self.export.sram_budget)})"
        ]
        if self.invoke_cycles is not None:
            lines.append(
                f"  {'op':>4}  {'name':<20}{'cycles':>13}{'instructions':>14}{'DMA stall':>11}"
                f"{'mem stall':>11}{'share':>8}"
            )
            for o in self.ops:
                share = 100.0 * (o.cycles or 0) / max(1, self.invoke_cycles)
                lines.append(
                    f"  {o.index:>4}  {o.name:<20}{o.cycles or 0:>13,}{o.instructions or 0:>14,}"
                    f"{o.stall_dma:>11,}{o.stall_mem:>11,}{share:>7.1f}%"
                )
            ms = self.invoke_cycles / self.clock_hz * 1e3
            lines.append(
                f"  total (invoke): {self.invoke_cycles:,} cycles = {ms:.2f} ms at "
                f"{self.clock_hz / 1e6:.0f} MHz, modelled by the tinyops cycle model "
                f"(QEMU run costed as the board; not a board measurement); "
                f"{self.invoke_instructions:,} instructions"
            )
        elif self.invoke_instructions:
            lines.append(f"  {'op':>4}  {'name':<20}{'instructions':>15}{'share':>8}")
            for o in self.ops:
                share = 100.0 * (o.instructions or 0) / self.invoke_instructions
                extra = ""
                if o.tiles is not None:
                    extra = f"  tiles {o.tiles}, dma {human_bytes(o.dma_bytes)}"
                lines.append(f"  {o.index:>4}  {o.name:<20}{o.instructions or 0:>15,}{share:>7.1f}%{extra}")
            lines.append(
                f"  total (invoke): {self.invoke_instructions:,} instructions; "
                f"load/prepare {self.load_instructions or 0:,}; "
                f"whole program {self.program_instructions or 0:,}"
            )
        else:
            lines.append("  (no instruction counts: the QEMU plugin could not be built)")
        for i, y in enumerate(self.outputs):
            lines.append(f"  output {i}: {list(y.shape)} {y.dtype.name}")
        if self.stack_used is not None:
            lines.append(f"  stack: {human_bytes(self.stack_used)} of {human_bytes(self.stack_size)} at the deepest")
        lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)


def emulate(
    model: str | os.PathLike | bytes,
    board: str | Board = "stm32f746",
    *,
    inputs: Sequence[np.ndarray] | None = None,
    sram_budget: int | str | None = None,
    partitioned: bool = True,
    count_instructions: bool = True,
    timeout: float = 900.0,
    jobs: int = 2,
    cycles: bool = False,
) -> EmulationResult:
    """Export `model` for `board`, build the emulated firmware, run it under
    QEMU and return its outputs (and per-op instruction counts: the
    kernels' own, the emulated DMA's copies and event calls left out, as a
    board's DMA engine does the copies).

    With `cycles`, the plugin runs the board's cycle model
    (:mod:`tinyops_tflm.planning.board_timing`): per-op modelled cycles and stalls;
    DMA copies are then the DMA model's, counted neither as instructions nor
    as CPU cycles (the CPU's waits for them are, as ``stall_dma``).

    Without `inputs`, the firmware runs the host demo's deterministic input
    (``make_inputs(graph, 1, seed=0)[0]``)."""

    from ..planning.boards import parse_size

    tools = find_tools()
    b = get_board(board)
    port = port_for(b)
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else read_model_bytes(model)
    budget = None if sram_budget is None else parse_size(sram_budget)
    key = _model_key(data, board_key(b), budget, partitioned, inputs)
    name = f"emu-{key}"
    root = cache_dir() / port.port
    models_dir = root / "models"
    build_dir = root / "build"
    seconds: dict[str, float] = {}
    with _locked(root / ".lock"):
        t0 = time.perf_counter()
        exported = export_cached(
            data,
            b,
            "emu-",
            name,
            models_dir,
            _KEEP_MODELS,
            sram_budget=budget,
            inputs=inputs,
            partitioned=partitioned,
            qspi_capacity=port.qemu_qspi_capacity,
        )
        seconds["export"] = time.perf_counter() - t0
        return build_and_emulate(
            lambda: build_firmware(b, models_dir, build_dir, f"{exported.symbol}_qemu", tools, jobs),
            exported,
            b,
            tools,
            seconds,
            count_instructions=count_instructions,
            cycles=cycles,
            timeout=timeout,
        )


def build_and_emulate(
    build: Callable[[], Path],
    exported: ExportResult,
    board: str | Board,
    tools: Tools,
    seconds: dict[str, float],
    *,
    count_instructions: bool,
    cycles: bool,
    timeout: float,
) -> EmulationResult:
    """Builds the QEMU firmware of `exported` (`build` returns its ELF) and
    the counting plugin, runs it, under the board's cycle model with
    `cycles`, and reads the run back; `seconds` gets "build" and "run".
    Shared by `emulate` and firmware projects (tinyops_tflm.firmware.project)."""
    t0 = time.perf_counter()
    elf = build()
    plugin = build_plugin(tools) if (count_instructions or cycles) else None
    if cycles and plugin is None:
        raise ToolchainMissing("the cycle model needs a host C compiler (cc) to build its QEMU plugin")
    seconds["build"] = time.perf_counter() - t0
    timing = None
    if cycles:
        from ..planning.board_timing import get_timing

        timing = get_timing(board)
    with progress.ticking(f"running {elf.stem} under QEMU"):
        run = run_firmware(elf, port_for(board).qemu_machine, tools, plugin, timeout, timing=timing)
    seconds["run"] = run.seconds
    return finish_emulation(run, exported, board, elf, plugin, seconds, timing=timing)


def finish_emulation(
    run: FirmwareRun,
    exported: ExportResult,
    board: str | Board,
    elf: Path,
    plugin: Path | None,
    seconds: dict[str, float],
    *,
    timing=None,
) -> EmulationResult:
    """Outputs and per-op instruction counts of a finished QEMU run of
    `exported`'s firmware (`plugin`: the counting plugin it ran with, if any;
    `timing`: the board_timing.BoardTiming of its cycle model, if it ran one).
    Shared by `emulate` and firmware projects (tinyops_tflm.firmware.project)."""
    cycles = timing is not None
    b = get_board(board)
    port, name = port_for(b), exported.name
    outputs, ops = read_console(run.exit_code, run.log, exported, "the emulated firmware")
    load = invoke = None
    load_cyc = invoke_cyc = None
    if plugin is not None:
        # Marks: load begin, load end, one per op, end of invoke.
        n = len(ops)
        marks = run.marks
        if len(marks) != n + 3:
            raise EmulationError(f"instruction marks: expected {n + 3}, got {len(marks)}")

        def diff(a: int, b_: int, key: str) -> int:
            return marks[b_].get(key, 0) - marks[a].get(key, 0)

        load = diff(0, 1, "insns")
        for i, o in enumerate(ops):
            o.instructions = diff(2 + i, 3 + i, "insns")
            if cycles:
                o.cycles = diff(2 + i, 3 + i, "cycles")
                o.stalls = {k[len("stall_") :]: diff(2 + i, 3 + i, k) for k in STALL_KEYS}
                o.dma_model = {k[len("dma_") :]: diff(2 + i, 3 + i, k) for k in ("dma_busy", "dma_jobs", "dma_bytes")}
        invoke = diff(2, n + 2, "insns")
        if cycles:
            load_cyc = diff(0, 1, "cycles")
            invoke_cyc = diff(2, n + 2, "cycles")
    return EmulationResult(
        b.name,
        port.qemu_machine,
        name,
        outputs,
        ops,
        invoke,
        load,
        run.total_instructions,
        exported,
        elf,
        run.log,
        seconds,
        invoke_cyc,
        load_cyc,
        (run.total or {}).get("cycles") if cycles else None,
        timing.clock_hz if timing is not None else None,
        *stack_use(run.log),
    )
