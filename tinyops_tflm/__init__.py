"""tinyops-tflm: TinyOps partitioned int8 inference for TensorFlow Lite Micro.

Public API: :class:`Interpreter` (run a .tflite model bit-exactly like TFLM),
:func:`validate` (compare against the pinned tflite-micro interpreter),
:func:`read_model` (the .tflite reader) and the error types.
"""
from __future__ import annotations

from .errors import (BudgetError, InvocationError, ModelError, PlanError, TinyOpsError,
                     UnsupportedOpError)

__version__ = "0.1.0"

__all__ = [
    "Interpreter", "validate", "read_model", "TinyOpsError", "ModelError",
    "UnsupportedOpError", "PlanError", "BudgetError", "InvocationError", "__version__",
]


def __getattr__(name: str):
    # Lazy, so `import tinyops_tflm` stays cheap and tools that only read
    # models do not load the extension.
    if name == "Interpreter":
        from .interpreter import Interpreter
        return Interpreter
    if name == "validate":
        from .validation import validate
        return validate
    if name == "read_model":
        from .reader import read_model
        return read_model
    raise AttributeError(f"module 'tinyops_tflm' has no attribute {name!r}")
