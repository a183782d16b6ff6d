"""tinyops-tflm: TinyOps partitioned int8 inference for TensorFlow Lite Micro.

Public API: :class:`Interpreter` (run a .tflite model bit-exactly like TFLM),
:class:`TflmInterpreter` (TinyOps kernels inside the pinned tflite-micro),
:func:`validate` (compare against the pinned tflite-micro interpreter),
:func:`read_model` (the .tflite reader) and the error types.
"""

from __future__ import annotations

from . import _moved
from .errors import (
    BudgetError,
    InvocationError,
    IsaError,
    MissingDependencyError,
    ModelError,
    ModelFileError,
    ModelFileNotFound,
    PlanError,
    TinyOpsError,
    UnsupportedOpError,
    WeightsPlacementError,
)


def _version() -> str:
    """The version in pyproject.toml, the one place it is written: read from
    the file in a checkout (which may be ahead of any installed metadata),
    from the installed distribution's metadata otherwise."""
    import re
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text()
        m = re.search(r'(?m)^version\s*=\s*"([^"]+)"', text)
        if m and re.search(r'(?m)^name\s*=\s*"tinyops-tflm"', text):
            return m.group(1)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tinyops-tflm")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()
_moved.install()

__all__ = [
    "Interpreter",
    "TflmInterpreter",
    "validate",
    "read_model",
    "TinyOpsError",
    "ModelError",
    "ModelFileError",
    "ModelFileNotFound",
    "UnsupportedOpError",
    "PlanError",
    "BudgetError",
    "WeightsPlacementError",
    "MissingDependencyError",
    "InvocationError",
    "IsaError",
    "__version__",
]


def __getattr__(name: str):
    # Lazy, so `import tinyops_tflm` stays cheap and tools that only read
    # models do not load the extension.
    if name == "Interpreter":
        from .runtime.interpreter import Interpreter

        return Interpreter
    if name == "TflmInterpreter":
        from .runtime.tflm import TflmInterpreter

        return TflmInterpreter
    if name == "validate":
        from .validation.compare import validate

        return validate
    if name == "read_model":
        from .frontend.reader import read_model

        return read_model
    if name in _moved.MOVED:
        # `import tinyops_tflm; tinyops_tflm.tflm` (and the pre-grouping
        # module names) without importing them up front.
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tinyops_tflm' has no attribute {name!r}")
