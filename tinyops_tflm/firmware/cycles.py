"""Run any semihosted bare-metal ELF under the board cycle model.

``tinyops cycles prog.elf --board stm32f746`` runs an ELF built for the
board's QEMU machine (mps2-an386 for stm32f469, mps2-an500 for stm32f746:
code at 0x0, data at 0x20000000; :mod:`tinyops_tflm.firmware.baremetal` builds such
programs) with the project's TCG plugin in cycle mode
(ports/common/qemu_plugin/tinyops_cycles.c, numbers from
:mod:`tinyops_tflm.planning.board_timing`) and reports the modelled cycles,
instructions and stalls by cause. If the program calls ``tinyops_op_marker``,
the counters at each call are reported too (``marks``) and the differences
between consecutive calls (``sections``).

The cycles are modelled, not measured: see ports/README.md for what the
model covers and how it was validated (CoreMark per MHz on both cores).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CycleError, CycleRunError, EmulationError
from .builds import build_plugin
from .qemu import STALL_KEYS, run_firmware
from .toolchain import find_tools

__all__ = ["CycleRun", "CycleError", "CycleRunError", "run_cycles"]


@dataclass
class CycleRun:
    board: str
    machine: str
    elf: Path
    clock_hz: int
    exit_code: int
    cycles: int
    instructions: int
    stalls: dict[str, int]
    dma: dict[str, int]
    marks: list[dict[str, int]] = field(default_factory=list)
    log: str = ""
    seconds: float = 0.0

    @property
    def ms(self) -> float:
        return self.cycles / self.clock_hz * 1e3

    @property
    def sections(self) -> list[dict[str, int]]:
        """Counter differences between consecutive marks."""
        return [{k: b.get(k, 0) - a.get(k, 0) for k in b} for a, b in zip(self.marks, self.marks[1:])]

    def to_dict(self) -> dict:
        return {
            "board": self.board,
            "machine": self.machine,
            "elf": str(self.elf),
            "clock_hz": self.clock_hz,
            "exit_code": self.exit_code,
            "cycles": self.cycles,
            "instructions": self.instructions,
            "ms": self.ms,
            "stalls": self.stalls,
            "dma": self.dma,
            "marks": self.marks,
            "sections": self.sections,
            "latency_kind": "modelled (tinyops cycle model, ports/README.md)",
        }

    def report(self) -> str:
        ipc = self.instructions / max(1, self.cycles)
        lines = [
            f"tinyops cycles: {self.elf.name} on {self.board} (QEMU {self.machine}, "
            f"cycle model; modelled, not measured)",
            f"  cycles        {self.cycles:>15,}   ({self.ms:.3f} ms at {self.clock_hz / 1e6:.0f} MHz)",
            f"  instructions  {self.instructions:>15,}   ({ipc:.3f} per cycle)",
        ]
        for cause, n in self.stalls.items():
            lines.append(f"  stall {cause:<8}{n:>15,}   ({100.0 * n / max(1, self.cycles):.1f} %)")
        if self.dma.get("jobs"):
            lines.append(
                f"  DMA: {self.dma['jobs']} jobs, {self.dma['bytes']:,} bytes, {self.dma['busy']:,} engine cycles"
            )
        for i, s in enumerate(self.sections):
            lines.append(
                f"  section {i} (mark {i} -> {i + 1}): {s.get('cycles', 0):,} cycles, "
                f"{s.get('insns', 0):,} instructions"
            )
        lines.append(f"  exit code {self.exit_code}; QEMU ran {self.seconds:.1f} s")
        return "\n".join(lines)


def _check_elf(path: Path) -> None:
    if not path.exists():
        raise CycleError(f"{path}: no such file")
    if not path.is_file():
        raise CycleError(f"{path}: not a file")
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise CycleError(f"{path}: not an ELF file")
    if head[4] != 1 or head[5] != 1 or int.from_bytes(head[18:20], "little") != 40:
        raise CycleError(
            f"{path}: not a 32-bit little-endian Arm ELF (build it for the board's "
            "QEMU machine, e.g. arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb)"
        )


def run_cycles(
    elf: str | os.PathLike, board: str = "stm32f746", *, timeout: float = 600.0, allow_nonzero_exit: bool = False
) -> CycleRun:
    """Run `elf` under `board`'s cycle model. Raises CycleError for a missing
    or non-Arm file and (unless `allow_nonzero_exit`) a non-zero exit code."""
    from ..planning.board_timing import get_timing
    from .baremetal import machine_for

    path = Path(elf)
    _check_elf(path)
    try:
        machine = machine_for(board)
    except ValueError as err:
        raise CycleError(str(err)) from None
    timing = get_timing(machine.board)
    tools = find_tools()
    plugin = build_plugin(tools)
    if plugin is None:
        raise CycleError("the cycle model needs a host C compiler (cc) to build its QEMU plugin")
    try:
        run = run_firmware(path, machine.qemu_machine, tools, plugin, timeout, timing=timing, require_marker=False)
    except EmulationError as err:
        raise CycleRunError(str(err)) from None
    if run.exit_code != 0 and not allow_nonzero_exit:
        tail = "\n".join(run.log.strip().splitlines()[-20:])
        raise CycleRunError(
            f"{path.name} exited with code {run.exit_code} under QEMU "
            f"{machine.qemu_machine}" + (f":\n{tail}" if tail else "")
        )
    if run.total is None:
        raise CycleRunError(
            f"{path.name}: the cycle model wrote no totals (did QEMU start? "
            f"exit code {run.exit_code})\n{run.log[-2000:]}"
        )
    total = run.total
    stalls = {k[len("stall_") :]: total.get(k, 0) for k in STALL_KEYS}
    dma = {"jobs": total.get("dma_jobs", 0), "bytes": total.get("dma_bytes", 0), "busy": total.get("dma_busy", 0)}
    return CycleRun(
        timing.board,
        machine.qemu_machine,
        path,
        timing.clock_hz,
        run.exit_code,
        total.get("cycles", 0),
        total.get("insns", 0),
        stalls,
        dma,
        run.marks,
        run.log,
        run.seconds,
    )
