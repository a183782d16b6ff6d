"""The conv kernels' Prepare rejects what it cannot run (int16 activations,
inconsistent shapes, scales, depth multiplier, bias scale, activation) with
a status and a message naming the problem."""

from __future__ import annotations

import numpy as np
import pytest
from support.conv_cases import conv_case, dw_case, fc_case, oracle_batch
from support.conv_harness import load_harness, run_harness

from tinyops_tflm.testing.single_op import TensorSpec


@pytest.fixture(scope="module")
def harness():
    return load_harness()


STATUS_INVALID_MODEL, STATUS_UNSUPPORTED = 2, 3


def _expect_reject(lib, case, status, words):
    rc, _, msg, _ = run_harness(lib, case, 0)
    assert rc == status, f"expected status {status}, got {rc} ({msg})"
    for w in words:
        assert w in msg, f"{w!r} not in message {msg!r}"


def test_prepare_rejects(harness):
    rng = np.random.default_rng(99)
    # int16 activations: unsupported.
    c = conv_case(rng, shape=(1, 4, 4, 3), oc=2, kernel=(1, 1))
    c.inp = TensorSpec("input", c.inp.shape, np.int16, c.inp.scale, 0)
    c.out = TensorSpec("output", c.out.shape, np.int16, c.out.scale, 0)
    _expect_reject(harness, c, STATUS_UNSUPPORTED, ["CONV_2D input", "int8", "int16"])
    # output shape inconsistent with padding/stride.
    c = conv_case(rng, shape=(1, 6, 6, 3), oc=2, kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1))
    c.out = TensorSpec("output", (1, 4, 4, 2), np.int8, c.out.scale, c.out.zero_point)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["output shape", "[1,4,4,2]", "[1,6,6,2]"])
    # wrong number of per-channel scales.
    c = dw_case(rng, shape=(1, 4, 4, 4), mult=1, kernel=(3, 3), per_channel=True)
    c.filt = TensorSpec("filter", (1, 3, 3, 4), np.int8, [0.01, 0.02, 0.03], 0, 0, c.filt.data[..., :4])
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["scales"])
    # depth multiplier inconsistent with the filter.
    c = dw_case(rng, shape=(1, 4, 4, 4), mult=2, kernel=(3, 3))
    c.options["depth_multiplier"] = 3
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["depth_multiplier"])
    # FC: per-tensor bias scale far from input*filter scale (TFLM rejects too).
    c = fc_case(rng, per_channel=False, bias=True, batches=1, depth=8, units=4)
    c.bias = TensorSpec("bias", (4,), np.int32, c.out.scale * 0.5, 0, 0, c.bias.data)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["bias scale"])
    ref = oracle_batch([c])[0]
    assert isinstance(ref, str), "TFLM accepted the bad FC bias scale"
    # FC: input element count not batches x depth.
    c = fc_case(rng, batches=2, depth=8, units=4, keep_num_dims=False)
    c.inp = TensorSpec("input", (3, 8), np.int8, c.inp.scale, c.inp.zero_point)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["input has 24 elements"])
    # unknown fused activation (TANH = 4).
    c = conv_case(rng, shape=(1, 3, 3, 2), oc=2, kernel=(1, 1))
    arr_fn = c.options_array

    def bad_options():
        a = arr_fn()
        a[8] = 4
        return a

    c.options_array = bad_options
    _expect_reject(harness, c, STATUS_UNSUPPORTED, ["activation"])
