"""`tinyops emulate MODEL --board B --board-model`: export the model, build the
*board* firmware (ports/<board>, not the QEMU variant), run it on the
register-level board model from reset and compare its outputs with the host
engine byte for byte.

Builds are cached per board under ``$TINYOPS_FW_CACHE/<port>/boardmodel``
(one build directory; the engine is cross-compiled once). `mutation` builds
the same firmware with one deliberately broken driver (the CMake cache
variable TINYOPS_DRIVER_MUTATION, used only by the mutation tests).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ...frontend.model_bytes import read_model_bytes
from ...planning.boards import Board, get_board
from ..builds import _locked, _model_key, board_key, build_target, cache_dir, configure_command, export_cached
from ..console import read_console
from ..export import ExportResult
from ..ports import port_for, source_root
from ..toolchain import _run, find_tools
from .machine import Machine, RunResult

MUTATIONS = (
    "NO_DCACHE_CLEAN",
    "NO_DCACHE_INVALIDATE",
    "DMA_WORD_WIDTH",
    "NO_SDRAM_AUTO_REFRESH",
    "QSPI_DUMMY_CYCLES",
    "LATENCY_AFTER_SWITCH",
)
_KEEP_MODELS = 6  # board-model exports ("bm-") kept in a board's cache


@dataclass
class BoardModelResult:
    board: str
    model_name: str
    outputs: list[np.ndarray]
    host_outputs: list[np.ndarray] | None
    export: ExportResult
    elf: Path
    run: RunResult
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def matches_host(self) -> bool | None:
        if self.host_outputs is None:
            return None
        return len(self.outputs) == len(self.host_outputs) and all(
            a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
            for a, b in zip(self.outputs, self.host_outputs)
        )

    def report(self) -> str:
        r = self.run
        lines = [
            f"tinyops emulate --board-model: {self.model_name} on {self.board} "
            f"(board firmware {self.elf.name} on the register-level board model)",
            f"  from reset to DONE: {r.interrupts} DMA interrupts taken, {r.dma_transfers} "
            f"DMA2 transfers ({r.dma_bytes:,} B), {r.cache_maintenance_ops:,} D-cache "
            "maintenance operations",
            "  (the board model makes no timing claim: the firmware's cycle counts are "
            "counts of the model's DWT clock)",
        ]
        for i, y in enumerate(self.outputs):
            lines.append(f"  output {i}: {list(y.shape)} {y.dtype.name}")
        if self.host_outputs is not None:
            if self.matches_host:
                lines.append("  outputs equal the host engine's, byte for byte")
            else:
                diffs = [
                    int(np.count_nonzero(a != b)) if a.shape == b.shape else -1
                    for a, b in zip(self.outputs, self.host_outputs)
                ]
                lines.append(f"  OUTPUTS DIFFER from the host engine (values differing per output: {diffs})")
        lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)


def run_elf(elf: str | os.PathLike, board: str | Board, timeout: float = 600.0) -> RunResult:
    """Runs a board firmware ELF on the board model from reset to board_exit."""
    return Machine(get_board(board).name, elf).run(timeout)


def build_board_firmware(
    board: str | Board, models_dir: Path, build_dir: Path, target: str, mutation: str | None = None, jobs: int = 2
) -> Path:
    """Configures (once) and builds `target` of the board port (hardware
    variant only), with at most one driver mutation."""
    if mutation is not None and mutation not in MUTATIONS:
        raise ValueError(f"unknown driver mutation {mutation!r}; known: {', '.join(MUTATIONS)}")
    tools = find_tools()
    port = port_for(board)
    src = source_root() / "ports" / port.port
    defines = ["-DTINYOPS_BUILD_BOARD=ON", "-DTINYOPS_BUILD_QEMU=OFF", f"-DTINYOPS_DRIVER_MUTATION={mutation or ''}"]
    # Configured on every build: the mutation is a cache variable.
    fresh = not (build_dir / "CMakeCache.txt").is_file()
    cmd = configure_command(tools, src, build_dir, models_dir, defines, fresh=fresh)
    _run(cmd, "configuring the board firmware build")
    return build_target(tools, build_dir, target, jobs)


def board_cache(board: str | Board) -> Path:
    return cache_dir() / port_for(board).port / "boardmodel"


def run_selftest(board: str | Board, mutation: str | None = None, timeout: float = 300.0, jobs: int = 2) -> RunResult:
    """Builds the board's self-test firmware (clocks, SDRAM, QSPI, DMA self-test;
    no model), optionally with a driver mutation, and runs it on the model."""
    b = get_board(board)
    root = board_cache(b)
    with _locked(root / ".lock"):
        models = root / "models"
        models.mkdir(parents=True, exist_ok=True)
        elf = build_board_firmware(b, models, root / "build", "selftest", mutation, jobs)
        return Machine(b.name, elf).run(timeout)


def emulate_board(
    model: str | os.PathLike | bytes,
    board: str | Board = "stm32f746",
    *,
    inputs: Sequence[np.ndarray] | None = None,
    sram_budget: int | str | None = None,
    partitioned: bool = True,
    compare: bool = True,
    timeout: float = 900.0,
    jobs: int = 2,
) -> BoardModelResult:
    """Export `model` for `board`, build the board firmware, run it on the board
    model from reset and (with `compare`) run the host engine on the same plan
    and input for a byte-exact comparison (see BoardModelResult.matches_host)."""
    from ...planning.boards import parse_size

    b = get_board(board)
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else read_model_bytes(model)
    budget = None if sram_budget is None else parse_size(sram_budget)
    name = f"bm-{_model_key(data, board_key(b), budget, partitioned, inputs)}"
    root = board_cache(b)
    models_dir = root / "models"
    seconds: dict[str, float] = {}
    with _locked(root / ".lock"):
        t0 = time.perf_counter()
        exported = export_cached(
            data, b, "bm-", name, models_dir, _KEEP_MODELS, sram_budget=budget, inputs=inputs, partitioned=partitioned
        )
        seconds["export"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        elf = build_board_firmware(b, models_dir, root / "build", exported.symbol, None, jobs)
        seconds["build"] = time.perf_counter() - t0
        run = Machine(b.name, elf).run(timeout)
        seconds["board model"] = run.seconds
    outputs, _ = read_console(run.exit_code, run.console, exported, "the board firmware")
    host = None
    if compare:
        t0 = time.perf_counter()
        host = host_outputs(data, b, budget, exported.inputs, partitioned)
        seconds["host"] = time.perf_counter() - t0
    return BoardModelResult(b.name, name, outputs, host, exported, elf, run, seconds)


def host_outputs(
    data: bytes, board: Board, budget: int | None, inputs: list[np.ndarray], partitioned: bool
) -> list[np.ndarray]:
    """The host engine on the plan the firmware runs (same board, budget, input)."""
    from ...frontend.reader import read_model
    from ...runtime.interpreter import Interpreter

    graph = read_model(data)
    interp = Interpreter(graph, board=board.name if partitioned else None, sram_budget=budget if partitioned else None)
    return interp.run(*inputs)
