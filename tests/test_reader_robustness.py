"""The reader on truncated and randomly corrupted models: always a ModelError
from its own bounds checks (or a Graph that satisfies the invariants), never
another exception. Random cases are seeded."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from support.reader_models import RNG_SEED, check_invariants

from tinyops_tflm.errors import ModelError, UnsupportedOpError
from tinyops_tflm.frontend import reader
from tinyops_tflm.frontend.reader import read_model

# prefix of the message of a low-level exception converted by the reader's backstop
BACKSTOP = "malformed flatbuffer while reading"


def test_every_truncation_raises_model_error(model_bytes):
    assert 1500 < len(model_bytes) < 4000
    for n in range(len(model_bytes)):
        try:
            read_model(model_bytes[:n])
        except ModelError as e:
            # found by the reader's own bounds checks, not by its catch-all backstop
            assert not str(e).startswith(BACKSTOP), (n, str(e))
            continue
        except Exception as e:  # pragma: no cover - the failure path of this test
            pytest.fail(f"prefix of {n} bytes raised {type(e).__name__}: {e}")
        pytest.fail(f"prefix of {n} bytes of {len(model_bytes)} was accepted")


def test_random_byte_flips_never_raise_anything_else(model_bytes):
    rng = np.random.default_rng(RNG_SEED)
    ref = read_model(model_bytes)
    outcomes = {"graph": 0, "model": 0, "unsupported": 0}
    n = len(model_bytes)
    for case in range(2000):
        data = bytearray(model_bytes)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, n))
            data[pos] ^= int(rng.integers(1, 256))
        try:
            g = read_model(bytes(data))
        except ModelError as e:
            outcomes["model"] += 1
            assert not str(e).startswith(BACKSTOP), (case, str(e))
            continue
        except UnsupportedOpError:
            outcomes["unsupported"] += 1
            continue
        except Exception as e:  # pragma: no cover - the failure path of this test
            pytest.fail(f"case {case}: {type(e).__name__}: {e}")
        outcomes["graph"] += 1
        check_invariants(g)
        assert len(g.tensors) <= n and len(g.operators) <= n
    # both outcomes must occur, or the test is not exercising the reader
    assert outcomes["graph"] > 50 and outcomes["model"] > 500, outcomes
    assert ref.op_names() == ["CONV_2D", "ADD", "RESHAPE", "SOFTMAX"]


def test_corrupted_offsets_are_model_errors(model_bytes):
    """Point the root table and vtables outside the buffer explicitly."""
    n = len(model_bytes)
    root = struct.unpack_from("<I", model_bytes, 0)[0]
    for soff in (n + 10, -(n + 10), root + 1, -(2**31)):
        data = bytearray(model_bytes)
        struct.pack_into("<i", data, root, soff)
        with pytest.raises(ModelError, match="model: vtable of table"):
            read_model(bytes(data))
    for bad_root in (n, n - 2, 2**32 - 1, 4):
        data = bytearray(model_bytes)
        struct.pack_into("<I", data, 0, bad_root)
        with pytest.raises(ModelError, match="root table offset"):
            read_model(bytes(data))
    # vtable claiming more fields than the buffer holds
    vt = root - struct.unpack_from("<i", model_bytes, root)[0]
    data = bytearray(model_bytes)
    struct.pack_into("<H", data, vt, 0xFFFE)
    with pytest.raises(ModelError, match="invalid vtable size"):
        read_model(bytes(data))
    # table size past the end
    data = bytearray(model_bytes)
    struct.pack_into("<H", data, vt + 2, 0xFFFC)
    with pytest.raises(ModelError, match="extends past the end"):
        read_model(bytes(data))
    # subgraphs vector length beyond the buffer
    sub_field = root + struct.unpack_from("<H", model_bytes, vt + 8)[0]
    vec = sub_field + struct.unpack_from("<I", model_bytes, sub_field)[0]
    data = bytearray(model_bytes)
    struct.pack_into("<I", data, vec, 1 << 28)
    with pytest.raises(ModelError, match="vector of tables.*extends past the end"):
        read_model(bytes(data))


def test_backstop_converts_low_level_errors(model_bytes, monkeypatch):
    """Any low-level exception escaping the bounds checks still becomes a ModelError."""

    def boom(self, model):
        struct.unpack_from("<I", b"", 0)  # struct.error, as a raw flatbuffers read would raise

    monkeypatch.setattr(reader._Parser, "_read_buffers", boom)
    with pytest.raises(ModelError, match=r"malformed flatbuffer while reading .*struct\.error") as ei:
        read_model(model_bytes)
    assert isinstance(ei.value.__cause__, struct.error)
