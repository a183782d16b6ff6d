"""Progress bars for long work: firmware builds, emulation, many-input validation.

Bars are drawn by tqdm on stderr, and only when stderr is a terminal: pipes,
CI logs (``$CI`` set) and ``--json`` runs stay silent. ``TINYOPS_PROGRESS=0``
turns them off, ``TINYOPS_PROGRESS=1`` forces them on (e.g. to see them in a
log file).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from typing import Iterator, Sequence

__all__ = ["enabled", "disabled", "bar", "ticking", "run_streamed"]

_forced_off = 0  # nesting depth of disabled()

# "[12/80] Building CXX ..." (Ninja) or "[ 15%] Building ..." (Makefiles).
_NINJA = re.compile(r"^\[(\d+)/(\d+)\]")
_MAKE = re.compile(r"^\[\s*(\d+)%\]")


def enabled() -> bool:
    if _forced_off:
        return False
    env = os.environ.get("TINYOPS_PROGRESS", "").strip().lower()
    if env in ("0", "off", "no", "false"):
        return False
    if env in ("1", "on", "yes", "true"):
        return _tqdm() is not None
    if os.environ.get("CI"):
        return False
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and _tqdm() is not None


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:  # optional at run time: no bars without it
        return None
    return tqdm


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """No bars inside (machine-readable output)."""
    global _forced_off
    _forced_off += 1
    try:
        yield
    finally:
        _forced_off -= 1


class _Null:
    """Stands in for a bar when bars are off."""

    def update(self, n: int = 1) -> None:
        pass

    def set_description_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    total = None
    n = 0


@contextlib.contextmanager
def bar(total: int | None, desc: str, unit: str = "it"):
    """A bar of `total` steps (a no-op object when bars are off)."""
    if not enabled():
        yield _Null()
        return
    b = _tqdm()(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True)
    try:
        yield b
    finally:
        b.close()


@contextlib.contextmanager
def ticking(desc: str) -> Iterator[None]:
    """Elapsed time for a blocking step that reports no progress of its own
    (a QEMU run, the oracle subprocess)."""
    if not enabled():
        yield
        return
    b = _tqdm()(total=None, desc=desc, bar_format="{desc}: {elapsed}", leave=False, file=sys.stderr)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5):
            b.refresh()

    t = threading.Thread(target=tick, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        b.close()


def run_streamed(cmd: Sequence[str], desc: str, timeout: float | None = None, **kw) -> subprocess.CompletedProcess:
    """Run a build command, showing its "[n/m]" steps as a bar. Returns the
    finished process with stdout and stderr merged into stdout (stderr "")."""
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, **kw
    )
    lines: list[str] = []
    timer = None
    if timeout is not None:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
    try:
        with bar(None, desc, unit="step") as b:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                m = _NINJA.match(line)
                if m:
                    b.total = int(m.group(2))
                    b.update(int(m.group(1)) - b.n)
                    continue
                m = _MAKE.match(line)
                if m:
                    b.total = 100
                    b.update(int(m.group(1)) - b.n)
            proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(list(cmd), proc.returncode, "".join(lines), "")
