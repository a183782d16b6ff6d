"""Arm DSP-extension kernel paths (SMLAD / SXTB16, csrc/kernels/arm_dsp.h) on
the emulated Cortex-M4F (stm32f469) and Cortex-M7 (stm32f746) boards.

The DSP paths are compiled only for targets with __ARM_FEATURE_DSP, so the
host kernel tests never run them; these tests do, under QEMU:

* the demo model, built twice per board -- with the DSP paths and with them
  disabled (-DTINYOPS_NO_ARM_DSP through TINYOPS_FW_EXTRA_FLAGS) -- must give
  the host Interpreter's bytes both times, and the DSP build must need at
  most a fixed fraction of the portable build's guest instructions for
  CONV_2D and DEPTHWISE_CONV_2D (measured in the same run, so the bound does
  not depend on the machine);
* single-op models aimed at the DSP paths' edge cases (channel counts that
  are not multiples of 4, odd pixel counts, K % 4 != 0, 3x3 / 5x5 / 3x5
  depthwise windows with strides, dilations and padding, clamped
  activations, output scales that need the generic output stage, and
  accumulators near the int32 limits where the fast output stage saturates)
  must match the host byte for byte.

Needs arm-none-eabi-gcc (+ newlib, libstdc++), CMake and qemu-system-arm;
skips, saying so, without them. Firmware builds go to this session's
temporary caches.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fw_support import assert_same_as_host as _assert_same
from fw_support import firmware_variant as _variant
from fw_support import host_outputs as _host
from fw_support import instructions_by_type as _by_type

BOARDS = ["stm32f469", "stm32f746"]
DEMO = Path(__file__).resolve().parent.parent / "tinyops_tflm" / "data" / "demo_tiny.tflite"

# DSP build / portable build, guest instructions of all ops of a type. The
# measured ratios on the demo model are about 0.40 (CONV_2D), 0.40
# (DEPTHWISE_CONV_2D) and 0.47 (whole invoke) on both boards.
MAX_RATIO = {"CONV_2D": 0.60, "DEPTHWISE_CONV_2D": 0.60}
MAX_RATIO_INVOKE = 0.70


def _tools_missing() -> str | None:
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-g++", "qemu-system-arm", "cmake")
               if shutil.which(t) is None]
    return ", ".join(missing) if missing else None


_MISSING = _tools_missing()
if _MISSING is not None:
    print(f"\ntests/test_dsp_paths.py: skipping the Arm DSP path tests: {_MISSING} not found")
pytestmark = pytest.mark.skipif(
    _MISSING is not None,
    reason=f"Arm DSP path tests need the Arm toolchain and QEMU ({_MISSING} not found; "
           "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
           "libstdc++-arm-none-eabi-newlib qemu-system-arm)")


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """Firmware caches: DSP paths on (the default build) and off."""
    return {"dsp": tmp_path_factory.mktemp("fw-dsp"),
            "portable": tmp_path_factory.mktemp("fw-portable")}


@pytest.mark.parametrize("board", BOARDS)
def test_demo_dsp_matches_host_and_beats_portable(board, caches):
    from tinyops_tflm.emulate import emulate

    data = DEMO.read_bytes()
    host = _host(data, board)
    runs = {}
    for name in ("dsp", "portable"):
        with _variant(caches, name):
            runs[name] = emulate(data, board)
        _assert_same(runs[name], host, f"{board} {name} build")
    dsp, port = runs["dsp"], runs["portable"]
    if dsp.invoke_instructions is None or port.invoke_instructions is None:
        pytest.skip("no instruction counts (the QEMU plugin needs a host C compiler)")
    cd, cp = _by_type(dsp), _by_type(port)
    lines = [f"{board}: guest instructions, DSP build / portable build"]
    for op in sorted(cp, key=lambda k: -cp[k]):
        lines.append(f"  {op:<20}{cd.get(op, 0):>12,} /{cp[op]:>12,}  {cd.get(op, 0) / cp[op]:.2f}")
    lines.append(f"  {'invoke':<20}{dsp.invoke_instructions:>12,} /{port.invoke_instructions:>12,}"
                 f"  {dsp.invoke_instructions / port.invoke_instructions:.2f}")
    print("\n" + "\n".join(lines))
    for op, bound in MAX_RATIO.items():
        assert op in cp, f"the demo model has no {op}"
        assert cd[op] <= bound * cp[op], f"{board} {op}: {cd[op]:,} > {bound} x {cp[op]:,}"
    assert dsp.invoke_instructions <= MAX_RATIO_INVOKE * port.invoke_instructions


# ---------------------------------------------------------------------------
# Edge cases of the DSP paths, single-op models.


def _extreme_accumulator_conv(sign: int) -> bytes:
    """1x1 CONV_2D whose accumulators sit near +-2^31 (bias) with an effective
    scale just below 2^-20 and a large output offset: h + round saturates in
    the fast output stage's QADD, which must still give TFLM's clamped byte."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    from tinyops_tflm.testing.single_op import TensorSpec, build_model

    rng = np.random.default_rng(7 + sign)
    c, oc = 12, 10
    w = rng.integers(-127, 128, size=(oc, 1, 1, c)).astype(np.int8)
    in_scale, w_scales = 0.5, [float(np.float32(0.25 * (1 + 0.01 * i))) for i in range(oc)]
    out_scale = float(np.float32(in_scale * 0.25 * 2.0 ** 20 * 1.03))
    bias = (sign * (2**31 - 1 - rng.integers(0, 2**17, size=oc))).astype(np.int32)
    tensors = [
        TensorSpec("input", (1, 5, 3, c), np.int8, in_scale, 3),
        TensorSpec("filter", (oc, 1, 1, c), np.int8, w_scales, 0, 0, w),
        TensorSpec("bias", (oc,), np.int32, [in_scale * s for s in w_scales], 0, 0, bias),
        TensorSpec("output", (1, 5, 3, oc), np.int8, out_scale, 100 * sign),
    ]
    opt = schema.Conv2DOptionsT()
    opt.padding = schema.Padding.VALID
    opt.strideH = opt.strideW = 1
    opt.dilationHFactor = opt.dilationWFactor = 1
    return build_model(tensors, [("CONV_2D", opt, [0, 1, 2], [3])], [0], [3])


