"""Loading the compiled engine and translating its errors."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from ..errors import InvocationError, IsaError, ModelError, PlanError, TinyOpsError, UnsupportedOpError

_core: ModuleType | None = None


# The x86 kernel levels, slowest first (csrc/kernels/x86/dispatch.h).
ISAS = ("portable", "avx2", "avx512")


def core() -> ModuleType:
    """The extension module; TINYOPS_CORE may point at a development build of it.

    Raises IsaError when TINYOPS_ISA names no kernel level or one this CPU
    lacks (the engine refuses to run rather than die on an illegal
    instruction)."""
    module = _load()
    error = module.isa_error()
    if error is not None:
        raise IsaError(error)
    return module


def isa() -> str:
    """The x86 kernel level the engine runs: "portable", "avx2" or "avx512".

    Chosen once per process, at first use: the best level this CPU supports,
    or the one TINYOPS_ISA names ("auto" or unset: the best)."""
    return core().isa()


def supported_isas() -> tuple[str, ...]:
    """The kernel levels this CPU (and OS) can run, slowest first."""
    return tuple(_load().supported_isas())


def load_core() -> ModuleType:
    """The extension module without the ISA check: for tables read at import
    (tinyops_tflm.ops), which run no kernel."""
    return _load()


def _load() -> ModuleType:
    global _core
    if _core is None:
        override = os.environ.get("TINYOPS_CORE")
        if override:
            spec = importlib.util.spec_from_file_location("tinyops_tflm._core", override)
            if spec is None or spec.loader is None:
                raise ImportError(f"TINYOPS_CORE={override!r} is not a loadable extension")
            module = importlib.util.module_from_spec(spec)
            sys.modules["tinyops_tflm._core"] = module
            spec.loader.exec_module(module)
            _core = module
        else:
            _core = importlib.import_module("tinyops_tflm._core")
    return _core


def status_code(name: str) -> int:
    """The engine's code of Status k<Name> (csrc/include/tinyops/status.h),
    e.g. status_code("UNSUPPORTED"), as _core.PLAN_LAYOUT exports it."""
    return int(_load().PLAN_LAYOUT["status"][name])


def translate_core_error(err: BaseException) -> TinyOpsError:
    """Map a _core.CoreError(status, status_name, message) to a package exception."""
    status, _name, message = err.args if len(err.args) == 3 else (0, "", str(err))
    if status == status_code("UNSUPPORTED"):
        return UnsupportedOpError(message)
    if status == status_code("INVALID_MODEL"):
        return ModelError(message)
    if status in (status_code("INVALID_PLAN"), status_code("OUT_OF_MEMORY")):
        return PlanError(message)
    return InvocationError(message)
