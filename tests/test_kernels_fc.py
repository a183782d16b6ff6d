"""FULLY_CONNECTED kernels vs the TFLM oracle: seeded random cases
(tests/support/conv_cases.py: 2D..4D inputs, keep_num_dims, per-tensor and
per-channel weights, with and without bias, filter zero points) through the
conv harness's three modes and the tinyops Interpreter, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from support.conv_cases import check_cases, fc_case
from support.conv_harness import load_harness


@pytest.fixture(scope="module")
def harness():
    return load_harness()


def test_fully_connected_random_vs_oracle(harness):
    rng = np.random.default_rng(91011)
    cases = [fc_case(rng) for _ in range(160)]
    cases += [fc_case(rng, keep_num_dims=True, rank=r, batches=b) for r in (2, 3, 4) for b in (1, 3)]
    cases += [fc_case(rng, keep_num_dims=False, rank=4, batches=2, depth=8)]
    cases += [fc_case(rng, depth=d, units=u, batches=1) for d, u in ((960, 40), (1280, 19), (48, 70), (47, 5))]
    cases += [fc_case(rng, bias=False, per_channel=pc) for pc in (False, True)]
    check_cases(harness, cases, seed=3)


def test_fully_connected_filter_zero_point_vs_oracle(harness):
    """Per-tensor FC applies a nonzero weight zero point (legacy models);
    per-channel FC ignores it. Both as TFLM does."""
    rng = np.random.default_rng(4242)
    cases = [fc_case(rng, per_channel=False, filter_zp=int(z)) for z in rng.integers(-128, 128, size=12)]
    cases += [fc_case(rng, per_channel=True, filter_zp=int(z)) for z in rng.integers(-128, 128, size=6)]
    check_cases(harness, cases, seed=4)
