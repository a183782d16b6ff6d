"""The CLI as a script sees it: --version, --json on every command, exit
codes, errors that say what to do, progress bars only on request/terminals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyops_tflm
from tinyops_tflm.cli.app import demo_model_path, main

DEMO = demo_model_path()


def run_json(capsys, argv: list[str], code: int = 0) -> dict:
    assert main(argv) == code, capsys.readouterr()
    return json.loads(capsys.readouterr().out)  # stdout is one JSON document


def test_version_comes_from_pyproject(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"tinyops-tflm {tinyops_tflm.__version__}"
    pyproject = Path(tinyops_tflm.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():  # a checkout: the one place the version is written
        import re

        assert re.search(rf'(?m)^version = "{re.escape(tinyops_tflm.__version__)}"$', pyproject.read_text())
    else:  # installed: the distribution's metadata
        from importlib.metadata import version

        assert tinyops_tflm.__version__ == version("tinyops-tflm")


def test_json_outputs(tmp_path, capsys):
    v = run_json(capsys, ["validate", DEMO, "--inputs", "2", "--json"])
    assert v["ok"] and v["verdict"] == "BIT-EXACT" and len(v["cases"]) == 2
    p = run_json(capsys, ["plan", DEMO, "--sram-budget", "32K", "--json"])
    assert p["sram_budget"] == 32 * 1024 and len(p["ops"]) == 34
    d = run_json(capsys, ["demo", "--inputs", "1", "--json"])
    assert d["ok"] and d["validation"]["verdict"] == "BIT-EXACT"
    assert d["estimated_latency"]["kind"] == "modelled" and d["estimated_latency"]["model"]
    e = run_json(capsys, ["estimate", DEMO, "--json"])
    assert e["ms"] > 0
    n = run_json(capsys, ["new-project", str(tmp_path / "fw"), "--board", "stm32f469", "--json"])
    assert n["board"] == "stm32f469" and Path(n["project"]).is_absolute()
    x = run_json(capsys, ["export", DEMO, "--project", str(tmp_path / "fw"), "--json"])
    assert x["name"] == "demo_tiny" and x["symbol"] == "demo_tiny_int8_1"
    assert all(Path(f).is_absolute() for f in x["files"])
    # The printed build commands carry absolute paths only.
    for cmd in x["build_commands"]:
        paths = [w for w in cmd.split() if "/" in w]
        assert paths and all(Path(w.split("=", 1)[-1]).is_absolute() for w in paths), cmd
    r = run_json(
        capsys, ["report", DEMO, "--sram-budget", "32K", "--no-validate", "--out", str(tmp_path / "r.html"), "--json"]
    )
    assert r["ok"] and len(r["layers"]) == 34 and r["latency"]["kind"] == "modelled"
    # Errors are JSON too, with the exit code.
    err = run_json(capsys, ["plan", DEMO, "--sram-budget", "1K", "--json"], code=2)
    assert err == {**err, "ok": False, "error_type": "BudgetError", "exit_code": 2}
    assert "--sram-budget" in err["hint"]


def test_budget_error_suggests_sram_budget(capsys):
    assert main(["demo", "--sram-budget", "2K", "--inputs", "1"]) == 2
    err = capsys.readouterr().err
    assert "needs at least" in err and "hint:" in err and "--sram-budget" in err


def test_export_needs_a_destination(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export", DEMO, "--board", "stm32f746", "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "--project DIR" in err and "--out DIR" in err
    assert main(["export", DEMO, "--project", str(tmp_path / "nope")]) == 2
    assert "not a tinyops firmware project" in capsys.readouterr().err
    assert main(["new-project", str(tmp_path / "fw"), "--board", "stm32f746"]) == 0
    assert main(["new-project", str(tmp_path / "fw"), "--board", "stm32f746"]) == 2
    assert "--update" in capsys.readouterr().err
    assert main(["export", DEMO, "--project", str(tmp_path / "fw"), "--board", "stm32f469"]) == 2
    assert "stm32f746 project" in capsys.readouterr().err


def test_float_model_error_says_how_to_convert(tmp_path, capsys):
    from tinyops_tflm.errors import UnsupportedOpError
    from tinyops_tflm.testing.single_op import OpSpec, TensorSpec, build_model, schema

    t = [
        TensorSpec("input", (1, 16), np.float32),
        TensorSpec("w", (4, 16), np.float32, None, None, 0, np.ones((4, 16), np.float32)),
        TensorSpec("out", (1, 4), np.float32),
    ]
    data = build_model(t, [OpSpec("FULLY_CONNECTED", schema.FullyConnectedOptionsT(), [0, 1, -1], [2])], [0], [2])
    with pytest.raises(UnsupportedOpError, match="not quantized to int8") as info:
        tinyops_tflm.read_model(data)
    assert "TFLITE_BUILTINS_INT8" in str(info.value) and "representative_dataset" in str(info.value)
    path = tmp_path / "float.tflite"
    path.write_bytes(data)
    assert main(["validate", str(path)]) == 2
    assert "not quantized" in capsys.readouterr().err


def test_plots_without_matplotlib_name_the_plot_extra(tmp_path, capsys, monkeypatch):
    pyproject = Path(tinyops_tflm.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():  # a checkout: the extra the message names exists and brings matplotlib
        import re

        assert re.search(r'(?m)^plot = \[[^\]]*"matplotlib', pyproject.read_text())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    plot = str(tmp_path / "p.png")
    for argv in (
        ["estimate", DEMO, "--plot", plot],
        ["report", DEMO, "--no-validate", "--out", str(tmp_path / "r.html")],
        ["reproduce-paper", "--plot", plot],
    ):
        assert main(argv) == 3, argv  # a missing dependency, not a usage error
        err = capsys.readouterr().err
        assert "needs matplotlib" in err and "pip install 'tinyops-tflm[plot]'" in err, (argv, err)
    # explore's Pareto plot (explore itself needs TensorFlow to build models).
    from tinyops_tflm.errors import MissingDependencyError
    from tinyops_tflm.workflow.sweep_outputs import plot_pareto

    with pytest.raises(MissingDependencyError, match=r"Pareto plot.*pip install 'tinyops-tflm\[plot\]'"):
        plot_pareto([], plot)
    assert not list(tmp_path.iterdir())


def test_get_output_before_invoke_raises():
    from tinyops_tflm.errors import InvocationError

    interp = tinyops_tflm.Interpreter.from_file(DEMO)
    with pytest.raises(InvocationError, match="before invoke"):
        interp.get_output(0)
    x = np.zeros(interp.get_input_details()[0]["shape"], np.int8)
    interp.set_input(x, 0)
    with pytest.raises(InvocationError, match="before invoke"):
        interp.get_output(0)
    interp.invoke()
    assert interp.get_output(0).shape == (1, 10)


def test_progress_bars_only_when_asked_or_on_a_terminal(tmp_path):
    """Piped (as in CI) the CLI draws nothing on stderr; TINYOPS_PROGRESS=1 forces the
    bars (validation inputs) on."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("TINYOPS_PROGRESS", "CI")}
    cmd = [sys.executable, "-P", "-m", "tinyops_tflm.cli", "validate", DEMO, "--inputs", "3"]
    quiet = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**env, "TINYOPS_PROGRESS": "1"})
    assert loud.returncode == 0 and "engine" in loud.stderr and "input" in loud.stderr
    same = [ln for ln in quiet.stdout.splitlines() if "time" not in ln]  # timings vary
    assert same and same == [ln for ln in loud.stdout.splitlines() if "time" not in ln]


def test_build_progress_follows_ninja_steps(monkeypatch):
    from tinyops_tflm.cli import progress

    seen = []

    class Bar:
        total = None
        n = 0

        def update(self, k=1):
            self.n += k
            seen.append((self.n, self.total))

        def close(self):
            pass

    import contextlib

    @contextlib.contextmanager
    def fake_bar(total, desc, unit="it"):
        yield Bar()

    monkeypatch.setattr(progress, "bar", fake_bar)
    script = "print('[1/3] a'); print('noise'); print('[3/3] c'); raise SystemExit(4)"
    proc = progress.run_streamed([sys.executable, "-c", script], "building")
    assert proc.returncode == 4 and "noise" in proc.stdout
    assert seen == [(1, 3), (3, 3)]
