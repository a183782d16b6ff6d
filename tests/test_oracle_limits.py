"""When tflite-micro cannot run a model, validate names the op and why, and
--stop-before validates the graph up to that op's input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyops_tflm.cli.app import main
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.testing import single_op as so
from tinyops_tflm.testing.single_op import OpSpec, TensorSpec, build_model, schema
from tinyops_tflm.validation.compare import make_inputs, validate
from tinyops_tflm.validation.oracle import OracleError, run_tflm
from tinyops_tflm.validation.oracle_limits import cut_before, known_limits, locate_failing_op


def fc_fc_softmax(softmax_in_scale: float) -> bytes:
    """input -> FULLY_CONNECTED -> FULLY_CONNECTED (logits at `softmax_in_scale`) -> SOFTMAX."""
    rng = np.random.default_rng(0)
    t = [
        TensorSpec("input", (1, 16), np.int8, 0.05, 0),
        TensorSpec("w1", (12, 16), np.int8, 0.01, 0, 0, rng.integers(-127, 128, size=(12, 16), dtype=np.int8)),
        TensorSpec("hidden", (1, 12), np.int8, 0.2, 3),
        TensorSpec("w2", (10, 12), np.int8, 0.01, 0, 0, rng.integers(-127, 128, size=(10, 12), dtype=np.int8)),
        TensorSpec("logits", (1, 10), np.int8, softmax_in_scale, 0),
        TensorSpec("probs", (1, 10), np.int8, 1 / 256, -128),
    ]
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    ops = [
        OpSpec("FULLY_CONNECTED", schema.FullyConnectedOptionsT(), [0, 1, -1], [2]),
        OpSpec("FULLY_CONNECTED", schema.FullyConnectedOptionsT(), [2, 3, -1], [4]),
        OpSpec("SOFTMAX", sm, [4], [5]),
    ]
    return build_model(t, ops, [0], [5])


@pytest.mark.parametrize(
    "beta,scale",
    [
        (1.0, 2.0**-26),  # product exactly 2^-26: aborts
        (1.0, float(np.nextafter(np.float32(2.0**-26), np.float32(1)))),  # one ulp above: runs
        (0.5, 2.0**-25),  # beta counts too: aborts
        (1.0, 1e-9),
    ],
)
def test_softmax_limit_predicts_the_abort(beta, scale):
    """The static check agrees with what the pinned TFLM actually does at the boundary."""
    rng = np.random.default_rng(5)
    model, meta = so.softmax(rng, shape=(1, 10), beta=beta, in_scale=scale)
    predicted = [lim for lim in known_limits(read_model(model)) if lim.aborts]
    try:
        run_tflm(model, [so.random_inputs(meta, rng)])
        aborted = False
    except OracleError as err:
        aborted = "aborted" in str(err)
    assert aborted == bool(predicted), (beta, scale, predicted)
    if predicted:
        assert predicted[0].op == 0 and "2^-26" in predicted[0].reason


def test_validate_names_the_op_and_stop_before_validates_the_rest(tmp_path, capsys):
    path = tmp_path / "classifier.tflite"
    path.write_bytes(fc_fc_softmax(1e-9))
    report = validate(path, num_inputs=2)
    assert not report.ok and report.oracle_error
    assert [(lim.op, lim.name, lim.aborts) for lim in report.oracle_limits] == [(2, "SOFTMAX", True)]
    text = str(report)
    assert "cannot run op 2 (SOFTMAX)" in text and "1e-09" in text and "--stop-before 2" in text

    assert main(["validate", str(path), "--inputs", "2"]) == 1
    assert "cannot run op 2 (SOFTMAX)" in capsys.readouterr().out
    assert main(["validate", str(path), "--inputs", "2", "--stop-before", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["verdict"] == "BIT-EXACT" and out["stop_before"] == 2
    assert [o["name"] for o in out["cases"][0]["outputs"]] == ["logits"]
    assert main(["validate", str(path), "--stop-before", "7"]) == 2
    assert "between 1 and 2" in capsys.readouterr().err


def test_cut_model_outputs_the_ops_input():
    data = fc_fc_softmax(0.1)
    graph = read_model(data)
    cut = read_model(cut_before(data, graph, 1))
    assert [op.name for op in cut.operators] == ["FULLY_CONNECTED"]
    assert [cut.tensors[t].name for t in cut.outputs] == ["hidden"]


def test_bisection_finds_the_failing_op_without_the_static_check():
    data = fc_fc_softmax(1e-9)
    graph = read_model(data)
    op, _ = locate_failing_op(data, graph, make_inputs(graph, 1, 0)[0])
    assert op == 2
