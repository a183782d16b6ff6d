"""`tinyops explore`: the smoke sweep with local worker processes and on a
real local Ray cluster gives the same candidates and Pareto front; results
are cached per candidate (resume), a failing candidate is recorded without
stopping the sweep, and the Pareto logic is checked on hand-made points.

The smoke sweep's three models are rows of the paper's table (built and
cached by test_zoo_rows; about 45 s of TensorFlow if this file runs alone).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyops_tflm.planning.boards import get_board
from tinyops_tflm.workflow import explore as ex

REQUIRED = {"model", "board", "schedule", "macs", "params", "fits_internal", "latency_ms", "pareto"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    repo = str(Path(ex.__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-P", "-m", "tinyops_tflm.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The smoke sweep on 2 local worker processes, through the CLI, piped."""
    pytest.importorskip("tensorflow")
    d = tmp_path_factory.mktemp("explore_local")
    p = _cli("explore", "--preset", "smoke", "--workers", "2", "--out", str(d / "out"), "--json", cwd=d)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout), d / "out", p.stderr


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster of 2 CPUs started here (Ray maps 127.0.0.1 to this
    host's address), shut down after the module."""
    import ray

    ctx = ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=100 * 2**20,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    try:
        yield ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()


def _front(records):
    return sorted((r["board"], r["model"], r["schedule"]) for r in records if r["pareto"])


def test_smoke_sweep_local_workers(local_run):
    records, out, stderr = local_run
    assert len(records) >= 6 and len(records) == len(ex.preset_candidates("smoke"))
    for r in records:
        assert REQUIRED <= set(r), REQUIRED - set(r)
        assert r["error"] is None, r
        assert r["top1_pct"] is not None and r["accuracy_source"] == "paper model-zoo table"
        if r["latency_ms"] is not None:
            assert "modelled" in r["latency_source"]
        if r["schedule"] == "internal" and r["latency_ms"] is not None:
            # the estimator's internal schedule, or the tinyops plan standing in for it
            assert "internal schedule" in r["latency_source"]
    assert {r["pareto_metric"] for r in records} == {"top1_pct"}
    by = {(r["model"], r["board"], r["schedule"]): r for r in records}
    for model in {r["model"] for r in records}:
        # the M7 at 216 MHz is faster than the M4 at 180 MHz on the same plan kind
        assert (
            by[(model, "stm32f746", "tinyops")]["latency_ms"] < by[(model, "stm32f469-paper", "tinyops")]["latency_ms"]
        )
        assert by[(model, "stm32f746", "tinyops")]["feasible"]
    # weights of 0.75 MB fit 1 MB of flash; MbV3 w0.50 (1.3 M int8 weights) and
    # MNASNet (4.4 M) do not
    assert by[("proxyless-w0.30-r144", "stm32f469-paper", "internal")]["fits_internal"]
    assert by[("proxyless-w0.30-r144", "stm32f469-paper", "internal")]["latency_ms"] > 0
    for m in ("mbv3-w0.50-r112", "mnasnet-w1.00-r80"):
        r = by[(m, "stm32f746", "internal")]
        assert not r["fits_internal"] and not r["feasible"] and r["latency_ms"] is None
        assert r["weight_bytes"] > get_board("stm32f746").flash_budget
    # every board has a front, and a front point is never dominated
    for board in ("stm32f469-paper", "stm32f746"):
        pts = [r for r in records if r["board"] == board and r["latency_ms"] is not None]
        front = [r for r in pts if r["pareto"]]
        assert front
        for f in front:
            assert not any(p["latency_ms"] < f["latency_ms"] and p["top1_pct"] > f["top1_pct"] for p in pts)
    # files: the JSON is the printed list, the CSV one row per candidate, a PNG
    assert json.loads((out / "explore.json").read_text()) == records
    csv_lines = (out / "explore.csv").read_text().strip().splitlines()
    assert len(csv_lines) == len(records) + 1 and csv_lines[0].startswith("board,model,schedule")
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "candidates").glob("*.json"))) == len(records)
    # piped: no progress bar
    assert "cand/s" not in stderr and "s/cand" not in stderr and "\r" not in stderr


