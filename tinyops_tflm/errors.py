"""Exception types of tinyops-tflm.

Every error the package raises on bad input is one of these (or a plain
``ValueError`` / ``NotImplementedError``), with a message naming the op,
tensor or field at fault.
"""
from __future__ import annotations


class TinyOpsError(Exception):
    """Base class of all tinyops-tflm specific errors."""


class ModelError(TinyOpsError, ValueError):
    """The .tflite bytes are malformed, truncated or inconsistent."""


class UnsupportedOpError(TinyOpsError, NotImplementedError):
    """The model uses operators (or operator variants) the engine lacks."""


class PlanError(TinyOpsError, ValueError):
    """A plan could not be built or failed validation when loaded."""


class BudgetError(PlanError):
    """A memory budget is too small for the model."""


class InvocationError(TinyOpsError, RuntimeError):
    """The engine reported a failure while running a plan."""


class MissingDependencyError(TinyOpsError, ImportError):
    """An optional dependency (an extra such as [distributed]) is not installed."""
