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
* single-op models aimed at every variant of the DSP kernels
  (csrc/kernels/arm/: the GEMM's P-pixel and 1-pixel x 2-channel blocks,
  aligned and unaligned rows, K % 4 != 0, K deeper than the unpacking
  scratch; depthwise 3x3 / 5x5 / 7x7 at strides 1 and 2, channel counts that
  leave partial groups, depth multipliers, rows wider than the unpacking
  ring, a single output column; the paths kept for dilated and 5x3 windows;
  every kind of output stage, scales that need TFLM's generic stage and
  accumulators near the int32 limits), merged into one model, must match
  the host Interpreter and the pinned tflite-micro interpreter byte for
  byte, op by op -- with the default SRAM budget and with a small one whose
  plan runs every op in row bands / channel ranges.

Needs arm-none-eabi-gcc (+ newlib, libstdc++), CMake and qemu-system-arm;
skips, saying so, without them. Firmware builds go to this session's
temporary caches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.firmware import arm_tools_missing, assert_dsp_ratios, dsp_and_portable_runs, skip_without
from support.firmware import assert_same_per_op as _same_per_op
from support.firmware import firmware_variant as _variant
from support.firmware import host_outputs as _host
from support.firmware import merge_models as _merge
from support.firmware import oracle_outputs as _oracle

BOARDS = ["stm32f469", "stm32f746"]
DEMO = Path(__file__).resolve().parent.parent / "tinyops_tflm" / "data" / "demo_tiny.tflite"

# DSP build / portable build, guest instructions of all ops of a type. The
# measured ratios on the demo model are about 0.40 (CONV_2D), 0.40
# (DEPTHWISE_CONV_2D) and 0.47 (whole invoke) on both boards.
MAX_RATIO = {"CONV_2D": 0.60, "DEPTHWISE_CONV_2D": 0.60}
MAX_RATIO_INVOKE = 0.70


pytestmark = skip_without(arm_tools_missing(), "tests/test_dsp_paths.py", "the Arm DSP path tests")


