"""Shared helpers of the emulated-firmware tests (DSP vs portable builds)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tinyops_tflm.testing.environ import environ

ARM_INSTALL_HINT = (
    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
)


def arm_tools_missing(qemu: bool = True) -> str | None:
    """The Arm cross toolchain, CMake (and QEMU) tools not on PATH, or None."""
    return tools_missing(("arm-none-eabi-gcc", "arm-none-eabi-g++", *(("qemu-system-arm",) if qemu else ()), "cmake"))


def tools_missing(tools) -> str | None:
    """Those of `tools` not on PATH, or None."""
    missing = [t for t in tools if shutil.which(t) is None]
    return ", ".join(missing) if missing else None


def skip_without(missing: str | None, module: str, what: str, hint: str = ARM_INSTALL_HINT):
    """The skipif marker of tests that need the tools `missing` names (from
    arm_tools_missing / tools_missing); says at import which ones and why."""
    if missing is not None:
        print(f"\n{module}: skipping {what}: {missing} not found")
    return pytest.mark.skipif(missing is not None, reason=f"{what} need {missing} (not found; {hint})")


def firmware_variant(caches: dict, name: str):
    """Emulate with build variant `name`: "dsp" (the default build) or
    "portable" (-DTINYOPS_NO_ARM_DSP), each with its own firmware cache."""
    args = None
    if name == "portable":
        args = (os.environ.get("TINYOPS_FW_CMAKE_ARGS", "") + " -DTINYOPS_FW_EXTRA_FLAGS=-DTINYOPS_NO_ARM_DSP").strip()
    return environ(TINYOPS_FW_CACHE=str(caches[name]), TINYOPS_FW_CMAKE_ARGS=args)


def dsp_and_portable_runs(data: bytes, board: str, caches: dict):
    """The model emulated by the DSP build and by the portable build (each
    checked to give the host Interpreter's bytes), as (dsp, portable); skips
    when QEMU gives no instruction counts to compare."""
    from tinyops_tflm.firmware.emulate import emulate

    host = host_outputs(data, board)
    runs = {}
    for name in ("dsp", "portable"):
        with firmware_variant(caches, name):
            runs[name] = emulate(data, board)
        assert_same_as_host(runs[name], host, f"{board} {name} build")
    dsp, port = runs["dsp"], runs["portable"]
    if dsp.invoke_instructions is None or port.invoke_instructions is None:
        pytest.skip("no instruction counts (the QEMU plugin needs a host C compiler)")
    return dsp, port


def assert_dsp_ratios(board: str, dsp, port, max_ratio: dict[str, float], shown=None, max_invoke=None) -> None:
    """Prints the DSP / portable guest instructions of the op types `shown`
    (all of the portable run's, most first, when None) and of the whole
    invoke, and asserts each op type of `max_ratio` is in the model and
    within its bound (and the invoke within `max_invoke` when given)."""
    cd, cp = instructions_by_type(dsp), instructions_by_type(port)
    for op in max_ratio:
        assert op in cp, f"the demo model has no {op}"
    rows = [(op, cd.get(op, 0), cp[op]) for op in (sorted(cp, key=lambda k: -cp[k]) if shown is None else shown)]
    rows.append(("invoke", dsp.invoke_instructions, port.invoke_instructions))
    lines = [f"{board}: guest instructions, DSP build / portable build"]
    lines += [f"  {name:<20}{d:>12,} /{p:>12,}  {d / p:.2f}" for name, d, p in rows]
    print("\n" + "\n".join(lines))
    for op, bound in max_ratio.items():
        assert cd[op] <= bound * cp[op], f"{board} {op}: {cd[op]:,} > {bound} x {cp[op]:,}"
    if max_invoke is not None:
        assert dsp.invoke_instructions <= max_invoke * port.invoke_instructions, f"{board} invoke"


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
