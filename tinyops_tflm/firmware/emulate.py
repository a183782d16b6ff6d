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


Builds are cached per board under ``$TINYOPS_FW_CACHE`` (default
``~/.cache/tinyops_tflm/firmware``): the engine is compiled once per board,
later runs only compile the exported model and link. A file lock serialises
concurrent runs on the same board.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..cli import progress
from ..errors import EmulationError, ToolchainMissing
from ..frontend.metrics import human_bytes
from ..planning.boards import Board, get_board
from .export import ExportResult, export_model, port_for, source_root

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

APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
MARKER_SYMBOL = "tinyops_op_marker"
EVENT_SYMBOL = "tinyops_dma_event"  # ports/common/src/dma_events.cc
MAILBOX_SYMBOL = "tinyops_dma_mailbox"
PLUGIN_SOURCE = ("ports", "common", "qemu_plugin", "tinyops_cycles.c")
# Counter keys of the plugin's records that are stalls, by cause.
STALL_KEYS = ("stall_mem", "stall_fetch", "stall_branch", "stall_dma")
LOAD_BEGIN, LOAD_END = 0xFFFF0000, 0xFFFF0001
_KEEP_MODELS = 12  # exported models kept in a board's emulation cache


@dataclass
class Tools:
    gcc: str
    gxx: str
    nm: str
    size: str
    cmake: str
    ninja: str | None
    qemu: str
    host_cc: str | None


def find_tools() -> Tools:
    """Locate the tools; raise ToolchainMissing naming every missing one."""
    which = shutil.which
    found = {
        "arm-none-eabi-gcc": which("arm-none-eabi-gcc"),
        "arm-none-eabi-g++": which("arm-none-eabi-g++"),
        "arm-none-eabi-nm": which("arm-none-eabi-nm"),
        "arm-none-eabi-size": which("arm-none-eabi-size"),
        "cmake": which("cmake"),
        "qemu-system-arm": which("qemu-system-arm"),
    }
    missing = [k for k, v in found.items() if v is None]
    if missing:
        hints = []
        if any(m.startswith("arm-none-eabi") for m in missing) or "qemu-system-arm" in missing:
            hints.append(f"on Debian/Ubuntu: apt-get install --no-install-recommends {APT_PACKAGES}")
        if "cmake" in missing:
            hints.append("CMake >= 3.20: pip install cmake (or apt-get install cmake)")
        raise ToolchainMissing(
            f"emulation needs {', '.join(missing)}, not found on PATH" + ("; " + "; ".join(hints) if hints else "")
        )
    # The newlib C++ runtime is a separate Debian package; check it is there.
    probe = subprocess.run(
        [
            found["arm-none-eabi-g++"],
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
            "--specs=nano.specs",
            "-print-file-name=libstdc++_nano.a",
        ],
        capture_output=True,
        text=True,
    )
    lib = probe.stdout.strip()
    if probe.returncode != 0 or not os.path.isabs(lib):
        raise ToolchainMissing(
            "arm-none-eabi-g++ has no newlib C++ library (libstdc++_nano.a); "
            "install libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib"
        )
    return Tools(
        found["arm-none-eabi-gcc"],
        found["arm-none-eabi-g++"],
        found["arm-none-eabi-nm"],
        found["arm-none-eabi-size"],
        found["cmake"],
        which("ninja"),
        found["qemu-system-arm"],
        which("cc") or which("gcc") or which("clang"),
    )


def cache_dir() -> Path:
    env = os.environ.get("TINYOPS_FW_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinyops_tflm" / "firmware"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(
    cmd: Sequence[str], what: str, timeout: float | None = None, *, bar: bool = False, **kw
) -> subprocess.CompletedProcess:
    if bar and progress.enabled():  # a terminal: show the build's steps
        proc = progress.run_streamed(cmd, what, timeout, **kw)
    else:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise EmulationError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


def build_plugin(tools: Tools | None = None, out_dir: Path | None = None) -> Path | None:
    """Build the TCG plugin (instruction counts and the cycle model; once per
    source version); None when there is no host C compiler."""
    tools = tools or find_tools()
    if tools.host_cc is None:
        return None
    src = source_root().joinpath(*PLUGIN_SOURCE)
    # The main file and the parts it includes (one translation unit).
    h = hashlib.sha256()
    for part in sorted(src.parent.glob("*.[ch]")):
        h.update(part.name.encode() + b"\0" + part.read_bytes())
    digest = h.hexdigest()[:12]
    out_dir = out_dir or cache_dir() / "plugin"
    so = out_dir / f"libtinyops_cycles-{digest}.so"
    if so.is_file():
        return so
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = so.with_suffix(f".{os.getpid()}.tmp")
    _run([tools.host_cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src)], "building the QEMU plugin")
    os.replace(tmp, so)
    return so


