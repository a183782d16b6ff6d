"""Shared pieces of the `tinyops` subcommands: exit codes and JSON output.

Exit codes (documented in README.md):
  0  success (and, for commands that check results, bit-exact)
  1  results differ or could not be validated (validate, demo, emulate, report)
  2  usage or input error: bad arguments, unreadable or unsupported model,
     a budget that does not fit, a directory that is not a firmware project
  3  a required tool is missing or failed: Arm toolchain, CMake, QEMU, a
     firmware build or run, the firmware sources, an optional dependency
     (matplotlib for plots)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..planning.boards import Board

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_TOOL = 3


def jsonable(obj: Any) -> Any:
    """Plain JSON types for numpy scalars/arrays, paths, tuples and mappings
    (dicts, and records such as Interpreter.stats)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    """One JSON document on stdout (nothing else goes there under --json)."""
    json.dump(jsonable(obj), sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.stdout.flush()


def exit_code_for(err: BaseException) -> int:
    from ..errors import MissingDependencyError
    from ..firmware.emulate import EmulationError, ToolchainMissing
    from ..firmware.export import FirmwareSourceMissing

    if isinstance(err, (ToolchainMissing, EmulationError, FirmwareSourceMissing, MissingDependencyError)):
        return EXIT_TOOL
    return EXIT_USAGE


def add_weights_in(parser: argparse.ArgumentParser) -> None:
    """`--weights-in`, for every subcommand that plans a model for a board."""
    from ..planning.boards import WEIGHTS_IN

    parser.add_argument(
        "--weights-in",
        choices=WEIGHTS_IN,
        default=None,
        help="where weights that miss internal flash live: sdram (copied from QSPI at boot, "
        "read 4-6x faster) or qspi (read in place, as the paper's firmware does) "
        "(default: the board's, sdram on boards with SDRAM and QSPI)",
    )


def board_arg(board: str | Board, weights_in: str | None) -> Board:
    """The board a command plans for: `board` with `--weights-in` applied
    (None: the board's default placement)."""
    from ..planning.boards import get_board

    b = get_board(board)
    return b if weights_in is None else b.with_weights_in(weights_in)
