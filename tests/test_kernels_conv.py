"""CONV_2D and DEPTHWISE_CONV_2D kernels vs the TFLM oracle (FULLY_CONNECTED:
test_kernels_fc.py; the harness's sanitized self-test:
test_kernels_conv_selftest.py; Prepare's rejections:
test_kernels_conv_rejects.py).

Seeded randomized single-op models (tests/support/conv_cases.py) (kernel sizes 1..7, strides 1..3,
dilations 1..3, SAME/VALID, all fused activations, every input zero point,
per-channel scales spanning orders of magnitude, odd shapes, channel counts
that are not multiples of 8/16, depth multipliers, grouped convolutions, FC
with keep_num_dims and 2D..4D inputs, with and without bias). Each model runs
in the pinned tflite-micro interpreter (many models per child process) and
through the kernels:

* the C++ test harness tests/cpp/conv_harness.cc, built with g++ into a
  shared library (ctypes, tests/support/conv_harness.py): whole-op eval (fast paths), the reference tile loops,
  and random row-band x channel tiles checked against the whole-op result;
* the same harness as an AddressSanitizer/UBSan executable running its own
  randomized fast-vs-reference-vs-tile self-test (tiles get exactly-sized
  copies of their input band, filter slice and scratch);
* the tinyops Interpreter (engine extension required: installed or TINYOPS_CORE).

Outputs are compared byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest
from support.conv_cases import check_cases, conv_case, dw_case, fc_case
from support.conv_harness import ACTS, load_harness


@pytest.fixture(scope="module")
def harness():
    return load_harness()


def test_conv2d_random_vs_oracle(harness):
    rng = np.random.default_rng(1234)
    cases = [conv_case(rng) for _ in range(220)]
    # Fixed shapes: pointwise (GEMM) with K below/above the outer-product cut,
    # big-channel 3x3, grouped convolutions, kernel 7, input zero point extremes.
    cases += [
        conv_case(rng, shape=(1, 9, 7, c), oc=oc, kernel=(1, 1), stride=(1, 1))
        for c, oc in ((16, 64), (24, 72), (48, 40), (49, 17), (120, 33), (3, 1))
    ]
    cases += [conv_case(rng, shape=(1, 11, 11, 3), oc=16, kernel=(3, 3), stride=(2, 2), padding="SAME")]
    cases += [conv_case(rng, kernel=(7, 7), padding=p) for p in ("SAME", "VALID")]
    cases += [conv_case(rng, groups=g) for g in (2, 2, 3, 4)]
    cases += [conv_case(rng, in_zp=z, activation=a) for z in (-128, 127) for a in ACTS]
    cases += [conv_case(rng, shape=(1, 1, 1, 70), oc=70, kernel=(1, 1))]
    # Effective scales from ~1e-13 (multiplier flushed to zero) to ~1e3 (left
    # shifts), per channel, with and without the SIMD-friendly channel counts.
    extreme = [1e-12, 1e-9, 3e-6, 1e-3, 0.02, 0.5, 3.0, 70.0]
    for oc in (8, 16, 24):
        for kern in ((1, 1), (3, 3)):
            cases.append(
                conv_case(
                    rng,
                    shape=(1, 5, 6, 7),
                    oc=oc,
                    kernel=kern,
                    per_channel=True,
                    w_scales=[extreme[i % 8] for i in range(oc)],
                    out_scale=0.05,
                )
            )
    check_cases(harness, cases, seed=1)


def test_depthwise_random_vs_oracle(harness):
    rng = np.random.default_rng(5678)
    cases = [dw_case(rng) for _ in range(220)]
    cases += [
        dw_case(rng, kernel=(k, k), stride=(s, s), mult=1, padding="SAME", shape=(1, 9, 11, c))
        for k in (3, 5)
        for s in (1, 2)
        for c in (16, 17, 72)
    ]
    cases += [dw_case(rng, mult=m, kernel=(3, 3)) for m in (2, 3)]
    cases += [dw_case(rng, kernel=(7, 7)), dw_case(rng, kernel=(1, 1)), dw_case(rng, shape=(1, 1, 1, 8))]
    cases += [dw_case(rng, in_zp=z, activation=a) for z in (-128, 127) for a in ACTS]
    check_cases(harness, cases, seed=2)


def test_mobilenet_layer_shapes_vs_oracle(harness):
    """Layers of MobileNetV3-Large r160 (the fast paths at full size)."""
    rng = np.random.default_rng(777)
    cases = [
        conv_case(rng, shape=(1, 160, 160, 3), oc=16, kernel=(3, 3), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        conv_case(rng, shape=(1, 80, 80, 16), oc=64, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 40, 40, 72), oc=24, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 10, 10, 112), oc=672, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 5, 5, 960), oc=160, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 1, 1, 960), oc=1280, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        dw_case(rng, shape=(1, 80, 80, 64), mult=1, kernel=(3, 3), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 40, 40, 72), mult=1, kernel=(5, 5), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 10, 10, 672), mult=1, kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 5, 5, 960), mult=1, kernel=(5, 5), stride=(1, 1), padding="SAME", dilation=(1, 1)),
        fc_case(rng, batches=1, depth=1280, units=1000, rank=2, keep_num_dims=False),
    ]
    check_cases(harness, cases, ntiles=6, seed=5)
