"""The firmware ports (ports/<port>): which board each serves, its core and
QEMU stand-in, where the port sources are, and the file and C names of a
registered model."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import FirmwareSourceMissing
from ..planning.boards import Board, get_board


@dataclass(frozen=True)
class PortInfo:
    """A firmware port: the linker's view of the board and its QEMU stand-in."""

    board: str  # the planner's board (tinyops_tflm.planning.boards)
    port: str  # directory under ports/
    core: str
    qemu_machine: str
    qemu_qspi_capacity: int  # the emulated QSPI window in the QEMU board's PSRAM


# Capacities and budgets come from tinyops_tflm.planning.boards (the planner's view);
# the linker scripts in ports/<port>/port.cmake hold the same numbers.
PORTS: dict[str, PortInfo] = {
    "stm32f469": PortInfo("stm32f469", "stm32f469", "cortex-m4", "mps2-an386", 8 << 20),
    "stm32f746": PortInfo("stm32f746", "stm32f746", "cortex-m7", "mps2-an500", 8 << 20),
}


def port_for(board: str | Board) -> PortInfo:
    b = get_board(board)
    name = b.name
    if name not in PORTS and name.startswith("stm32f469"):
        name = "stm32f469"  # e.g. stm32f469-paper: same port, smaller budgets
    try:
        return PORTS[name]
    except KeyError:
        raise ValueError(f"board {b.name!r} has no firmware port; ports: {', '.join(PORTS)}") from None


def source_root() -> Path:
    """The source tree holding csrc/ and ports/ ($TINYOPS_SOURCE_DIR, else the
    checkout this package was imported from)."""
    env = os.environ.get("TINYOPS_SOURCE_DIR")
    candidates = [Path(env)] if env else []
    package = Path(__file__).resolve().parents[1]
    candidates.append(package.parent)  # a checkout
    candidates.append(package / "_source")  # shipped in the wheel
    for c in candidates:
        if (c / "ports" / "common" / "firmware.cmake").is_file() and (c / "csrc").is_dir():
            return c
    raise FirmwareSourceMissing(
        "the firmware ports need the tinyops-tflm source tree (csrc/ and ports/), which this "
        "installation does not include; set TINYOPS_SOURCE_DIR to a checkout"
    )


def model_symbol(name: str) -> tuple[str, str]:
    """(file base, C identifier) for a registered model name."""
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
        raise ValueError(f"model name {name!r}: use letters, digits and . _ + - (starting with a letter or digit)")
    base = f"{name}_int8_1"
    sym = re.sub(r"[^0-9A-Za-z_]", "_", base)
    if sym[0].isdigit():
        sym = "m_" + sym
    return base, sym