def _edge_models() -> list[tuple[str, bytes]]:
    from tinyops_tflm.testing import single_op as so

    rng = np.random.default_rng(2024)
    models = []

    def add(name, builder, **kw):
        models.append((name, builder(rng, **kw)[0]))

    add("dw3x3 c=13 s1 same relu6", so.depthwise_conv2d, input_shape=(1, 9, 7, 13),
        depth_multiplier=1, kernel=3, stride=1, dilation=1, padding="SAME", activation="RELU6")
    add("dw3x3 c=24 s2 same", so.depthwise_conv2d, input_shape=(1, 11, 10, 24),
        depth_multiplier=1, kernel=3, stride=2, dilation=1, padding="SAME", activation="NONE")
    add("dw5x5 c=18 s1 same relu", so.depthwise_conv2d, input_shape=(1, 8, 9, 18),
        depth_multiplier=1, kernel=5, stride=1, dilation=1, padding="SAME", activation="RELU")
    add("dw5x5 c=8 s2 valid dil", so.depthwise_conv2d, input_shape=(1, 13, 12, 8),
        depth_multiplier=1, kernel=5, stride=(2, 1), dilation=(1, 2), padding="VALID",
        activation="NONE")
    add("dw5x3 c=10 dil2 same", so.depthwise_conv2d, input_shape=(1, 7, 9, 10),
        depth_multiplier=1, kernel=(5, 3), stride=1, dilation=2, padding="SAME",
        activation="RELU_N1_TO_1")
    add("dw3x3 tiny out scale", so.depthwise_conv2d, input_shape=(1, 6, 6, 12),
        depth_multiplier=1, kernel=3, stride=1, padding="SAME", activation="NONE",
        out_scale=1e-6)
    add("dw3x3 huge out scale", so.depthwise_conv2d, input_shape=(1, 6, 6, 12),
        depth_multiplier=1, kernel=3, stride=1, padding="SAME", activation="NONE",
        out_scale=500.0)
    add("pw c=13->11 odd pixels", so.conv2d, input_shape=(1, 3, 5, 13), out_channels=11,
        kernel=1, stride=1, padding="VALID", activation="NONE")
    add("pw c=40->24 stride 2", so.conv2d, input_shape=(1, 7, 7, 40), out_channels=24,
        kernel=1, stride=2, padding="VALID", activation="RELU")
    add("conv3x3 K=27 s2 relu6", so.conv2d, input_shape=(1, 15, 15, 3), out_channels=9,
        kernel=3, stride=2, padding="SAME", activation="RELU6")
    add("conv tiny out scale", so.conv2d, input_shape=(1, 4, 4, 8), out_channels=6,
        kernel=1, stride=1, padding="VALID", activation="NONE", out_scale=1e-6)
    add("fc 3x70->13", so.fully_connected, input_shape=(3, 70), units=13, activation="NONE")
    models.append(("conv accumulators near +2^31", _extreme_accumulator_conv(1)))
    models.append(("conv accumulators near -2^31", _extreme_accumulator_conv(-1)))
    return models


@pytest.mark.parametrize("board", BOARDS)
def test_dsp_edge_cases_match_host(board, caches):
    from tinyops_tflm.emulate import emulate

    with _variant(caches, "dsp"):
        for name, data in _edge_models():
            _assert_same(emulate(data, board), _host(data, board), f"{board} {name}")
