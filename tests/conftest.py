"""Fixtures shared across the test modules (helpers live in tests/support/)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def oracle(request):
    """TFLM's outputs (or OracleError) for every case in the test module's
    ``CASES`` (each with ``.model`` and ``.inputs``), from one child process."""
    from tinyops_tflm.validation.oracle import run_tflm_batch

    cases = request.module.CASES
    return run_tflm_batch([c.model for c in cases], [c.inputs for c in cases])


@pytest.fixture(scope="session")
def fw_cache(tmp_path_factory):
    """One firmware build cache for the session (the engine is cross-compiled
    once per board, whichever module builds first)."""
    from tinyops_tflm.testing.environ import environ

    path = tmp_path_factory.mktemp("fw-cache")
    with environ(TINYOPS_FW_CACHE=str(path)):
        yield path


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """Firmware caches of the two build variants (support.firmware.firmware_variant):
    Arm DSP paths on (the default build) and off."""
    return {"dsp": tmp_path_factory.mktemp("fw-dsp"), "portable": tmp_path_factory.mktemp("fw-portable")}


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    """The reader tests' conv + add model, packed (support.reader_models)."""
    from support.reader_models import conv_add_model, pack

    return pack(conv_add_model())
