"""Running a firmware ELF under QEMU (semihosting console, exit code) with the
project's TCG plugin, which records its counters at every tinyops_op_marker
call and at exit, and with a board's timing runs its cycle model."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmulationError
from .toolchain import Tools, _symbols, find_tools

MARKER_SYMBOL = "tinyops_op_marker"
EVENT_SYMBOL = "tinyops_dma_event"  # ports/common/src/dma_events.cc
MAILBOX_SYMBOL = "tinyops_dma_mailbox"
# A file for the plugin's per-translation-block execution counts (instruction
# counting runs only; tools/profile_firmware.py reads it).
PROFILE_ENV = "TINYOPS_QEMU_PROFILE"
# Counter keys of the plugin's records that are stalls, by cause.
STALL_KEYS = ("stall_mem", "stall_fetch", "stall_branch", "stall_dma")
LOAD_BEGIN, LOAD_END = 0xFFFF0000, 0xFFFF0001


def parse_record(line: str) -> tuple[str, dict[str, int]] | None:
    """One plugin record ("mark insns=1 cycles=2 ..." / "total ...")."""
    kind, _, rest = line.strip().partition(" ")
    if kind not in ("mark", "total"):
        return None
    values: dict[str, int] = {}
    for field_ in rest.split():
        key, eq, value = field_.partition("=")
        if eq and value.lstrip("-").isdigit():
            values[key] = int(value)
    return kind, values


@dataclass
class FirmwareRun:
    exit_code: int
    log: str
    marks: list[dict[str, int]]  # counters at each tinyops_op_marker call
    total: dict[str, int] | None  # counters at exit
    seconds: float
    cycle_model: bool = False  # counters include cycles and stalls

    @property
    def total_instructions(self) -> int | None:
        return None if self.total is None else self.total.get("insns")


def run_firmware(
    elf: Path,
    machine: str,
    tools: Tools | None = None,
    plugin: Path | None = None,
    timeout: float = 600.0,
    timing=None,
    require_marker: bool = True,
) -> FirmwareRun:
    """Run an emulated firmware under QEMU (semihosting console, exit code).

    With `plugin`, records the plugin's counters at every tinyops_op_marker
    call and at exit; with `timing` (a board_timing.BoardTiming) too, the
    plugin runs that board's cycle model."""
    tools = tools or find_tools()
    cmd = [
        tools.qemu,
        "-M",
        machine,
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting",
        "-kernel",
        str(elf),
    ]
    marks_file = config_file = None
    if plugin is not None:
        syms = _symbols(tools, elf)
        args = []
        if MARKER_SYMBOL in syms:
            args.append(f"marker={syms[MARKER_SYMBOL][0]:#x}")
        elif require_marker:
            raise EmulationError(f"{elf.name} has no symbol {MARKER_SYMBOL}")
        marks_file = elf.with_suffix(f".marks.{os.getpid()}")
        args.append(f"out={marks_file}")
        if timing is not None:
            config_file = elf.with_suffix(f".timing.{os.getpid()}")
            config_file.write_text(timing.config_text())
            args.append(f"config={config_file}")
        # The DMA event function: both modes leave it and the emulated DMA's
        # copies out of the counts (the DMA engine's work on a board).
        if EVENT_SYMBOL in syms and MAILBOX_SYMBOL in syms:
            addr, size = syms[EVENT_SYMBOL]
            args += [
                f"event={addr:#x}",
                f"event_end={addr + max(size, 2):#x}",
                f"mailbox={syms[MAILBOX_SYMBOL][0]:#x}",
            ]
        profile = os.environ.get(PROFILE_ENV)
        if profile and timing is None:
            args.append(f"profile={profile}")
        cmd += ["-plugin", ",".join([str(plugin)] + args)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        raise EmulationError(
            f"{elf.name} did not finish within {timeout:.0f} s under QEMU "
            f"(hang?); last output:\n" + "\n".join(out.splitlines()[-20:])
        ) from None
    finally:
        if config_file is not None:
            with contextlib.suppress(FileNotFoundError):
                config_file.unlink()
    seconds = time.perf_counter() - t0
    marks: list[dict[str, int]] = []
    total = None
    if marks_file is not None:
        try:
            for line in marks_file.read_text().splitlines():
                rec = parse_record(line)
                if rec is None:
                    continue
                if rec[0] == "mark":
                    marks.append(rec[1])
                else:
                    total = rec[1]
        except FileNotFoundError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                marks_file.unlink()
    log = proc.stdout + (("\n" + proc.stderr) if proc.stderr.strip() else "")
    return FirmwareRun(proc.returncode, log, marks, total, seconds, timing is not None)