def test_smoke_sweep_on_a_local_ray_cluster_matches_local(local_run, ray_address, tmp_path):
    records, _, _ = local_run
    p = _cli(
        "explore",
        "--preset",
        "smoke",
        "--backend",
        "ray",
        "--address",
        ray_address,
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--no-plot",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    ray_records = json.loads(p.stdout)
    assert [(r["model"], r["board"], r["schedule"]) for r in ray_records] == [
        (r["model"], r["board"], r["schedule"]) for r in records
    ]
    assert _front(ray_records) == _front(records)
    assert ray_records == records  # every number, not just the front


def test_resume_and_a_failing_candidate(local_run, tmp_path):
    records, out, _ = local_run
    work = tmp_path / "out"
    shutil.copytree(out / "candidates", work / "candidates")
    cached = sorted((work / "candidates").glob("*.json"))
    for f in cached[:2]:  # as if the sweep had been interrupted before these
        f.unlink()
    bad = ex.Candidate(ex.ModelSpec("nosuch", 1.0, 96), "stm32f746", "tinyops")
    res = ex.run_sweep(ex.preset_candidates("smoke") + [bad], work, workers=1)
    assert res.cached == len(records) - 2 and res.computed == 3
    failed = res.failed
    assert len(failed) == 1 and "unknown model family 'nosuch'" in failed[0]["error"]
    good = [r for r in res.records if not r["error"]]
    assert sorted(good, key=lambda r: (r["board"], r["model"], r["schedule"])) == records
    assert set(failed[0]) >= REQUIRED  # the same fields as any record
    # run again: everything from the cache except the failure, which is retried
    again = ex.run_sweep(ex.preset_candidates("smoke") + [bad], work, workers=1)
    assert again.computed == 1 and again.records == res.records


def test_original_schedule_is_costed_or_says_what_is_missing(local_run, tmp_path):
    cands = [ex.Candidate(ex.ModelSpec("proxyless", 0.3, 144), b, "original") for b in ex.DEFAULT_BOARDS]
    res = ex.run_sweep(cands, tmp_path, workers=1)
    for r in res.records:
        if r["error"] is None:
            assert r["feasible"] and r["latency_ms"] > 0 and "original" in r["latency_source"]
            assert r["external_bytes"] == r["weight_bytes"] + r["activation_bytes"]
        else:  # the schedule's cost data not in this checkout
            assert "cost table" in r["error"] or "board_timing" in r["error"], r["error"]


def test_user_accuracy_overrides_the_table(local_run, tmp_path):
    records, out, _ = local_run
    shutil.copytree(out / "candidates", tmp_path / "candidates")
    csv_path = tmp_path / "acc.csv"
    csv_path.write_text("model,top1\nproxyless-w0.30-r144,99.5\n")
    res = ex.run_sweep(
        ex.preset_candidates("smoke"), tmp_path, accuracy=ex.read_accuracy_csv(csv_path), accuracy_source="user CSV"
    )
    assert res.computed == 0
    prox = [r for r in res.records if r["model"] == "proxyless-w0.30-r144"]
    assert all(r["top1_pct"] == 99.5 and r["accuracy_source"] == "user CSV" for r in prox)
    # now the most accurate: on the front of every board where it is feasible,
    # in its fastest schedule (a slower schedule of the same model, e.g. the
    # internal one costed from CMSIS-NN tables, is dominated by it)
    for board in {r["board"] for r in prox if r["feasible"]}:
        feasible = [r for r in prox if r["board"] == board and r["feasible"]]
        assert min(feasible, key=lambda r: r["latency_ms"])["pareto"], board
    bad = tmp_path / "bad.csv"
    bad.write_text("name,acc\nx,1\n")
    with pytest.raises(ValueError, match="columns 'model' and 'top1'"):
        ex.read_accuracy_csv(bad)
    bad.write_text("model,top1\nx,high\n")
    with pytest.raises(ValueError, match="not a number"):
        ex.read_accuracy_csv(bad)


# ---------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------


def test_pareto_front_on_hand_made_points():
    # (latency, score): B dominates A; C is slower but better; D ties C; E is dominated by C
    pts = [(10, 50), (8, 55), (20, 60), (20, 60), (25, 59)]
    assert ex.pareto_front(pts) == [False, True, True, True, False]
    assert ex.pareto_front([]) == []
    assert ex.pareto_front([(1, 1)]) == [True]


def _rec(board, model, lat, top1, macs, feasible=True):
    return {
        "board": board,
        "model": model,
        "schedule": "tinyops",
        "latency_ms": lat,
        "top1_pct": top1,
        "macs": macs,
        "feasible": feasible,
        "error": None,
    }


def test_pareto_uses_macs_as_proxy_when_an_accuracy_is_unknown():
    recs = [
        _rec("b1", "a", 10, 50.0, 10),
        _rec("b1", "b", 20, 60.0, 5),
        _rec("b2", "a", 10, 50.0, 10),
        _rec("b2", "c", 20, None, 30),
        _rec("b2", "d", 5, None, 1, feasible=False),
    ]
    ex._mark_pareto(recs)
    assert recs[0]["pareto_metric"] == "top1_pct" and recs[0]["pareto"] and recs[1]["pareto"]
    assert recs[2]["pareto_metric"].startswith("macs (accuracy proxy")
    assert recs[2]["pareto"] and recs[3]["pareto"]  # faster vs more MACs
    assert not recs[4]["pareto"]  # infeasible points are never on the front


def test_peak_activation_bytes_by_hand():
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.validation import zoo

    graph = read_model(zoo.cached("proxyless-w0.30-r144"))
    # the first depthwise: its 72x72x16 input and output (the 144x144x3 image is
    # dead after the first conv); nothing later is larger
    assert ex.peak_activation_bytes(graph) == 2 * 72 * 72 * 16


def test_fits_internal_uses_the_board_budgets():
    b = get_board("stm32f469-paper")
    assert b.default_sram_budget == 256 * 1024 and b.flash_budget == 1024 * 1024
    assert ex.fits_internal(256 * 1024, 1024 * 1024, b)
    assert not ex.fits_internal(256 * 1024 + 1, 1000, b)
    assert not ex.fits_internal(1000, 1024 * 1024 + 1, b)


def test_grids_presets_and_bad_input():
    specs = ex.grid(["mbv3", "mnasnet"], [0.5, 1.0], [96], [None, 2])
    names = [s.name for s in specs]
    assert "mbv3-w0.50-r96-d2" in names and "mnasnet-w1.00-r96" in names
    assert not any(n.startswith("mnasnet") and n.endswith("-d2") for n in names)  # fixed depth
    assert len(specs) == 6
    assert len(ex.preset_candidates("smoke")) >= 6
    assert len(ex.preset_candidates("paper")) == 40
    with pytest.raises(ValueError, match="unknown preset"):
        ex.preset_candidates("huge")
    with pytest.raises(ValueError, match="unknown model family"):
        ex.grid(["resnet"], [1.0], [96])
    with pytest.raises(ValueError, match="width multiplier"):
        ex.grid(["mbv3"], [0.0], [96])
    with pytest.raises(ValueError, match="resolution"):
        ex.grid(["mbv3"], [1.0], [4])
    with pytest.raises(ValueError, match="unknown board"):
        ex.candidates_for(specs, boards=["stm32h7"])
    with pytest.raises(ValueError, match="unknown schedule"):
        ex.candidates_for(specs, schedules=["fastest"])
    with pytest.raises(ValueError, match="backend"):
        ex.run_sweep([], "unused", backend="mpi")


def test_cli_argument_errors(tmp_path):
    from tinyops_tflm.cli.app import main

    assert main(["explore", "--out", str(tmp_path)]) == 2
    assert main(["explore", "--preset", "smoke", "--families", "mbv3", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse rejects a malformed list
        main(["explore", "--families", "mbv3", "--depths", "x"])
    assert exc.value.code == 2


def test_progress_bar_on_a_terminal_only():
    assert ex._Progress(5, 0, enabled=False).bar is None
    bar = ex._Progress(5, 2, enabled=True)
    assert bar.bar is not None and bar.bar.n == 2 and bar.bar.total == 5
    bar.update(3)
    assert bar.bar.n == 5
    bar.close()
