"""The C++ conv harness (tests/cpp/conv_harness.cc) of the CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED kernel tests: built with g++ against
the kernel sources as a shared library (ctypes) or as the sanitized
self-test, and run on one case (whole-op eval, reference tile loops, or
random row-band x channel tiles)."""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

from support import cxx
from tinyops_tflm.testing.single_op import TensorSpec

# The x86 SIMD kernels (csrc/kernels/x86) come along: like the engine, the
# harness is built for baseline x86-64 and picks its kernels at run time
# (TINYOPS_ISA forces a level).
KERNEL_SOURCES = cxx.kernel_sources(
    "conv.cc",
    "conv_tile.cc",
    "conv_prepare.cc",
    "depthwise_conv.cc",
    "depthwise_tile.cc",
    "fully_connected.cc",
    "quant.cc",
    "op_common.cc",
) + sorted((cxx.CSRC / "kernels" / "x86").glob("*.cc"))
# The harness uses std::string etc.; exceptions and RTTI off as in the engine.
FLAGS = ["-fno-exceptions", "-fno-rtti"]

OPCODES = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 4, "FULLY_CONNECTED": 9}
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
DTYPES = {np.dtype(np.int8): 9, np.dtype(np.int32): 2, np.dtype(np.int16): 7, np.dtype(np.float32): 0}


def compile_harness(kind: str) -> Path:
    """The harness as a library for ctypes ("lib") or as the sanitized self-test."""
    if kind == "lib":
        return cxx.build("conv_harness.cc", KERNEL_SOURCES, FLAGS + ["-O3"], shared=True)
    return cxx.build(
        "conv_harness.cc", KERNEL_SOURCES, FLAGS + cxx.SANITIZE_ASAN_UBSAN + ["-DCONV_HARNESS_MAIN"], tag="selftest"
    )


class HTensor(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("dims", ctypes.c_int32 * 6),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
        ("scales", ctypes.POINTER(ctypes.c_float)),
        ("num_scales", ctypes.c_int32),
        ("quantized_dimension", ctypes.c_int32),
        ("data", ctypes.c_void_p),
        ("is_const", ctypes.c_int32),
        ("present", ctypes.c_int32),
    ]


@functools.cache
def load_harness() -> ctypes.CDLL:
    """The harness library, loaded once."""
    lib = ctypes.CDLL(str(compile_harness("lib")))
    lib.h_run.restype = ctypes.c_int32
    lib.h_run.argtypes = [
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int32),
        ctypes.c_int32,
        ctypes.POINTER(HTensor),
        ctypes.POINTER(HTensor),
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_uint32,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_char_p,
        ctypes.c_int32,
    ]
    return lib


def _htensor(spec: TensorSpec | None, data: np.ndarray | None, keep: list) -> HTensor:
    t = HTensor()
    if spec is None:
        t.present = 0
        t.rank = 0
        return t
    t.present = 1
    t.type = DTYPES[np.dtype(spec.dtype)]
    t.rank = len(spec.shape)
    for i, d in enumerate(spec.shape):
        t.dims[i] = d
    scales = spec.scales
    if scales is None:
        t.num_scales = 0
        t.scale = 0.0
    else:
        arr = (ctypes.c_float * len(scales))(*scales)
        keep.append(arr)
        t.scales = ctypes.cast(arr, ctypes.POINTER(ctypes.c_float))
        t.num_scales = len(scales)
        t.scale = scales[0]
        t.zero_point = spec.zero_points[0]
        t.quantized_dimension = spec.quantized_dimension
    if data is not None:
        data = np.ascontiguousarray(data)
        keep.append(data)
        t.data = data.ctypes.data
    t.is_const = int(spec.is_constant)
    return t


def run_harness(lib, case, mode: int, seed: int = 0, ntiles: int = 0):
    """Runs a conv_cases.Case; returns (status, output array, message, time in ns)."""
    keep: list = []
    ins = (HTensor * 3)(
        _htensor(case.inp, case.x, keep),
        _htensor(case.filt, case.filt.data, keep),
        _htensor(case.bias, None if case.bias is None else case.bias.data, keep),
    )
    out = _htensor(case.out, None, keep)
    y = np.zeros(case.out.shape, dtype=np.int8)
    msg = ctypes.create_string_buffer(512)
    ns = ctypes.c_double(0.0)
    rc = lib.h_run(
        OPCODES[case.op],
        case.options_array(),
        3,
        ins,
        ctypes.byref(out),
        y.ctypes.data,
        mode,
        seed,
        ntiles,
        ctypes.byref(ns),
        msg,
        512,
    )
    return rc, y, msg.value.decode(), ns.value
