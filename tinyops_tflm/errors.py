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


class NetConfigError(TinyOpsError, ValueError):
    """A net config (OFA/ProxylessNAS JSON) or zoo row cannot be built."""


class DataFolderError(TinyOpsError, ValueError):
    """An image-folder dataset is missing, empty or malformed (it must hold one
    sub-folder of images per class)."""


class EmptyClassError(DataFolderError):
    """A class sub-folder of an image-folder dataset holds no images."""


class UnreadableImageError(TinyOpsError, ValueError):
    """An image file cannot be read or decoded (evaluate skips and counts these)."""


class PreprocessingError(TinyOpsError, ValueError):
    """A model's input does not match its recorded (or requested) preprocessing."""


class TflmMismatchError(TinyOpsError, RuntimeError):
    """The engine's int8 output differs from tflite-micro's for an image."""


class IsaError(TinyOpsError, RuntimeError):
    """TINYOPS_ISA names no kernel level, or one this CPU cannot run."""
