"""The cross toolchain and QEMU the emulation needs, found on PATH, and running
them: a failing tool raises EmulationError with its command and the tail of
its output, and a missing one ToolchainMissing naming the packages."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..cli import progress
from ..errors import EmulationError, ToolchainMissing

APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"


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
