"""Shared helpers of the emulated-firmware tests (DSP vs portable builds)."""

from __future__ import annotations

import contextlib
import os
import shutil

import numpy as np
import pytest

ARM_INSTALL_HINT = (
    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
)


def arm_tools_missing(qemu: bool = True) -> str | None:
    """The Arm cross toolchain, CMake (and QEMU) tools not on PATH, or None."""
    tools = ("arm-none-eabi-gcc", "arm-none-eabi-g++", *(("qemu-system-arm",) if qemu else ()), "cmake")
    missing = [t for t in tools if shutil.which(t) is None]
    return ", ".join(missing) if missing else None


@contextlib.contextmanager
def firmware_variant(caches: dict, name: str):
    """Emulate with build variant `name`: "dsp" (the default build) or
    "portable" (-DTINYOPS_NO_ARM_DSP), each with its own firmware cache."""
    saved = {k: os.environ.get(k) for k in ("TINYOPS_FW_CACHE", "TINYOPS_FW_CMAKE_ARGS")}
    os.environ["TINYOPS_FW_CACHE"] = str(caches[name])
    if name == "portable":
        args = saved["TINYOPS_FW_CMAKE_ARGS"] or ""
        os.environ["TINYOPS_FW_CMAKE_ARGS"] = (args + " -DTINYOPS_FW_EXTRA_FLAGS=-DTINYOPS_NO_ARM_DSP").strip()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def host_outputs(data: bytes, board: str | None, sram_budget=None) -> list[np.ndarray]:
    """The host Interpreter's outputs for the emulator's default input and plan."""
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.runtime.interpreter import Interpreter
    from tinyops_tflm.validation.compare import make_inputs

    graph = read_model(data)
    return Interpreter(graph, board=board, sram_budget=sram_budget).run(*make_inputs(graph, 1, seed=0)[0])


def assert_same_as_host(result, host, what: str) -> None:
    assert len(result.outputs) == len(host), what
    for i, (a, b) in enumerate(zip(result.outputs, host)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: output {i}"
        if a.tobytes() != b.tobytes():
            diff = int(np.count_nonzero(a != b))
            pytest.fail(f"{what}: output {i} differs from the host in {diff} of {a.size} values")


def assert_board_model_exact(result, what: str) -> None:
    """A board-model run (firmware.boardmodel.emulate_board) gave the host's bytes."""
    assert result.host_outputs is not None, what
    assert_same_as_host(result, result.host_outputs, what)
    assert result.matches_host, what


def instructions_by_type(result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in result.ops:
        counts[o.name] = counts.get(o.name, 0) + (o.instructions or 0)
    return counts


def merge_models(models: list[bytes]) -> bytes:
    """One model holding the operators of several models side by side
    (tinyops_tflm.testing.merge): one build and one emulated run check them all."""
    from tinyops_tflm.testing.merge import merge_models as merge

    return merge(models)


def oracle_outputs(data: bytes) -> list[np.ndarray]:
    """The pinned tflite-micro interpreter's outputs for the emulator's
    default input (``make_inputs(graph, 1, seed=0)[0]``)."""
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.validation.compare import make_inputs
    from tinyops_tflm.validation.oracle import run_tflm

    return run_tflm(data, [make_inputs(read_model(data), 1, seed=0)[0]])[0]


def assert_same_per_op(result, reference, names: list[str], what: str) -> None:
    """Byte equality of every output of a merged model, naming the op that differs."""
    assert len(result.outputs) == len(reference) == len(names), what
    bad = []
    for name, a, b in zip(names, result.outputs, reference):
        b = np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            n = int(np.count_nonzero(a != b)) if a.shape == b.shape else -1
            bad.append(f"{name} ({n} of {a.size} bytes)")
    if bad:
        pytest.fail(f"{what}: outputs differ for " + "; ".join(bad))