def build_firmware(
    board: str | Board,
    models_dir: Path,
    build_dir: Path,
    target: str,
    tools: Tools | None = None,
    jobs: int = 2,
    qemu_only: bool = True,
    source_dir: Path | None = None,
) -> Path:
    """Configure (once) and build `target` of the board's port (or of the
    firmware project at `source_dir`); returns the ELF."""
    tools = tools or find_tools()
    port = port_for(board)
    src = source_dir or source_root() / "ports" / port.port
    cache = build_dir / "CMakeCache.txt"
    if not cache.is_file():
        cmd = [
            tools.cmake,
            "-S",
            str(src),
            "-B",
            str(build_dir),
            f"-DTINYOPS_MODELS_DIR={models_dir}",
            f"-DTINYOPS_BUILD_BOARD={'OFF' if qemu_only else 'ON'}",
        ]
        # Extra configure options, e.g. -DTINYOPS_FW_OPT=-O3.
        cmd += shlex.split(os.environ.get("TINYOPS_FW_CMAKE_ARGS", ""))
        if tools.ninja:
            cmd += ["-G", "Ninja"]
        _run(cmd, "configuring the firmware build")
    _run([tools.cmake, "--build", str(build_dir), "--target", target, "-j", str(jobs)], f"building {target}", bar=True)
    elf = build_dir / f"{target}.elf"
    if not elf.is_file():
        raise EmulationError(f"build produced no {elf}")
    return elf


def _symbols(tools: Tools, elf: Path) -> dict[str, tuple[int, int]]:
    """name -> (address without the Thumb bit, size) of the ELF's symbols."""
    out = _run([tools.nm, "-S", str(elf)], "reading firmware symbols").stdout
    syms: dict[str, tuple[int, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16))
        elif len(parts) == 3:
            syms.setdefault(parts[2], (int(parts[0], 16) & ~1, 0))
    return syms


def _symbol_address(tools: Tools, elf: Path, symbol: str) -> int:
    syms = _symbols(tools, elf)
    if symbol not in syms:
        raise EmulationError(f"{elf.name} has no symbol {symbol}")
    return syms[symbol][0]


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
            if EVENT_SYMBOL in syms and MAILBOX_SYMBOL in syms:
                addr, size = syms[EVENT_SYMBOL]
                args += [
                    f"event={addr:#x}",
                    f"event_end={addr + max(size, 2):#x}",
                    f"mailbox={syms[MAILBOX_SYMBOL][0]:#x}",
                ]
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


# ---------------------------------------------------------------------------


@dataclass
class OpCount:
    index: int
    name: str
    instructions: int | None
    tiles: int | None = None
    transfers: int | None = None
    dma_bytes: int | None = None
    # With the cycle model (emulate(..., cycles=True)): modelled cycles of the
    # op and its stalls by cause ("mem", "fetch", "branch", "dma").
    cycles: int | None = None
    stalls: dict[str, int] = field(default_factory=dict)
    # DMA model during the op: engine cycles of the jobs started, jobs, bytes
    dma_model: dict[str, int] = field(default_factory=dict)

    @property
    def stall_dma(self) -> int:
        return self.stalls.get("dma", 0)

    @property
    def stall_mem(self) -> int:
        return self.stalls.get("mem", 0)

    def to_dict(self) -> dict:
        d = {"op": self.index, "name": self.name, "instructions": self.instructions}
        if self.cycles is not None:
            d["cycles"] = self.cycles
            d.update({f"stall_{k}": v for k, v in self.stalls.items()})
            d.update({f"dma_model_{k}": v for k, v in self.dma_model.items()})
        if self.tiles is not None:
            d.update(tiles=self.tiles, transfers=self.transfers, dma_bytes=self.dma_bytes)
        return d


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
        lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)


_OP_RE = re.compile(r"^op (\d+) (\S+) cycles=(\d+)(?: tiles=(\d+) transfers=(\d+) dma_bytes=(\d+))?$")


