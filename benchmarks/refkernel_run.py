"""Running the refkernel_costs.py program under QEMU: per kernel call, the
guest count between the two marker calls that bracket it (cycles of the
project's cycle model when this checkout has one, else executed
instructions), and the kernels the trampolines saw."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from refkernel_build import KERNELS, Core
from refkernel_shapes import HarnessError

ROOT = Path(__file__).resolve().parents[1]

_SHAPE_RE = re.compile(r"^shape (\d+) status=(-?\d+) kernels=([0-9a-f]+)$")


@dataclass
class Measured:
    counts: list[int]  # per shape, baseline subtracted
    kernels: list[list[str]]  # per shape, the trampolined kernels that ran
    counter: str  # "cycles" | "instructions"
    model: str  # what produced the counts
    extra: list[dict] = field(default_factory=list)  # per shape, the other counters


def _use_checkout() -> None:
    """Puts this checkout's package first on sys.path when it can run here (its
    engine built beside it, or TINYOPS_CORE); otherwise the installed package
    (the same checkout, installed) serves."""
    if os.environ.get("TINYOPS_CORE") or any((ROOT / "tinyops_tflm").glob("_core*")):
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))


def _cycle_model():
    """tinyops_tflm.firmware.cycles.run_cycles of this checkout, or None before the
    cycle model exists there."""
    _use_checkout()
    try:
        from tinyops_tflm.firmware.cycles import run_cycles
    except ImportError:
        return None
    return run_cycles


def _parse_console(log: str, n: int) -> list[int]:
    """Kernel masks per shape; raises on a missing shape or a failed call."""
    status, masks = [None] * n, [0] * n
    for line in log.splitlines():
        m = _SHAPE_RE.match(line.strip())
        if m and 0 <= int(m.group(1)) < n:
            status[int(m.group(1))], masks[int(m.group(1))] = int(m.group(2)), int(m.group(3), 16)
    if any(s is None for s in status):
        raise HarnessError("the program did not report every shape:\n" + log[-2000:])
    bad = [i for i, s in enumerate(status) if s != 0]
    if bad:
        raise HarnessError(f"kernel calls failed (non-zero status) for shapes {bad}")
    return masks


def _deltas(marks: list, n: int, key: str) -> list[int]:
    """Per shape, counter `key` between its two markers minus the baseline pair
    (marks are ints, or dicts of counters from the cycle model)."""
    if len(marks) != 2 + 2 * n:
        raise HarnessError(f"{len(marks)} marker hits, expected {2 + 2 * n}")
    val = [m[key] if isinstance(m, dict) else m for m in marks]
    base = val[1] - val[0]
    return [val[3 + 2 * i] - val[2 + 2 * i] - base for i in range(n)]


def run_program(elf: Path, core: Core, n: int, counter: str = "auto") -> Measured:
    """Runs the program under QEMU; per-shape counts between its markers:
    cycles of the project's cycle model when the checkout has one (or
    counter="cycles"), else executed instructions."""
    _use_checkout()
    run_cycles = _cycle_model() if counter in ("auto", "cycles") else None
    if counter == "cycles" and run_cycles is None:
        raise HarnessError("this checkout has no cycle model (tinyops_tflm.firmware.cycles)")
    if run_cycles is not None:
        try:
            r = run_cycles(elf, core.board, timeout=3600)
        except Exception as err:  # noqa: BLE001 - the project's CycleError, reported
            raise HarnessError(f"{elf.name} under the cycle model: {err}") from None
        masks = _parse_console(r.log, n)
        # Instructions and stall cycles by cause beside the cycles (no DMA here).
        keys = [k for k in r.marks[0] if k == "insns" or k.startswith("stall_")] if r.marks else []
        cols = {k: _deltas(r.marks, n, k) for k in keys}
        extra = [{k: cols[k][i] for k in keys} for i in range(n)]
        return Measured(
            _deltas(r.marks, n, "cycles"),
            [_kernel_names(m) for m in masks],
            "cycles",
            f"tinyops cycles --board {core.board} (QEMU cycle model, modelled)",
            extra,
        )
    from tinyops_tflm.firmware import emulate

    plugin = emulate.build_plugin()
    if plugin is None:
        raise HarnessError("no host C compiler to build the QEMU instruction-count plugin")
    r = emulate.run_firmware(elf, core.machine, plugin=plugin, timeout=3600)
    if r.exit_code != 0:
        raise HarnessError(f"{elf.name} exited with {r.exit_code}:\n{r.log[-3000:]}")
    masks = _parse_console(r.log, n)
    return Measured(
        _deltas(r.marks, n, "insns"),
        [_kernel_names(m) for m in masks],
        "instructions",
        "QEMU TCG plugin ports/common/qemu_plugin (executed guest instructions)",
    )


def _kernel_names(mask: int) -> list[str]:
    return [k for i, k in enumerate(KERNELS) if mask >> i & 1]
