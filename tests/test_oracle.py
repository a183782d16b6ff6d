"""The out-of-process golden oracle (pinned tflite-micro interpreter)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tflite_micro import runtime

from tinyops_tflm.testing import single_op as so
from tinyops_tflm.validation import oracle
from tinyops_tflm.validation.oracle import OracleError, run_tflm


def in_process(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    it = runtime.Interpreter.from_bytes(model, custom_op_registerers=[], arena_size=16 << 20)
    for i, a in enumerate(inputs):
        it.set_input(a, i)
    it.invoke()
    n_out = 1
    return [np.array(it.get_output(i)) for i in range(n_out)]


def test_runs_model_on_multiple_input_sets():
    rng = np.random.default_rng(1)
    model, meta = so.conv2d(rng, input_shape=(1, 12, 12, 8), out_channels=16, kernel=3, stride=1, padding="SAME")
    sets = [so.random_inputs(meta, rng) for _ in range(4)]
    outs = run_tflm(model, sets)
    assert len(outs) == 4
    for s, o in zip(sets, outs):
        assert len(o) == 1 and o[0].dtype == np.int8 and o[0].shape == (1, 12, 12, 16)
        np.testing.assert_array_equal(o[0], in_process(model, s)[0])
    assert not np.array_equal(outs[0][0], outs[1][0])


def test_two_inputs_and_bare_array_sets():
    rng = np.random.default_rng(2)
    model, meta = so.add(rng, shape1=(1, 4, 4, 8), shape2=(8,))
    sets = [so.random_inputs(meta, rng) for _ in range(3)]
    outs = run_tflm(model, sets)
    for s, o in zip(sets, outs):
        np.testing.assert_array_equal(o[0], in_process(model, s)[0])
    m1, meta1 = so.relu(rng, shape=(3, 5))
    x = so.random_inputs(meta1, rng)[0]
    ((o,),) = run_tflm(m1, [x])  # a bare array per set is accepted
    np.testing.assert_array_equal(o, in_process(m1, [x])[0])


def test_softmax_abort_becomes_oracle_error():
    # beta * input_scale < 2**-26 trips TFLITE_CHECK in QuantizeMultiplierGreaterThanOne
    # during SOFTMAX Prepare: TFLM calls abort().
    rng = np.random.default_rng(3)
    model, meta = so.softmax(rng, shape=(1, 10), in_scale=1e-9)
    with pytest.raises(OracleError, match=r"aborted \(SIGABRT\)") as info:
        run_tflm(model, [so.random_inputs(meta, rng)])
    assert isinstance(info.value, RuntimeError)
    assert "tflite-micro interpreter" in str(info.value)
    # the parent is alive and the oracle still works
    ok, meta_ok = so.softmax(rng, shape=(1, 10), in_scale=0.1)
    ((o,),) = run_tflm(ok, [so.random_inputs(meta_ok, rng)])
    assert o.shape == (1, 10)


def test_prepare_failure_reports_tflm_messages():
    # CONCATENATION with mismatched input/output scales fails Prepare (no abort).
    t = [
        so.TensorSpec("a", (1, 4), np.int8, 0.1, 0),
        so.TensorSpec("b", (1, 4), np.int8, 0.2, 0),
        so.TensorSpec("y", (1, 8), np.int8, 0.1, 0),
    ]
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    opt = schema.ConcatenationOptionsT()
    opt.axis = 1
    model = so.build_model(t, [("CONCATENATION", opt, [0, 1], [2])], [0, 1], [2])
    with pytest.raises(OracleError, match="failed") as info:
        run_tflm(model, [[np.zeros((1, 4), np.int8), np.zeros((1, 4), np.int8)]])
    assert "CONCATENATION" in str(info.value)


def test_arena_grows_and_explicit_arena_is_respected():
    rng = np.random.default_rng(4)
    # 2 MiB input + 4 MiB output: more than the 4 MiB starting arena
    model, meta = so.conv2d(
        rng, input_shape=(1, 256, 256, 32), out_channels=64, kernel=1, stride=1, per_channel=True, bias=True
    )
    x = so.random_inputs(meta, rng)
    ((o,),) = run_tflm(model, [x])
    assert o.shape == (1, 256, 256, 64)
    with pytest.raises(OracleError, match="allocate"):
        run_tflm(model, [x], arena_size=64 << 10)


def test_bad_inputs_raise_value_error():
    rng = np.random.default_rng(5)
    model, meta = so.relu(rng, shape=(2, 3))
    with pytest.raises(ValueError, match="Dimension mismatch|dimension"):
        run_tflm(model, [[np.zeros((2, 4), np.int8)]])
    with pytest.raises(ValueError, match="type"):
        run_tflm(model, [[np.zeros((2, 3), np.float32)]])
    with pytest.raises(ValueError, match="has 2 arrays but the model has 1 inputs"):
        run_tflm(model, [[np.zeros((2, 3), np.int8)] * 2])
    assert run_tflm(model, []) == []


def test_timeout_is_an_oracle_error():
    rng = np.random.default_rng(6)
    model, meta = so.conv2d(rng, input_shape=(1, 64, 64, 64), out_channels=64, kernel=5, stride=1)
    with pytest.raises(OracleError, match="timed out"):
        run_tflm(model, [so.random_inputs(meta, rng)] * 20, timeout=0.5)


def test_version_and_light_import():
    assert oracle.oracle_version().startswith(oracle.PINNED_TFLM_VERSION)
    code = (
        "import sys, tinyops_tflm.validation.oracle; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tflite_micro')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_batch_survives_an_abort():
    """run_tflm_batch: an aborting model costs its own case only; the rest match run_tflm."""
    from tinyops_tflm.validation.oracle import run_tflm_batch

    rng = np.random.default_rng(5)
    bad, meta_bad = so.softmax(rng, shape=(1, 10), in_scale=1e-9)
    good, meta = so.softmax(rng, shape=(1, 10), in_scale=0.1)
    xs = [so.random_inputs(meta, rng) for _ in range(3)]
    results = run_tflm_batch([good, bad, good, good], [xs[0], so.random_inputs(meta_bad, rng), xs[1], xs[2]])
    assert isinstance(results[1], OracleError) and "SIGABRT" in str(results[1])
    single = run_tflm(good, [xs[0], xs[1], xs[2]])
    for got, want in zip([results[0], results[2], results[3]], single):
        np.testing.assert_array_equal(got[0], want[0])
