"""The conv harness (tests/cpp/conv_harness.cc) as an AddressSanitizer/UBSan
executable running its own randomized fast-vs-reference-vs-tile self-test
(tiles get exactly-sized copies of their input band, filter slice and
scratch), on each kernel level."""

from __future__ import annotations

import os
import subprocess

import pytest
from support.conv_harness import compile_harness


@pytest.mark.parametrize("isa", ["portable", "avx2", "avx512"])
def test_sanitized_selftest(isa):
    """Fast paths vs reference loops vs random tiles under ASan/UBSan, on each
    kernel level (TINYOPS_ISA). A level this CPU lacks must be refused with a
    message, not crash."""
    from tinyops_tflm.runtime.engine import supported_isas

    exe = compile_harness("selftest")
    seed = {"portable": "17", "avx2": "29", "avx512": "23"}[isa]
    res = subprocess.run(
        [str(exe), "1000", seed],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0", "TINYOPS_ISA": isa},
    )
    if isa not in supported_isas():
        assert res.returncode == 2 and f"TINYOPS_ISA={isa}, but this CPU" in res.stdout, res.stdout
        return
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"kernels: {isa}" in res.stdout
    assert "0 failures" in res.stdout and "0 rejected" in res.stdout
