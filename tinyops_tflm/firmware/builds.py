"""Firmware and plugin builds in a per-board cache (``$TINYOPS_FW_CACHE``,
default ``~/.cache/tinyops_tflm/firmware``): the engine is compiled once per
board and later builds only compile the exported model and link; a file lock
serialises concurrent runs, and the cache keeps the recently used exports only
(the registry and every configure grow with them)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import EmulationError
from ..planning.boards import Board
from .export import ExportResult, export_model
from .ports import port_for, source_root
from .toolchain import Tools, _run, find_tools

PLUGIN_SOURCE = ("ports", "common", "qemu_plugin", "tinyops_cycles.c")


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


def configure_command(
    tools: Tools, src: Path, build_dir: Path, models_dir: Path, defines: Sequence[str], *, fresh: bool = True
) -> list[str]:
    """The CMake configure command of a port build; `fresh` (no CMakeCache.txt
    yet) adds TINYOPS_FW_CMAKE_ARGS and the generator, which a reconfigure keeps."""
    cmd = [tools.cmake, "-S", str(src), "-B", str(build_dir), f"-DTINYOPS_MODELS_DIR={models_dir}", *defines]
    if fresh:
        # Extra configure options, e.g. -DTINYOPS_FW_OPT=-O3.
        cmd += shlex.split(os.environ.get("TINYOPS_FW_CMAKE_ARGS", ""))
        if tools.ninja:
            cmd += ["-G", "Ninja"]
    return cmd


def build_target(tools: Tools, build_dir: Path, target: str, jobs: int, *, bar: bool = False) -> Path:
    """Builds `target` of a configured build; returns its ELF."""
    _run([tools.cmake, "--build", str(build_dir), "--target", target, "-j", str(jobs)], f"building {target}", bar=bar)
    elf = build_dir / f"{target}.elf"
    if not elf.is_file():
        raise EmulationError(f"build produced no {elf}")
    return elf


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
    if not (build_dir / "CMakeCache.txt").is_file():
        defines = [f"-DTINYOPS_BUILD_BOARD={'OFF' if qemu_only else 'ON'}"]
        _run(configure_command(tools, src, build_dir, models_dir, defines), "configuring the firmware build")
    return build_target(tools, build_dir, target, jobs, bar=True)


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


def prune_models(models_dir: Path, prefix: str, keep: str, count: int) -> None:
    """Keep only the `count` most recently used exported models whose names
    start with `prefix` (and `keep`): the registry and every configure grow
    with them. The others leave the registry too."""
    dirs = sorted(
        (d for d in models_dir.iterdir() if d.is_dir() and d.name.startswith(prefix)),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    stale = [d for d in dirs[count:] if d.name != keep]
    if not stale:
        return
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    reg = models_dir / "models.cmake"
    if reg.is_file():
        names = {d.name for d in stale}
        lines = [ln for ln in reg.read_text().splitlines() if not any(f'NAME "{n}"' in ln for n in names)]
        reg.write_text("\n".join(lines) + "\n")


def export_cached(
    data: bytes, board: Board, prefix: str, name: str, models_dir: Path, count: int, **export_options
) -> ExportResult:
    """export_model into a board's cache as its most recently used model,
    pruning the `prefix` models beyond `count`."""
    exported = export_model(data, board, name, models_dir, **export_options)
    os.utime(exported.model_dir)
    prune_models(models_dir, prefix, name, count)
    return exported
