"""Shared pieces of the `tinyops` subcommands: exit codes and JSON output.

Exit codes (documented in README.md):
  0  success (and, for commands that check results, bit-exact)
  1  results differ or could not be validated (validate, demo, emulate, report)
  2  usage or input error: bad arguments, unreadable or unsupported model,
     a budget that does not fit, a directory that is not a firmware project
  3  a required tool is missing or failed: Arm toolchain, CMake, QEMU, a
     firmware build or run, the firmware sources
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

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
