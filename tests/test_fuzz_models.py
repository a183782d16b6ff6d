"""Corrupted models and plans through the whole engine: every outcome is a
clean TinyOpsError naming its field or a successful run, never a crash or a
hang. Fuzz loops run in child processes so that a crash is reported as a
failure with its seed or input.

Three layers: random byte writes into the demo model (below); a bounded
coverage-guided run of the atheris target over the seed corpus
(tools/fuzz_target.py, tests/fuzz_corpus/); a short run of the field-targeted
mutators of benchmarks/fuzz_long.py (whose long run is the >= 10,000-case
benchmark), with a planted crash and hang showing its workers catch both."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinyops_tflm.cli.app import demo_model_path
from tinyops_tflm.errors import ModelError, TinyOpsError
from tinyops_tflm.testing import fuzz

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fuzz_corpus"

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
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, demo_model_path(), str(seed), str(count), board],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    last = proc.stdout.strip().splitlines()[-3:] if proc.stdout.strip() else []
    assert proc.returncode == 0, (
        f"engine crashed (exit {proc.returncode}) on seed {seed}, after: {last}\n{proc.stderr[-2000:]}"
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("outcomes")
    assert "ModelError" in summary  # the corruption really reached validation


def test_seed_corpus_runs_end_to_end():
    """Every seed is a valid model or plan case that runs (a seed the engine
    rejects would waste the fuzzers' time); the corpus spans several model
    families and both plan kinds. Fuzz runs use plans of the current planner;
    stored plans older than a planner change may be rejected, never crash."""
    seeds = fuzz.load_corpus(CORPUS)
    assert sum(name.startswith("model_") for name, _ in seeds) >= 10
    assert sum(data[:4] == fuzz.PLAN_MAGIC for _, data in seeds) >= 3
    for name, data in seeds:
        assert fuzz.run_input(data) == "ran", name
    for name, data in fuzz.load_corpus(CORPUS, fresh_plans=False):
        if data[:4] == fuzz.PLAN_MAGIC:
            try:
                fuzz.run_input(data)
            except TinyOpsError:
                pass  # stale: python tools/make_fuzz_corpus.py refreshes the stored plans


def test_target_flags_what_is_not_a_named_tinyops_error(monkeypatch):
    """The target's verdicts: a named rejection passes through, a foreign
    exception or a message naming nothing is a finding."""
    with pytest.raises(ModelError, match="root table offset"):
        fuzz.run_input(b"\xff\xff\x00\x00TFL3" + bytes(16))
    monkeypatch.setattr(fuzz, "run_model", lambda data, board=None: [][0])
    with pytest.raises(fuzz.FuzzFinding, match="IndexError"):
        fuzz.run_input(b"anything")
    monkeypatch.setattr(fuzz, "run_model", lambda data, board=None: (_ for _ in ()).throw(TinyOpsError("failed")))
    with pytest.raises(fuzz.FuzzFinding, match="names no field"):
        fuzz.run_input(b"anything")


def test_field_mutators_locate_fields():
    seeds = dict(fuzz.load_corpus(CORPUS))
    labels = {f.label for f in fuzz.model_fields(seeds["model_demo_tiny.tflite"])}
    for want in (
        "tensor.shape[]",
        "tensor.buffer",
        "operator.opcode_index",
        "operator.inputs[]",
        "opcode.builtin_code",
        "vtable.size",
        "model.subgraphs[].offset",
        "quant.zero_point[]",
    ):
        assert want in labels, want
    labels = {f.label for f in fuzz.plan_fields(seeds["plan_demo_stm32f746.plan"])}
    for want in (
        "plan.header.num_tensors",
        "plan.region.bytes",
        "plan.tensor.dims",
        "plan.op.opcode",
        "plan.op.schedule_offset",
        "plan.pool",
    ):
        assert want in labels, want


def test_atheris_bounded_run(tmp_path):
    """Coverage-guided fuzzing for a bounded time (atheris; a plain mutation
    loop where atheris is not installed): no finding, no crash, no timeout."""
    new, seeds = tmp_path / "corpus", tmp_path / "seeds"
    new.mkdir()
    seeds.mkdir()
    for name, data in fuzz.load_corpus(CORPUS):  # with plans of the current planner
        (seeds / name).write_bytes(data)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "fuzz_target.py"),
            "-max_total_time=60",
            "-timeout=30",
            "-rss_limit_mb=4096",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
            str(new),
            str(seeds),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*")), output[-4000:]
    done = [line for line in output.splitlines() if line.startswith(("Done ", "fuzz_target: Done "))]
    assert done and int(done[-1].split("Done ")[1].split()[0]) >= 200, output[-2000:]


def _fuzz_long(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz_long.py"), "--save", str(tmp_path / "saved"), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env=env,
    )


def test_field_targeted_mutations_short_run(tmp_path):
    proc = _fuzz_long(tmp_path, "--cases", "1500", "--seed", "7")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "crashes: 0  hangs: 0  findings (not a TinyOpsError naming its field): 0" in proc.stdout
    assert "field:plan." in proc.stdout and "field:tensor.shape" in proc.stdout


def test_fuzz_long_reports_a_planted_crash_and_hang(tmp_path):
    """The run's workers catch a dying case and an overrunning one: a
    sitecustomize in the workers makes the first worker abort on its 3rd input
    and the second hang on its 3rd."""
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import os, time
        from pathlib import Path
        from tinyops_tflm.testing import fuzz
        _run, _calls, _dir = fuzz.run_input, [0], Path(__file__).parent
        def run_input(data, board=None):
            _calls[0] += 1
            if _calls[0] == 3 and not (_dir / "crashed").exists():
                (_dir / "crashed").touch()
                os.abort()
            if _calls[0] == 3 and not (_dir / "hung").exists():
                (_dir / "hung").touch()
                time.sleep(600)
            return _run(data, board)
        fuzz.run_input = run_input
    """)
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(plant), env.get("PYTHONPATH")) if p)
    proc = _fuzz_long(tmp_path, "--cases", "40", "--workers", "1", "--timeout", "5", env=env)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "crashes: 1  hangs: 1" in proc.stdout, proc.stdout[-3000:]
    assert len(list((tmp_path / "saved").glob("crash-*.bin"))) == 1
    assert len(list((tmp_path / "saved").glob("hang-*.bin"))) == 1


def test_op_macs_counts_unvalidated_graphs():
    """Found while writing the fuzz target: the MAC count (reports, latency
    model, the target's size guard) indexed weight shapes the reader does not
    check; odd ranks and empty weights now count 0."""
    import numpy as np

    from tinyops_tflm.frontend.ir import Graph, Operator, Tensor
    from tinyops_tflm.frontend.metrics import op_macs

    i8 = np.dtype(np.int8)
    tensors = [
        Tensor(0, "x", 9, i8, (1, 4), None),
        Tensor(1, "w", 9, i8, (0, 4), None, b""),
        Tensor(2, "y", 9, i8, (1, 0), None),
        Tensor(3, "w2", 9, i8, (3,), None, b"\0\0\0"),
        Tensor(4, "y2", 9, i8, (1, 2, 2, 3), None),
    ]
    fc = Operator(0, 9, "FULLY_CONNECTED", (0, 1), (2,), {})
    conv = Operator(1, 3, "CONV_2D", (4, 3), (4,), {})
    dw = Operator(2, 4, "DEPTHWISE_CONV_2D", (4, 3), (4,), {})
    graph = Graph(tensors, [fc, conv, dw], (0,), (2,))
    assert [op_macs(graph, op) for op in graph.operators] == [0, 0, 0]
