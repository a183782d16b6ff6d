"""TinyOps kernels inside the real TFLM interpreter (host side of the TFLM plugin).

:class:`TflmInterpreter` builds the pinned ``tflite-micro`` wheel's own
interpreter (``tflite_micro.runtime.Interpreter``) with TinyOps serving the
builtins in :data:`SERVED_OPS`: their TFLM registrations are replaced by the
adapter of ``csrc/tflm`` (loaded from the package's ``_tflm_plugin`` library
through ``custom_op_registerers``), which runs the engine's kernels and tile
scheduler, streaming every operand through an SRAM tile arena of the chosen
budget with a host DMA engine. Everything else (arena planning, the other
ops, set_input/get_output) is stock TFLM.

The adapter declares the few TFLM types it touches for exactly the pinned
wheel build, so it refuses (:class:`TflmVersionError`, :class:`TflmAbiError`)
instead of running against any other tflite-micro::

    >>> from tinyops_tflm.tflm import TflmInterpreter
    >>> interp = TflmInterpreter.from_file("model.tflite", sram_budget="64K")
    >>> interp.set_input(x, 0); interp.invoke(); y = interp.get_output(0)
    >>> interp.tinyops_invocations()["CONV_2D"]
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    BudgetError,
    InvocationError,
    ModelError,
    TflmAbiError,
    TflmUnavailableError,
    TflmVersionError,
    TinyOpsError,
    UnsupportedOpError,
)
from ..frontend.ops import TFLM_SERVED_OPS
from ..planning.boards import Board, get_board, parse_size
from ..validation.oracle import PINNED_TFLM_VERSION
from .engine import status_code
from .model_file import FromFile
from .run_all import RunAll

__all__ = [
    "TflmInterpreter",
    "Interpreter",
    "SERVED_OPS",
    "TflmUnavailableError",
    "TflmVersionError",
    "TflmAbiError",
    "check_available",
    "plugin_path",
    "DEFAULT_BOARD",
]

#: Builtins whose TFLM kernels the adapter replaces (csrc/tflm/adapter.cc):
#: the op descriptors flagged kServedInTflm, in the adapter's slot order.
SERVED_OPS = TFLM_SERVED_OPS

#: Board whose default SRAM budget applies when neither board nor budget is given.
DEFAULT_BOARD = "stm32f746"

REGISTERER = "tinyops_tflm_register"

# The plugin's own status (csrc/tflm/host/host_glue.cc); the others are the
# engine's (tinyops_tflm.engine.status_code).
_STATUS_ABI_MISMATCH = 100

_MIN_ARENA = 16 << 20
_MAX_ARENA = 1 << 30
_ALLOC_MARKERS = ("Failed to allocate", "Failed to resize buffer", "Arena size is too small", "missing:")


def _installed_version() -> str:
    try:
        import tflite_micro
    except ImportError as e:  # pragma: no cover - the wheel is a dependency
        raise TflmVersionError(
            f"tinyops_tflm.tflm needs tflite-micro=={PINNED_TFLM_VERSION}, which is not installed ({e})"
        ) from None
    return str(getattr(tflite_micro, "__version__", "unknown"))


def check_version() -> str:
    """The installed tflite-micro version, or :class:`TflmVersionError` unless
    it is the pinned build."""
    version = _installed_version()
    if not version.startswith(PINNED_TFLM_VERSION):
        raise TflmVersionError(
            f"tinyops_tflm.tflm runs TinyOps kernels inside tflite-micro=={PINNED_TFLM_VERSION} "
            f"only (the TFLM types it touches are declared for that exact build); installed: "
            f"tflite-micro {version}. Install the pinned wheel (pip install "
            f"tflite-micro=={PINNED_TFLM_VERSION}), or run the model with "
            f"tinyops_tflm.Interpreter, which needs no TFLM"
        )
    return version


def plugin_path() -> Path:
    """The adapter library: ``$TINYOPS_TFLM_PLUGIN``, else beside a development
    ``$TINYOPS_CORE`` build, else the installed package's ``_tflm_plugin.so``."""
    env = os.environ.get("TINYOPS_TFLM_PLUGIN")
    if env:
        return Path(env)
    core = os.environ.get("TINYOPS_CORE")
    if core:
        candidate = Path(core).parent / "_tflm_plugin.so"
        if candidate.is_file():
            return candidate
    return Path(__file__).resolve().parents[1] / "_tflm_plugin.so"


_lib: ctypes.CDLL | None = None