@pytest.mark.parametrize("board", BOARDS)
def test_demo_dsp_matches_host_and_beats_portable(board, caches):
    dsp, port = dsp_and_portable_runs(DEMO.read_bytes(), board, caches)
    assert_dsp_ratios(board, dsp, port, MAX_RATIO, max_invoke=MAX_RATIO_INVOKE)


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
    out_scale = float(np.float32(in_scale * 0.25 * 2.0**20 * 1.03))
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
    """Single-op models aimed at every variant of the DSP kernels
    (csrc/kernels/arm/*.h) and at their edges; parameters not pinned here are
    drawn at random (zero points, scales, per-channel or not, bias or not)."""
    from tinyops_tflm.testing import single_op as so

    rng = np.random.default_rng(2024)
    models = []

    def add(name, builder, **kw):
        models.append((name, builder(rng, **kw)[0]))

    def dw(name, shape, k, s=1, m=1, pad="SAME", act="NONE", dil=1, **kw):
        add(
            name,
            so.depthwise_conv2d,
            input_shape=shape,
            depth_multiplier=m,
            kernel=k,
            stride=s,
            dilation=dil,
            padding=pad,
            activation=act,
            **kw,
        )

    def conv(name, shape, oc, k=1, s=1, pad="VALID", act="NONE", **kw):
        add(name, so.conv2d, input_shape=shape, out_channels=oc, kernel=k, stride=s, padding=pad, activation=act, **kw)

    # Depthwise: 3x3 / 5x5 / 7x7 at both strides, channel counts that leave
    # partial groups (16 / 8 / 4 channels) and partial 4-channel words, depth
    # multipliers, rows wider than the unpacking ring (column chunks), a
    # single output column, every kind of output stage.
    dw("dw3x3 c=13 s1 same relu6", (1, 9, 7, 13), 3, act="RELU6")
    dw("dw3x3 c=24 s2 same", (1, 11, 10, 24), 3, s=2)
    dw("dw3x3 c=37 s1 relu", (1, 6, 9, 37), 3, act="RELU")
    dw("dw3x3 c=16 s2 valid n1to1", (1, 9, 13, 16), 3, s=2, pad="VALID", act="RELU_N1_TO_1")
    dw("dw3x3 c=8 wide rows", (1, 4, 203, 8), 3)
    dw("dw3x3 c=20 s2 wide rows", (1, 5, 190, 20), 3, s=2, act="RELU6")
    dw("dw3x3 c=6 one column", (1, 5, 1, 6), 3, act="RELU6")
    dw("dw3x3 c=9 stride (2, 1)", (1, 9, 9, 9), 3, s=(2, 1))
    dw("dw3x3 c=12 stride (1, 2) m=2", (1, 7, 10, 12), 3, s=(1, 2), m=2)
    dw("dw3x3 c=3 m=2 s2 valid", (1, 9, 8, 3), 3, s=2, pad="VALID")
    dw("dw3x3 c=5 m=5 s1", (1, 6, 6, 5), 3, m=5, act="RELU")
    dw("dw5x5 c=18 s1 same relu", (1, 8, 9, 18), 5, act="RELU")
    dw("dw5x5 c=40 s2 relu6", (1, 12, 12, 40), 5, s=2, act="RELU6")
    dw("dw5x5 c=5 m=3 s1", (1, 7, 9, 5), 5, m=3)
    dw("dw5x5 c=11 wide rows s2", (1, 6, 140, 11), 5, s=2)
    dw("dw7x7 c=20 s1 same", (1, 10, 10, 20), 7, act="RELU6")
    dw("dw7x7 c=6 s2", (1, 11, 12, 6), 7, s=2, act="RELU_N1_TO_1")
    dw("dw7x7 c=4 m=2 s1 valid", (1, 9, 11, 4), 7, m=2, pad="VALID")
    dw("dw3x3 tiny out scale", (1, 6, 6, 12), 3, out_scale=1e-6)
    dw("dw3x3 huge out scale", (1, 6, 6, 12), 3, out_scale=500.0)
    # Paths that keep the previous DSP / portable loops: dilation, 5x3.
    dw("dw5x5 c=8 s2 valid dil", (1, 13, 12, 8), 5, s=(2, 1), dil=(1, 2), pad="VALID")
    dw("dw5x3 c=10 dil2 same", (1, 7, 9, 10), (5, 3), dil=2, act="RELU_N1_TO_1")
    # GEMM: P-pixel blocks (2..6 and balanced splits), 1 pixel x 2 channels
    # (aligned and unaligned rows, a lone last channel), K % 4 != 0, K deeper
    # than the unpacking scratch, every kind of output stage.
    conv("pw c=13->11 odd pixels", (1, 3, 5, 13), 11)
    conv("pw c=40->24 stride 2 relu", (1, 7, 7, 40), 24, s=2, act="RELU")
    conv("pw c=16->64 relu6", (1, 5, 5, 16), 64, act="RELU6")
    conv("pw c=24->70 relu6", (1, 4, 4, 24), 70, act="RELU6")
    conv("pw c=112->13 7 pixels", (1, 1, 7, 112), 13)
    conv("pw 1 pixel c=64->13", (1, 1, 1, 64), 13, act="RELU")
    conv("pw 1 pixel c=70->9 unaligned", (1, 1, 1, 70), 9)
    conv("pw 1 pixel c=960->66", (1, 1, 1, 960), 66, act="RELU6")
    conv("pw c=640->20 3 pixels", (1, 1, 3, 640), 20)
    # 6-pixel blocks with K % 4 == 0 (the px6_* assembly): odd and even
    # depth-group counts (one group included) x each kind of output stage.
    conv("pw c=20->9 6 px high", (1, 2, 3, 20), 9, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=8->70 6 px high", (1, 6, 1, 8), 70, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=4->5 6 px range", (1, 1, 6, 4), 5, act="RELU", out_zp=-30)
    conv("pw c=32->7 12 px range", (1, 3, 4, 32), 7, act="RELU", out_zp=-20)
    conv("pw c=12->10 12 px plain", (1, 3, 4, 12), 10)
    conv("pw c=16->6 6 px plain", (1, 2, 3, 16), 6)
    conv("conv3x3 K=27 s2 relu6", (1, 15, 15, 3), 9, k=3, s=2, pad="SAME", act="RELU6")
    conv("conv3x3 c=16 K=27 s2 n1to1", (1, 12, 13, 3), 16, k=3, s=2, pad="SAME", act="RELU_N1_TO_1")
    conv("conv3x3 c=5 K=45 s1", (1, 6, 7, 5), 7, k=3, s=1, pad="SAME")
    conv("conv2x2 K=2", (1, 4, 4, 2), 5, k=1)
    conv("conv tiny out scale", (1, 4, 4, 8), 6, out_scale=1e-6)
    add("fc 3x70->13", so.fully_connected, input_shape=(3, 70), units=13, activation="NONE")
    add("fc 1x1280->40", so.fully_connected, input_shape=(1, 1280), units=40, activation="NONE")
    add("fc 1x3100->5 raw", so.fully_connected, input_shape=(1, 3100), units=5, activation="RELU")
    add("fc 7x96->33", so.fully_connected, input_shape=(7, 96), units=33, activation="RELU6")
    # 1 pixel x 3 channels with the output stage (the fc3_* assembly, K % 8 ==
    # 0): one 8-depth step, whole 64-depth iterations plus steps, iterations
    # only; channel counts leaving 1 or 2 channels to the 2-row loop and
    # several channel blocks; each kind of output stage.
    add(
        "fc 1x8->14 high",
        so.fully_connected,
        input_shape=(1, 8),
        units=14,
        activation="RELU6",
        out_zp=-128,
        out_scale=0.1,
    )
    add("fc 1x72->130 range", so.fully_connected, input_shape=(1, 72), units=130, activation="RELU", out_zp=-30)
    add("fc 1x960->200 plain", so.fully_connected, input_shape=(1, 960), units=200, activation="NONE")
    conv("pw 1 pixel c=136->65 high", (1, 1, 1, 136), 65, act="RELU6", out_zp=-128, out_scale=0.1)
    # px6_*: several 4-group loop iterations after 1 and 2 leading groups.
    conv("pw c=72->11 6 px high", (1, 2, 3, 72), 11, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=44->7 12 px range", (1, 4, 3, 44), 7, act="RELU", out_zp=-25)
    # px5_* / px4_* (balanced blocks of 5 and 4 pixels, K % 4 == 0): each kind
    # of output stage, one group, odd and even group counts, loop iterations.
    conv("pw c=20->9 5 px high", (1, 1, 5, 20), 9, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=72->11 10 px range", (1, 2, 5, 72), 11, act="RELU", out_zp=-30)
    conv("pw c=4->6 25 px plain", (1, 5, 5, 4), 6)
    conv("pw c=36->9 9 px range", (1, 3, 3, 36), 9, act="RELU", out_zp=-20)
    conv("pw c=44->7 4 px high", (1, 2, 2, 44), 7, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=8->10 8 px plain", (1, 2, 4, 8), 10)
    # Channel pairs x 4-pixel sub-blocks (gemm_pair4_dsp.h, one schedule per
    # core): blocks of at least 8 pixels, the last npix % 4 pixels (+4, or 3
    # alone) by a P-pixel block, several pixel blocks, an odd last channel,
    # K % 4 != 0, im2col rows, each kind of output stage, every
    # (groups - 1) % 4 with and without the 4-group loop (the cases above
    # with 8-25 pixels take it too).
    conv("pw c=20->6 14 px high", (1, 2, 7, 20), 6, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=400->9 30 px range", (1, 5, 6, 400), 9, act="RELU", out_zp=-30)
    conv("pw c=30->5 27 px plain", (1, 3, 9, 30), 5)
    conv("conv3x3 K=27 s1 20-px rows", (1, 4, 20, 3), 8, k=3, s=1, pad="SAME", act="RELU6")
    # Deep rows: the GEMM's stack buffer holds a channel pair's weights and
    # 8 pixels at K = 960 on the M7 (blocks of 8, 8 and 4 pixels; 21 pixels
    # on the M4; 3 fit the plan's scratch), 4 pixels at K = 2000 on the M7
    # (no pairs; 10 on the M4).
    conv("pw c=960->9 25 px plain", (1, 5, 5, 960), 9)
    conv("pw c=2000->5 7 px plain", (1, 1, 7, 2000), 5)
    # px3_* / px2_*: 2- and 3-pixel tiles, each kind of output stage.
    conv("pw c=24->7 3 px high", (1, 1, 3, 24), 7, act="RELU6", out_zp=-128, out_scale=0.1)
    conv("pw c=40->7 3 px plain", (1, 1, 3, 40), 7)
    conv("pw c=36->6 2 px range", (1, 1, 2, 36), 6, act="RELU", out_zp=-20)
    conv("pw c=28->9 2 px plain", (1, 1, 2, 28), 9)
    conv("pw c=672->5 8 px range", (1, 2, 4, 672), 5, act="RELU", out_zp=-30)
    models.append(("conv accumulators near +2^31", _extreme_accumulator_conv(1)))
    models.append(("conv accumulators near -2^31", _extreme_accumulator_conv(-1)))
    return models


@pytest.fixture(scope="module")
def edge_model():
    """All edge models merged into one (one build and run per board), with
    the oracle's outputs."""
    cases = _edge_models()
    data = _merge([m for _, m in cases])
    return [n for n, _ in cases], data, _oracle(data)


@pytest.mark.parametrize("board", BOARDS)
def test_dsp_edge_cases_match_host_and_oracle(board, caches, edge_model):
    from tinyops_tflm.firmware.emulate import emulate

    names, data, oracle = edge_model
    host = _host(data, board)
    _same_per_op(_FakeResult(host), oracle, names, "host vs tflite-micro")
    with _variant(caches, "dsp"):
        # Default budget, and a small one: row bands and channel ranges of
        # every op go through the tile entry points.
        for budget in (None, "20K"):
            r = emulate(data, board, sram_budget=budget)
            _same_per_op(r, host, names, f"{board} budget {budget or 'default'} vs host")
            _same_per_op(r, oracle, names, f"{board} budget {budget or 'default'} vs tflite-micro")


class _FakeResult:
    def __init__(self, outputs):
        self.outputs = outputs
