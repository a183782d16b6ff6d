"""Comparisons against the pinned tflite-micro oracle: raw bytes, no tolerance."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tinyops_tflm.validation.oracle import OracleError


def assert_bytes_equal(got: np.ndarray, ref: np.ndarray, msg: str = "") -> None:
    """Same dtype, shape and bytes (so float outputs, -0.0 and NaN payloads
    included, compare exactly)."""
    assert got.dtype == ref.dtype and got.shape == ref.shape, (got.dtype, got.shape, ref.dtype, ref.shape)
    np.testing.assert_array_equal(np.atleast_1d(got).view(np.uint8), np.atleast_1d(ref).view(np.uint8), err_msg=msg)


def assert_matches_oracle(got: Sequence[np.ndarray], refs, what: str, num_outputs: int = 1) -> None:
    """Every output of a run equals TFLM's (`refs`: one entry of
    run_tflm_batch, a list of outputs or the OracleError of that model)."""
    assert not isinstance(refs, OracleError), f"TFLM rejected the test model {what}: {refs}"
    assert len(got) == num_outputs == len(refs), (len(got), num_outputs, len(refs))
    for g, ref in zip(got, refs):
        assert_bytes_equal(g, ref, what)


def assert_case_matches_oracle(case, refs) -> None:
    """The host Interpreter run of a batched oracle case (``.model``,
    ``.inputs``, ``.params``, ``.num_outputs`` when not 1) equals TFLM's
    `refs` (its entry of the `oracle` fixture)."""
    from tinyops_tflm import Interpreter

    got = Interpreter.from_bytes(case.model).run(*case.inputs)
    assert_matches_oracle(got, refs, str(case.params), getattr(case, "num_outputs", 1))