def parse_log(log: str, export: ExportResult) -> tuple[list[np.ndarray], list[OpCount]]:
    """Outputs and per-op lines of the runner's console protocol
    (ports/common/src/runner.cc)."""
    hexes: dict[int, list[str]] = {}
    declared: dict[int, tuple[int, str]] = {}
    ops: list[OpCount] = []
    done = None
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("out") and " " in line and line[3 : line.index(" ")].isdigit():
            k = int(line[3 : line.index(" ")])
            hexes.setdefault(k, []).append(line[line.index(" ") + 1 :])
        elif line.startswith("output "):
            m = re.match(r"output (\d+) bytes=(\d+) fnv1a32=([0-9a-f]+)", line)
            if m:
                declared[int(m.group(1))] = (int(m.group(2)), m.group(3))
        elif line.startswith("op "):
            m = _OP_RE.match(line)
            if m:
                tiles = int(m.group(4)) if m.group(4) else None
                ops.append(
                    OpCount(
                        int(m.group(1)),
                        m.group(2),
                        None,
                        tiles,
                        int(m.group(5)) if m.group(5) else None,
                        int(m.group(6)) if m.group(6) else None,
                    )
                )
        elif line.startswith("DONE"):
            done = line
    if done != "DONE status=0":
        raise EmulationError("the firmware did not finish cleanly:\n" + "\n".join(log.strip().splitlines()[-25:]))
    outputs = []
    for i, (shape, dtype) in enumerate(zip(export.output_shapes, export.output_dtypes)):
        if i not in hexes or i not in declared:
            raise EmulationError(f"the firmware printed no output {i}")
        raw = bytes.fromhex("".join(hexes[i]))
        nbytes, fnv = declared[i]
        h = 2166136261
        for byte in raw:
            h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
        if len(raw) != nbytes or f"{h:08x}" != fnv:
            raise EmulationError(
                f"output {i}: console bytes do not match the firmware's checksum ({len(raw)} of {nbytes} bytes)"
            )
        arr = np.frombuffer(raw, dtype=np.dtype(dtype))
        if arr.size != int(np.prod(shape)):
            raise EmulationError(f"output {i}: {arr.size} values, shape {list(shape)} expected")
        outputs.append(arr.reshape(shape).copy())
    return outputs, ops


def board_key(b: Board) -> str:
    """The board as far as it changes a plan: its name, and where weights go."""
    return b.name if b.constants_in_sdram else f"{b.name}|weights-in-qspi"


def _model_key(
    data: bytes, board: str, budget: int | None, partitioned: bool, inputs: Sequence[np.ndarray] | None
) -> str:
    h = hashlib.sha256()
    h.update(data)
    h.update(f"|{board}|{budget}|{partitioned}|".encode())
    for x in inputs or ():
        x = np.ascontiguousarray(x)
        h.update(f"{x.dtype.str}{x.shape}".encode())
        h.update(x.tobytes())
    return h.hexdigest()[:12]


def _prune(models_dir: Path, keep: str) -> None:
    """Keep the most recently used exported models only (the registry and
    every configure grow with them)."""
    dirs = sorted(
        (d for d in models_dir.iterdir() if d.is_dir() and d.name.startswith("emu-")),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    stale = [d for d in dirs[_KEEP_MODELS:] if d.name != keep]
    if not stale:
        return
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    reg = models_dir / "models.cmake"
    if reg.is_file():
        names = {d.name for d in stale}
        lines = [ln for ln in reg.read_text().splitlines() if not any(f'NAME "{n}"' in ln for n in names)]
        reg.write_text("\n".join(lines) + "\n")


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
    QEMU and return its outputs (and per-op instruction counts).

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
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else Path(model).read_bytes()
    budget = None if sram_budget is None else parse_size(sram_budget)
    key = _model_key(data, board_key(b), budget, partitioned, inputs)
    name = f"emu-{key}"
    root = cache_dir() / port.port
    models_dir = root / "models"
    build_dir = root / "build"
    seconds: dict[str, float] = {}
    with _locked(root / ".lock"):
        t0 = time.perf_counter()
        exported = export_model(
            data,
            b,
            name,
            models_dir,
            sram_budget=budget,
            inputs=inputs,
            partitioned=partitioned,
            qspi_capacity=port.qemu_qspi_capacity,
        )
        os.utime(exported.model_dir)
        _prune(models_dir, name)
        seconds["export"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        elf = build_firmware(b, models_dir, build_dir, f"{exported.symbol}_qemu", tools, jobs)
        plugin = build_plugin(tools) if (count_instructions or cycles) else None
        if cycles and plugin is None:
            raise ToolchainMissing("the cycle model needs a host C compiler (cc) to build its QEMU plugin")
        seconds["build"] = time.perf_counter() - t0
        timing = None
        if cycles:
            from ..planning.board_timing import get_timing

            timing = get_timing(b)
        with progress.ticking(f"running {exported.symbol}_qemu under QEMU"):
            run = run_firmware(elf, port.qemu_machine, tools, plugin, timeout, timing=timing)
        seconds["run"] = run.seconds
    return finish_emulation(run, exported, b, elf, plugin, seconds, timing=timing)


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
    if run.exit_code != 0:
        raise EmulationError(
            f"the emulated firmware exited with code {run.exit_code}:\n" + "\n".join(run.log.strip().splitlines()[-25:])
        )
    outputs, ops = parse_log(run.log, exported)
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
    )