def _plugin() -> ctypes.CDLL:
    """Loads the adapter RTLD_GLOBAL (the wheel finds the registerer with dlsym)."""
    global _lib
    if _lib is not None:
        return _lib
    path = plugin_path()
    if not path.is_file():
        raise TflmUnavailableError(
            f"the TFLM adapter library {path} is missing (built with the extension unless "
            "-DTINYOPS_TFLM_HOST=OFF; set TINYOPS_TFLM_PLUGIN to a development build)"
        )
    lib = ctypes.CDLL(str(path), mode=os.RTLD_GLOBAL | getattr(os, "RTLD_NOW", 2))
    vp, u32, i32, u64 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64
    sigs = {
        "tinyops_tflm_pinned_version": ([], ctypes.c_char_p),
        "tinyops_tflm_last_error": ([], ctypes.c_char_p),
        "tinyops_tflm_last_error_status": ([], i32),
        "tinyops_tflm_clear_error": ([], None),
        "tinyops_tflm_binding_create": ([u32, i32, u32], vp),
        "tinyops_tflm_binding_destroy": ([vp], None),
        "tinyops_tflm_host_begin": ([vp], None),
        "tinyops_tflm_host_end": ([], None),
        "tinyops_tflm_binding_error": ([vp], ctypes.c_char_p),
        "tinyops_tflm_binding_error_status": ([vp], i32),
        "tinyops_tflm_binding_reset": ([vp], None),
        "tinyops_tflm_num_ops": ([], i32),
        "tinyops_tflm_op_code": ([i32], i32),
        "tinyops_tflm_op_name": ([i32], ctypes.c_char_p),
        "tinyops_tflm_invocations": ([vp, i32], u64),
        "tinyops_tflm_stats": ([vp, ctypes.POINTER(u64), i32], i32),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    pinned = lib.tinyops_tflm_pinned_version().decode()
    if pinned != PINNED_TFLM_VERSION:
        raise TflmUnavailableError(
            f"the TFLM adapter library {path} declares tflite-micro=={pinned}, the package pins "
            f"{PINNED_TFLM_VERSION}: rebuild it"
        )
    served = tuple(lib.tinyops_tflm_op_name(i).decode() for i in range(lib.tinyops_tflm_num_ops()))
    if served != SERVED_OPS:
        raise TflmUnavailableError(
            f"the TFLM adapter library {path} serves {served}, this module expects {SERVED_OPS}: rebuild it"
        )
    _lib = lib
    return lib


def check_available() -> str:
    """The installed tflite-micro version when the adapter can run, else
    :class:`TflmUnavailableError` saying why (tests skip with that reason)."""
    version = check_version()
    _plugin()
    return version


def _error(status: int, message: str) -> TinyOpsError:
    if status == _STATUS_ABI_MISMATCH:
        return TflmAbiError(message)
    if status == status_code("UNSUPPORTED"):
        return UnsupportedOpError(message)
    if status == status_code("INVALID_MODEL"):
        return ModelError(message)
    if status == status_code("OUT_OF_MEMORY"):
        return BudgetError(message)
    return InvocationError(message)


def _io_counts(model: bytes) -> tuple[int, int]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        if len(model) < 8 or model[4:8] != b"TFL3":
            raise ValueError("no TFL3 identifier")
        m = schema.Model.GetRootAs(model, 0)
        sg = m.Subgraphs(0)
        return int(sg.InputsLength()), int(sg.OutputsLength())
    except Exception as e:
        raise ModelError(f"not a readable .tflite model: {e}") from None


class _CaptureStderr:
    """Captures fd 2 (TFLM prints its errors there) while the interpreter is built."""

    def __enter__(self) -> "_CaptureStderr":
        sys.stderr.flush()
        self._saved = os.dup(2)
        self._file = tempfile.TemporaryFile()
        os.dup2(self._file.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()


def _release(lib: ctypes.CDLL, binding: int, holder: list) -> None:
    holder.clear()  # the TFLM interpreter goes first: it holds the binding as external context
    lib.tinyops_tflm_binding_destroy(binding)


class TflmInterpreter(FromFile, RunAll):
    """The pinned tflite-micro interpreter with TinyOps kernels for :data:`SERVED_OPS`.

    ``board`` / ``sram_budget`` size the SRAM tile arena every served op
    streams through (bytes or e.g. ``"64K"``; default: the board's budget,
    the STM32F746's when no board is given). ``dma="async"`` moves tiles on
    a worker thread (``dma_delay_us`` late) so a missing wait shows as wrong
    bytes. ``arena_size``: TFLM tensor arena bytes (default: grown until the
    model fits).
    """

    def __init__(
        self,
        model_data: bytes | bytearray | memoryview,
        board: str | Board | None = None,
        sram_budget: int | str | None = None,
        *,
        dma: str = "sync",
        dma_delay_us: int = 0,
        arena_size: int | None = None,
    ):
        check_version()
        lib = _plugin()
        from tflite_micro import runtime

        self.board = get_board(board) if board is not None else None
        if sram_budget is not None:
            budget = parse_size(sram_budget)
        else:
            budget = (self.board or get_board(DEFAULT_BOARD)).default_sram_budget
        if not 0 < budget < (1 << 31):
            raise ValueError(f"sram_budget must be between 1 byte and 2 GiB, got {budget}")
        if dma not in ("sync", "async"):
            raise ValueError(f"dma must be 'sync' or 'async', got {dma!r}")
        if arena_size is not None and int(arena_size) <= 0:
            raise ValueError(f"arena_size must be positive, got {arena_size}")
        self.sram_budget = int(budget)
        self._model = bytes(model_data)
        self.num_inputs, self.num_outputs = _io_counts(self._model)
        self._lib = lib
        binding = lib.tinyops_tflm_binding_create(self.sram_budget, 1 if dma == "async" else 0, int(dma_delay_us))
        if not binding:
            raise MemoryError(f"cannot allocate a {self.sram_budget}-byte tile arena")
        self._binding = binding
        self._holder: list = []
        self._finalizer = weakref.finalize(self, _release, lib, binding, self._holder)

        arena = int(arena_size) if arena_size is not None else max(_MIN_ARENA, 3 * len(self._model))
        while True:
            lib.tinyops_tflm_host_begin(binding)
            try:
                with _CaptureStderr() as cap:
                    try:
                        inner = runtime.Interpreter.from_bytes(
                            self._model, custom_op_registerers=[REGISTERER], arena_size=arena
                        )
                        failure = None
                    except (RuntimeError, ValueError) as e:
                        inner, failure = None, e
            finally:
                lib.tinyops_tflm_host_end()
            if inner is not None:
                if cap.text:
                    sys.stderr.write(cap.text)
                break
            status, message = self._tinyops_error()
            if message:
                raise _error(status, message) from None
            if arena_size is None and arena < _MAX_ARENA and any(m in cap.text for m in _ALLOC_MARKERS):
                arena = min(_MAX_ARENA, arena * 4)
                continue
            tail = "\n".join(cap.text.strip().splitlines()[-10:])
            raise InvocationError(
                f"tflite-micro could not build the interpreter: {failure}" + (f"; it said:\n{tail}" if tail else "")
            ) from None
        self.arena_size = arena
        self._holder.append(inner)

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        board: str | Board | None = None,
        sram_budget: int | str | None = None,
        **kwargs: Any,
    ) -> "TflmInterpreter":
        return cls(data, board=board, sram_budget=sram_budget, **kwargs)

    # -- the tflite-micro interpreter API ----------------------------------
    @property
    def _tflm(self):
        if not self._holder:
            raise InvocationError("the interpreter has been released")
        return self._holder[0]

    def _tinyops_error(self) -> tuple[int, str]:
        lib = self._lib
        message = lib.tinyops_tflm_binding_error(self._binding).decode("utf-8", "replace")
        if message:
            return int(lib.tinyops_tflm_binding_error_status(self._binding)), message
        return (int(lib.tinyops_tflm_last_error_status()), lib.tinyops_tflm_last_error().decode("utf-8", "replace"))

    def get_input_details(self, index: int) -> dict[str, Any]:
        return self._tflm.get_input_details(index)

    def get_output_details(self, index: int) -> dict[str, Any]:
        return self._tflm.get_output_details(index)

    def set_input(self, input_data: np.ndarray, index: int) -> None:
        self._tflm.set_input(input_data, index)

    def invoke(self) -> int:
        try:
            return self._tflm.invoke()
        except RuntimeError as e:
            status, message = self._tinyops_error()
            if message:
                raise _error(status, message) from None
            raise InvocationError(f"tflite-micro invoke failed: {e}") from None

    def get_output(self, index: int) -> np.ndarray:
        return self._tflm.get_output(index)

    def reset(self) -> int:
        return self._tflm.reset()

    def print_allocations(self) -> None:
        self._tflm.print_allocations()

    def __getattr__(self, name: str) -> Any:
        # Anything else the tflite-micro interpreter offers (GetTensor, ...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._tflm, name)

    # -- TinyOps -----------------------------------------------------------
    def tinyops_invocations(self) -> dict[str, int]:
        """Builtin op name -> how many times a TinyOps kernel ran it (since
        construction or :meth:`reset_tinyops_counters`)."""
        lib = self._lib
        return {SERVED_OPS[i]: int(lib.tinyops_tflm_invocations(self._binding, i)) for i in range(len(SERVED_OPS))}

    def tinyops_stats(self) -> dict[str, Any]:
        """Tiles, DMA transfers and bytes per memory (tile arena ``sram``, TFLM
        ``arena``, model ``constants``), tile-arena high water, and how the
        served ops were prepared (``streamed``: every operand through the
        tile arena; ``constants_direct``: weights read in place;
        ``all_direct``: the arena was too small for any tiling)."""
        buf = (ctypes.c_uint64 * 32)()
        n = self._lib.tinyops_tflm_stats(self._binding, buf, 32)
        v = [int(x) for x in buf[:n]]
        regions = ("sram", "arena", "constants")
        return {
            "tiles": v[0],
            "dma_transfers": v[1],
            "dma_read_bytes": dict(zip(regions, v[2:5])),
            "dma_write_bytes": dict(zip(regions, v[5:8])),
            "sram_high_water": v[8],
            "sram_planned": v[9],
            "prepared": dict(zip(("streamed", "constants_direct", "all_direct"), v[10:13])),
            "sram_budget": v[13],
        }

    def reset_tinyops_counters(self) -> None:
        self._lib.tinyops_tflm_binding_reset(self._binding)

    def close(self) -> None:
        """Releases the TFLM interpreter and the tile arena now."""
        self._finalizer()


# The name before the native engine's Interpreter and this one were told apart.
Interpreter = TflmInterpreter
