"""The reader's list of supported operators is exactly what the engine registers."""

from tinyops_tflm.frontend.ops import SUPPORTED_OPS
from tinyops_tflm.runtime.engine import core


def test_supported_ops_match_engine_registry():
    assert core().supported_ops() == SUPPORTED_OPS
