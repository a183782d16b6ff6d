"""Arm DSP-extension loops of ADD and MUL (csrc/kernels/arm/elementwise_dsp.h,
namespace ew_dsp; selected in arm/dispatch.h when TINYOPS_ARM_DSP).

* Host, always: tests/cpp/elementwise_dsp_harness.cc instantiates the very
  loop templates over portable emulations of the instructions they use
  (SMMLAR = (c * 2^32 + a * b + 2^31) >> 32 with the 64-bit wrap, QADD and
  SSAT saturation, SXTAB16, SMULBB / SMULTT) and compares them with
  add_reference / mul_reference on all 65536 int8 input pairs (vector x
  vector -- aligned, misaligned with a tail, in place --, scalar x vector,
  vector x scalar) for many parameter sets: multipliers derived from random
  scales as ADD / MUL prepare does, and raw random multipliers in
  [2^30, 2^31) with every input shift 0..31 and output shifts 0..24 (the out
  of range ones must be refused so the generic loops run), random zero
  points and fused activation ranges. Built with g++ (plus an UBSan build).
* Emulated, with the Arm toolchain and QEMU: the demo model built with the
  DSP paths and with -DTINYOPS_NO_ARM_DSP must both give the host's bytes,
  and the DSP build must need at most a fixed fraction of the portable
  build's guest instructions for ADD and MUL; single-op ADD / MUL models
  aimed at the loops' edges (odd lengths, scalar and per-channel broadcast
  operands, clamped activations, scales that need the generic loops) must
  match the host byte for byte. Skips, saying why, without the tools.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import cxx
from support.firmware import arm_tools_missing, assert_dsp_ratios, dsp_and_portable_runs, skip_without
from support.firmware import assert_same_as_host as _assert_same
from support.firmware import firmware_variant as _variant
from support.firmware import host_outputs as _host

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "csrc" / "kernels" / n for n in ("add.cc", "mul.cc", "elementwise.cc", "quant.cc", "op_common.cc")]
SOURCES += sorted((ROOT / "csrc" / "kernels" / "x86").glob("*.cc"))  # add.cc's x86 dispatch
DEMO = ROOT / "tinyops_tflm" / "data" / "demo_tiny.tflite"
BOARDS = ["stm32f469", "stm32f746"]


# DSP build / portable build guest instructions (all ops of the type) on the
# demo model. Measured on MobileNetV3-large r160 (stm32f746): ADD 0.32, MUL 0.27.
MAX_RATIO = {"ADD": 0.55, "MUL": 0.55}


def test_dsp_math_exhaustive_vs_reference():
    line = cxx.ok_line(cxx.build("elementwise_dsp_harness.cc", SOURCES, ["-O2"], tag="o2"), 600)
    print("\n" + line)
    fields = dict(kv.split("=") for kv in line.split()[1:])
    # Both the fast loops and the refusals (generic fallback) were exercised.
    for k in ("add_fast", "mul_fast", "add_generic", "mul_generic"):
        assert int(fields[k]) > 0, line


def test_dsp_math_ubsan():
    cxx.ok_line(cxx.build_ubsan("elementwise_dsp_harness.cc", SOURCES), 60)


# ---------------------------------------------------------------------------
# Emulated (QEMU) checks.


needs_arm = skip_without(arm_tools_missing(), "tests/test_elementwise_dsp.py", "the emulated ADD/MUL DSP checks")


@needs_arm
@pytest.mark.parametrize("board", BOARDS)
def test_demo_add_mul_dsp_beats_portable(board, caches):
    dsp, port = dsp_and_portable_runs(DEMO.read_bytes(), board, caches)
    assert_dsp_ratios(board, dsp, port, MAX_RATIO, shown=MAX_RATIO)


def _edge_models() -> list[tuple[str, bytes]]:
    from tinyops_tflm.testing import single_op as so

    rng = np.random.default_rng(31)
    models = []

    def add(name, builder, **kw):
        models.append((name, builder(rng, **kw)[0]))

    for op, b in (("ADD", so.add), ("MUL", so.mul)):
        add(f"{op} same shape odd length", b, shape1=(1, 5, 7, 13), shape2=(1, 5, 7, 13), activation="NONE")
        add(f"{op} same shape relu6", b, shape1=(1, 4, 6, 10), shape2=(1, 4, 6, 10), activation="RELU6")
        add(f"{op} scalar input 1", b, shape1=(1, 1, 1, 1), shape2=(1, 3, 5, 11), activation="RELU")
        add(f"{op} scalar input 2", b, shape1=(1, 3, 5, 11), shape2=(1,), activation="NONE")
        add(f"{op} per-channel input 2", b, shape1=(1, 4, 5, 19), shape2=(1, 1, 1, 19), activation="NONE")
        add(f"{op} per-channel input 1 n1to1", b, shape1=(19,), shape2=(1, 3, 5, 19), activation="RELU_N1_TO_1")
        add(f"{op} row broadcast", b, shape1=(1, 4, 1, 9), shape2=(1, 4, 6, 9), activation="NONE")
        add(
            f"{op} equal input scales",
            b,
            shape1=(1, 3, 3, 7),
            shape2=(1, 3, 3, 7),
            in1_scale=0.05,
            in2_scale=0.05,
            activation="NONE",
        )
    # Scales that the DSP loops refuse (MUL left shift; tiny MUL multiplier).
    add(
        "MUL large multiplier",
        so.mul,
        shape1=(1, 3, 4, 9),
        shape2=(1, 3, 4, 9),
        in1_scale=1.0,
        in2_scale=1.0,
        out_scale=0.05,
        activation="NONE",
    )
    add(
        "MUL tiny multiplier",
        so.mul,
        shape1=(1, 3, 4, 9),
        shape2=(1, 3, 4, 9),
        in1_scale=1e-4,
        in2_scale=1e-4,
        out_scale=1.0,
        activation="NONE",
    )
    add(
        "ADD huge output scale",
        so.add,
        shape1=(1, 3, 4, 9),
        shape2=(1, 3, 4, 9),
        in1_scale=0.01,
        in2_scale=0.02,
        out_scale=5.0,
        activation="NONE",
    )
    # Vectors long enough for ADD's rescale tables (ew_dsp::kAddTableMin).
    add("ADD long vectors relu6", so.add, shape1=(1, 8, 16, 24), shape2=(1, 8, 16, 24), activation="RELU6")
    add(
        "ADD long vectors equal scales",
        so.add,
        shape1=(1, 4, 16, 33),
        shape2=(1, 4, 16, 33),
        in1_scale=0.05,
        in2_scale=0.05,
        activation="NONE",
    )
    add("ADD scalar + long vector", so.add, shape1=(1,), shape2=(1, 16, 16, 8), activation="RELU")
    return models


@needs_arm
@pytest.mark.parametrize("board", BOARDS)
def test_add_mul_edge_cases_match_host(board, caches):
    from tinyops_tflm.firmware.emulate import emulate

    with _variant(caches, "dsp"):
        for name, data in _edge_models():
            _assert_same(emulate(data, board), _host(data, board), f"{board} {name}")
