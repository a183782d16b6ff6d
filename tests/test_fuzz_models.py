"""Corrupted models through the whole engine: every outcome is a clean
Python exception or a successful run, never a crash. The fuzz loop runs in a
child process so that a crash is reported as a failure with its seed."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tinyops_tflm.cli.app import demo_model_path

CHILD = textwrap.dedent(r"""
    import sys, numpy as np
    import tinyops_tflm as to
    from tinyops_tflm.validation.compare import make_inputs
    data = open(sys.argv[1], "rb").read()
    seed, count, board = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(seed)
    outcomes = {}
    for case in range(count):
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
        print(f"case {case}", flush=True)
        try:
            kwargs = {} if board == "none" else {"board": board, "sram_budget": "24K"}
            interp = to.Interpreter.from_bytes(bytes(buf), **kwargs)
            x = make_inputs(interp.graph, 1, seed=case)[0]
            interp.run(*x)
            kind = "ran"
        except (to.TinyOpsError, ValueError, NotImplementedError) as err:
            kind = type(err).__name__
        outcomes[kind] = outcomes.get(kind, 0) + 1
    print("outcomes", outcomes, flush=True)
""")


@pytest.mark.parametrize("board,seed", [("none", 1), ("none", 2), ("stm32f746", 3)])
def test_corrupted_models_never_crash(board, seed, tmp_path):
    count = 150
    # cwd elsewhere: `python -c` puts the cwd first on sys.path, and the
    # package must come from where the test session imported it.
    proc = subprocess.run([sys.executable, "-c", CHILD, demo_model_path(), str(seed), str(count), board],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    last = proc.stdout.strip().splitlines()[-3:] if proc.stdout.strip() else []
    assert proc.returncode == 0, (
        f"engine crashed (exit {proc.returncode}) on seed {seed}, after: {last}\n{proc.stderr[-2000:]}")
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("outcomes")
    assert "ModelError" in summary  # the corruption really reached validation
