"""Builds the C++ test harnesses (tests/cpp/*.cc) against the engine sources:
one g++ command shape for all of them, each artifact cached in the temp
directory under a digest of everything it is built from (sources, every
header under csrc/, flags), so a rebuilt engine never meets a stale harness."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
CPP = ROOT / "tests" / "cpp"
SANITIZE_ASAN_UBSAN = [
    "-O1",
    "-g",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
]
SANITIZE_UBSAN = ["-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"]


def kernel_sources(*names: str) -> list[Path]:
    """csrc/kernels/<name> for each name."""
    return [CSRC / "kernels" / n for n in names]


def engine_sources(*dirs: str) -> list[Path]:
    """Every .cc directly in each csrc/<dir>."""
    return sorted(p for d in dirs for p in (CSRC / d).glob("*.cc"))


def build(
    harness: str,
    sources: Iterable[Path],
    flags: Sequence[str],
    *,
    tag: str = "",
    shared: bool = False,
    libs: Sequence[str] = (),
) -> Path:
    """tests/cpp/<harness> linked with `sources`, built with `flags` (an
    executable, or with `shared` a library for ctypes). A missing compiler
    fails the test: these harnesses are the only check of what they test."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.fail(f"g++ not found: needed to build tests/cpp/{harness}")
    srcs = [CPP / harness, *sources]
    cmd_flags = [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        *flags,
        *(["-shared", "-fPIC"] if shared else []),
        f"-I{CSRC / 'include'}",
        f"-I{CSRC}",
    ]
    h = hashlib.sha256(" ".join([*cmd_flags, *libs]).encode())
    for p in [*srcs, *sorted(CSRC.glob("**/*.h")), *sorted(CPP.glob("*.h"))]:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    cache = Path(tempfile.gettempdir()) / "tinyops-harness"
    cache.mkdir(exist_ok=True)
    stem = Path(harness).stem + (f"-{tag}" if tag else "")
    out = cache / f"{stem}-{h.hexdigest()[:16]}{'.so' if shared else ''}"
    if not out.exists():
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        cmd = [gxx, *cmd_flags, *map(str, srcs), "-o", str(tmp), *libs]
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"harness build failed:\n{' '.join(cmd)}\n{r.stderr[-4000:]}"
        os.replace(tmp, out)
    return out


def run(exe: Path, *args: str, timeout: float = 600, env: dict | None = None) -> str:
    """Runs a harness, asserts success and returns its stdout."""
    r = subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    assert r.returncode == 0, f"{exe.name}: {(r.stdout + r.stderr)[-4000:]}"
    return r.stdout


def build_ubsan(harness: str, sources: Iterable[Path]) -> Path:
    """`build` with SANITIZE_UBSAN; skips, saying so, when the toolchain has
    no UBSan runtime to link (any other build failure fails the test)."""
    try:
        return build(harness, sources, SANITIZE_UBSAN, tag="ubsan")
    except AssertionError as e:
        if "sanitize" in str(e) and ("cannot find" in str(e) or "libubsan" in str(e)):
            pytest.skip("no UBSan runtime")
        raise


def ok_line(exe: Path, iters: int) -> str:
    """The last line a self-checking harness prints after `iters` rounds,
    asserted to report OK."""
    line = run(exe, str(iters)).strip().splitlines()[-1]
    assert line.startswith("OK"), line
    return line
