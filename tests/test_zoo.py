"""Zoo models (TensorFlow-built, random calibrated weights, full int8) convert,
run in the golden oracle and give non-degenerate int8 outputs.

The first run builds every model with TensorFlow (about 1 minute in total)
and caches it (``$TINYOPS_CACHE`` or ``~/.cache/tinyops_tflm/models``)."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyops_tflm.validation import zoo
from tinyops_tflm.validation.oracle import run_tflm

# Ops the converter emits for these models (the engine's kernel set must cover them).
EXPECTED_OPS = {
    "demo_tiny": {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "HARD_SWISH", "MEAN", "MUL"},
    "mobilenet_v2_a035_r96": {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN"},
    "mobilenet_v3_small_r224": {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "HARD_SWISH", "MEAN", "MUL", "RESHAPE"},
    "mobilenet_v3_large_r160": {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "HARD_SWISH", "MEAN", "MUL", "RESHAPE"},
    "efficientnet_b0_r128": {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "LOGISTIC", "MEAN", "MUL"},
}


def _io(model: bytes):
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))
    sg = m.subgraphs[0]
    return sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]], m, sg


def check_non_degenerate(name: str, model: bytes, num_inputs: int = 3) -> None:
    inp, out, m, sg = _io(model)
    assert inp.type == schema.TensorType.INT8 and out.type == schema.TensorType.INT8, name
    in_scale = float(inp.quantization.scale[0])
    assert abs(in_scale - 2 / 255) < 1e-4, (name, in_scale)  # inputs in [-1, 1]
    out_scale = float(out.quantization.scale[0])
    assert 1e-3 < out_scale < 10, (name, out_scale)
    # no activation collapsed or exploded inside the network either
    act_scales = [
        float(t.quantization.scale[0])
        for t in sg.tensors
        if t.type == schema.TensorType.INT8
        and t.quantization is not None
        and t.quantization.scale is not None
        and len(t.quantization.scale) == 1
        and not (m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data))
    ]
    assert min(act_scales) > 1e-4 and max(act_scales) < 1.0, (name, min(act_scales), max(act_scales))

    rng = np.random.default_rng(123)
    shape = tuple(int(d) for d in inp.shape)
    sets = [[rng.integers(-128, 127, size=shape, endpoint=True, dtype=np.int8)] for _ in range(num_inputs)]
    outs = [o[0] for o in run_tflm(model, sets)]
    for o in outs:
        assert o.dtype == np.int8 and o.shape == tuple(int(d) for d in out.shape), name
        distinct = len(np.unique(o))
        assert distinct >= min(8, o.size // 2), (name, distinct)
        assert np.mean((o == -128) | (o == 127)) < 0.2, (name, "saturated")
    assert not np.array_equal(outs[0], outs[1]), (name, "output ignores the input")


@pytest.mark.parametrize("name", zoo.list_models())
def test_zoo_model_converts_runs_and_is_not_degenerate(name):
    model = zoo.cached(name, seed=0)
    assert model[4:8] == b"TFL3"
    ops = zoo.op_counts(model)
    assert set(ops) == EXPECTED_OPS[name], (name, ops)
    check_non_degenerate(name, model)


def test_bundled_demo_model():
    data = (resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite").read_bytes()
    assert len(data) < 1 << 20
    assert set(zoo.op_counts(data)) == EXPECTED_OPS["demo_tiny"]
    inp, out, _, _ = _io(data)
    assert list(inp.shape) == [1, 64, 64, 3] and list(out.shape) == [1, 10]
    check_non_degenerate("demo_tiny (bundled)", data, num_inputs=4)


def test_seeds_give_different_weights():
    a = zoo.cached("demo_tiny", seed=0)
    b = zoo.cached("demo_tiny", seed=1)
    assert a != b and len(a) == len(b)


def test_cached_reuses_and_writes_atomically(tmp_path, monkeypatch):
    calls = []

    def fake_build(name, seed=0):
        calls.append((name, seed))
        return b"\x1c\x00\x00\x00TFL3" + bytes([seed]) * 8

    monkeypatch.setattr(zoo, "build", fake_build)
    a = zoo.cached("demo_tiny", seed=3, cache_dir=tmp_path)
    b = zoo.cached("demo_tiny", seed=3, cache_dir=tmp_path)
    assert a == b and calls == [("demo_tiny", 3)]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].startswith("demo_tiny-s3-tf") and files[0].endswith(".tflite")
    # aliases resolve to the canonical cache entry
    zoo.cached("efficientnet_b0", seed=3, cache_dir=tmp_path)
    assert calls[-1] == ("efficientnet_b0_r128", 3)
    # a corrupt cache file is rebuilt
    (tmp_path / files[0]).write_bytes(b"garbage")
    assert zoo.cached("demo_tiny", seed=3, cache_dir=tmp_path) == a and len(calls) == 3
    # $TINYOPS_CACHE selects the default directory
    monkeypatch.setenv("TINYOPS_CACHE", str(tmp_path / "env"))
    zoo.cached("demo_tiny", seed=4)
    assert any((tmp_path / "env").iterdir())
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_unknown_model_and_light_import():
    with pytest.raises(ValueError, match="unknown zoo model"):
        zoo.build("resnet_1000")
    with pytest.raises(ValueError, match="unknown zoo model"):
        zoo.cached("resnet_1000")
    code = (
        "import sys, tinyops_tflm.validation.zoo; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
