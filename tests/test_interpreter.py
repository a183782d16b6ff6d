"""Interpreter API: details like tflite-micro's, input checks, validate() and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from tinyops_tflm import Interpreter, validate
from tinyops_tflm.cli.app import demo_model_path, main


@pytest.fixture(scope="module")
def demo_bytes():
    with open(demo_model_path(), "rb") as f:
        return f.read()


def test_details_match_tflite_micro(demo_bytes):
    from tflite_micro import runtime

    ref = runtime.Interpreter.from_bytes(demo_bytes, arena_size=4 << 20)
    ours = Interpreter.from_bytes(demo_bytes)
    for i, d in enumerate(ours.get_input_details()):
        r = ref.get_input_details(i)
        assert d["dtype"] == r["dtype"]
        np.testing.assert_array_equal(d["shape"], r["shape"])
        for key in ("scales", "zero_points"):
            np.testing.assert_array_equal(d["quantization_parameters"][key], r["quantization_parameters"][key])
        assert (
            d["quantization_parameters"]["quantized_dimension"] == r["quantization_parameters"]["quantized_dimension"]
        )
        assert isinstance(d["name"], str) and isinstance(d["index"], int)
    for i, d in enumerate(ours.get_output_details()):
        r = ref.get_output_details(i)
        assert d["dtype"] == r["dtype"]
        np.testing.assert_array_equal(d["shape"], r["shape"])


def test_set_input_rejects_wrong_dtype_and_shape(demo_bytes):
    interp = Interpreter.from_bytes(demo_bytes)
    d = interp.get_input_details()[0]
    good = np.zeros(d["shape"], d["dtype"])
    interp.set_input(good, 0)
    with pytest.raises(ValueError, match="dtype"):
        interp.set_input(good.astype(np.float32), 0)
    with pytest.raises(ValueError, match="shape"):
        interp.set_input(good.reshape(-1), 0)
    with pytest.raises(ValueError, match="shape"):
        interp.set_input(np.zeros([*d["shape"][:-1], d["shape"][-1] + 1], d["dtype"]), 0)
    with pytest.raises(IndexError):
        interp.set_input(good, 5)
    with pytest.raises(IndexError):
        interp.get_output(3)


def test_from_file_matches_from_bytes(demo_bytes):
    a = Interpreter.from_file(demo_model_path())
    b = Interpreter.from_bytes(demo_bytes)
    x = np.random.default_rng(3).integers(-128, 128, a.get_input_details()[0]["shape"], dtype=np.int8)
    np.testing.assert_array_equal(a.run(x)[0], b.run(x)[0])


def test_from_file_of_a_directory_or_a_missing_file_names_the_path(tmp_path, capsys):
    from tinyops_tflm.errors import ModelFileError, ModelFileNotFound, TinyOpsError

    with pytest.raises(ModelFileError, match=f"{tmp_path}.* is a directory") as info:
        Interpreter.from_file(tmp_path)
    assert not isinstance(info.value, FileNotFoundError)
    missing = tmp_path / "missing.tflite"
    with pytest.raises(ModelFileNotFound, match="missing.tflite.* does not exist") as info:
        Interpreter.from_file(str(missing))
    assert isinstance(info.value, (TinyOpsError, FileNotFoundError))  # callers catching either still do
    # The CLI says the same, as a usage error.
    assert main(["plan", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["emulate", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_validate_report(demo_bytes):
    report = validate(demo_bytes, num_inputs=3, seed=5)
    assert report.ok, str(report)
    assert len(report.cases) == 3
    assert "BIT-EXACT" in str(report)


def test_validate_detects_a_wrong_engine(demo_bytes):
    """validate() must be able to fail: an engine that perturbs one byte is caught."""

    class Perturbed(Interpreter):
        def get_output(self, index=0):
            out = super().get_output(index).copy()
            out.reshape(-1)[0] ^= 1
            return out

    report = validate(demo_bytes, num_inputs=2, seed=5, interpreter_factory=Perturbed)
    assert not report.ok
    assert report.cases[0].outputs[0].num_different == 1
    assert "MISMATCH" in str(report)


def test_cli_validate_exit_codes(tmp_path, demo_bytes, capsys):
    path = tmp_path / "m.tflite"
    path.write_bytes(demo_bytes)
    assert main(["validate", str(path), "--inputs", "2"]) == 0
    assert "BIT-EXACT" in capsys.readouterr().out
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(demo_bytes[:100])
    assert main(["validate", str(bad)]) == 2
    assert "error" in capsys.readouterr().err


def test_invoke_repeats_without_set_input(demo_bytes):
    """Graph inputs are never overwritten by the arena planner (unlike TFLM's)."""
    for kwargs in ({}, {"board": "stm32f746", "sram_budget": "16K"}):
        interp = Interpreter.from_bytes(demo_bytes, **kwargs)
        d = interp.get_input_details()[0]
        x = np.random.default_rng(9).integers(-128, 128, d["shape"], dtype=np.int8)
        interp.set_input(x, 0)
        interp.invoke()
        first = interp.get_output(0)
        interp.invoke()
        np.testing.assert_array_equal(first, interp.get_output(0))


def test_budget_needs_board(demo_bytes):
    with pytest.raises(ValueError, match="board"):
        Interpreter.from_bytes(demo_bytes, sram_budget="64K")


def test_cli_demo_and_plan(capsys):
    assert main(["demo", "--inputs", "2"]) == 0
    out = capsys.readouterr().out
    assert "BIT-EXACT" in out and "SRAM high-water" in out and "modelled latency" in out
    import json

    assert main(["plan", demo_model_path(), "--board", "stm32f469", "--sram-budget", "20K", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["board"] == "stm32f469" and plan["sram_peak"] <= 20 * 1024
    assert len(plan["ops"]) == 34 and plan["estimated_ms"] > 0
    assert main(["plan", demo_model_path(), "--sram-budget", "1K"]) == 2
    assert "needs at least" in capsys.readouterr().err
