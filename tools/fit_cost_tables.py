"""Regenerate the estimator's cost tables from the cycle model.

    python tools/fit_cost_tables.py measure [--boards ...] [--models ...] [--budgets ...]
    python tools/fit_cost_tables.py fit

`measure` runs every (model, board, SRAM budget) of the corpus through the
cycle-approximate emulation (`tinyops_tflm.firmware.emulate(..., cycles=True)`: the
port's QEMU variant under the QEMU cycle model) and records, per op, the
measured cycles, memory wait states and DMA stalls beside the op's features
from a traced host run of the same plan (tinyops_tflm.planning.latency.op_features).
Rows go to tools/data/cycle_measurements.csv (committed, so `fit` needs no
QEMU).

Plans depend on the tables (the planner prices tilings with them), so a
refit changes some tilings; `measure` keeps rows per round (the hash of the
tables it ran with) and `fit` uses every round: run measure + fit two or
three times after a kernel change.

`fit` fits, per board and op cost class, non-negative coefficients for the
features (core cycles and memory wait-state cycles separately, rows weighted
by 1/sqrt(cycles) so small ops count) and writes
tinyops_tflm/data/cost_tables.json. Classes with too few measured ops fall
back to the board's 'default' class (fitted on all ops).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MEASUREMENTS = ROOT / "tools" / "data" / "cycle_measurements.csv"
TABLES = ROOT / "tinyops_tflm" / "data" / "cost_tables.json"


def _zoo() -> list[str]:
    """Every zoo model: the general ones and the paper's rows."""
    from tinyops_tflm.validation import zoo

    return [*zoo.list_models(), *zoo.paper_models()]


BOARDS = ["stm32f746", "stm32f469"]
BUDGETS = ["default", "96K"]
MIN_CLASS_ROWS = 6


def _git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure_one(model: str, board: str, budget: str | None) -> list[dict]:
    """Per-op rows of one emulated run and its traced host plan."""
    from tinyops_tflm.firmware.cycle_check import compare
    from tinyops_tflm.validation import zoo

    cmp = compare(model, zoo.cached(model), board, budget)
    return [
        {
            "model": model,
            "board": board,
            "budget": budget or "default",
            "op": o.op,
            "name": o.name,
            "class": o.cls,
            "cycles": o.emulated,
            "instructions": o.instructions,
            "stall_dma": o.stall_dma,
            "stall_mem": o.stall_mem,
            **{f"f_{k}": v for k, v in o.features.items()},
        }
        for o in cmp.ops
    ]


def cmd_measure(args) -> int:
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    if MEASUREMENTS.is_file() and not args.fresh:
        with open(MEASUREMENTS) as f:
            rows = list(csv.DictReader(f))
    # Plans depend on the tables (the planner's tiling cost), so each round of
    # measure + fit sees other tilings: rows are kept per round (the tables'
    # hash) and `fit` uses them all.
    import hashlib

    rnd = hashlib.sha256(TABLES.read_bytes()).hexdigest()[:10] if TABLES.is_file() else "none"
    done = {(r["model"], r["board"], r["budget"], r.get("round", "")) for r in rows}
    todo = [
        (model, board, budget)
        for board in args.boards
        for model in args.models or _zoo()
        for budget in args.budgets
        if (model, board, budget, rnd) not in done
    ]

    def record(job, new) -> None:
        model, board, budget = job
        rows.extend({"round": rnd, **{k: str(v) for k, v in r.items()}} for r in new)
        total = sum(int(r["cycles"]) for r in new)
        print(f"  {model} on {board}, SRAM budget {budget}: {len(new)} ops, {total:,} cycles", flush=True)
        _write_rows(rows)

    print(f"measuring {len(todo)} model/board/budget runs, {args.jobs} at a time", flush=True)
    # Each run is one QEMU process and a firmware build: independent, so they
    # go in parallel on separate cores; the rows are written by this process.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            pool.submit(measure_one, model, board, None if budget == "default" else budget): (model, board, budget)
            for model, board, budget in todo
        }
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                record(job, fut.result())
            except Exception as err:  # noqa: BLE001 - recorded, the corpus goes on
                print(f"  {job[0]} on {job[1]}, budget {job[2]} failed: {err}", file=sys.stderr)
    return 0


def _write_rows(rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    tmp = MEASUREMENTS.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(MEASUREMENTS)


def fit_rows(rows: list[dict], features: tuple[str, ...]) -> dict:
    x = np.array([[float(r.get(f"f_{k}") or 0.0) for k in features] for r in rows])
    cycles = np.array([float(r["cycles"]) for r in rows])
    stall_dma = np.array([float(r["stall_dma"]) for r in rows])
    stall_mem = np.array([float(r["stall_mem"]) for r in rows])
    compute = cycles - stall_dma
    weight = 1.0 / np.sqrt(np.maximum(compute, 1.0))
    scale = np.maximum(np.abs(x).max(axis=0), 1e-9)
    out = {}
    from tinyops_tflm.planning.fitting import nnls

    for part, y in (("core", compute - stall_mem), ("stall", stall_mem)):
        coef = nnls(x / scale * weight[:, None], y * weight) / scale
        out[part] = {k: float(c) for k, c in zip(features, coef) if c > 0}
    return out


def _reclassify(rows: list[dict]) -> None:
    """Cost classes and the graph-only features from the models themselves
    (they may have been refined since the rows were measured)."""
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.planning.latency import cost_class, edge_out_elems, strided_macs
    from tinyops_tflm.validation import zoo

    graphs: dict[str, object] = {}
    for r in rows:
        g = graphs.get(r["model"])
        if g is None:
            g = graphs[r["model"]] = read_model(zoo.cached(r["model"]))
        op = g.operators[int(r["op"])]
        r["class"] = cost_class(g, op)
        r["f_edge_out_elems"] = str(edge_out_elems(g, op))
        r["f_strided_macs"] = str(strided_macs(g, op))


def cmd_fit(args) -> int:
    from tinyops_tflm.planning.latency import FEATURES

    with open(MEASUREMENTS) as f:
        rows = list(csv.DictReader(f))
    _reclassify(rows)
    from tinyops_tflm.planning.latency import FEATURES as _F

    # Rows measured before a plan-dependent feature existed cannot be used.
    rows = [r for r in rows if all(r.get(f"f_{k}", "") != "" for k in _F)]
    if not rows:
        print(f"no measurements in {MEASUREMENTS}; run `measure` first", file=sys.stderr)
        return 2
    from tinyops_tflm.planning.boards import get_board

    tables = {
        "version": 1,
        "generated_by": "tools/fit_cost_tables.py",
        "generated": datetime.date.today().isoformat(),
        "source_commit": _git_rev(),
        "measurements": str(MEASUREMENTS.relative_to(ROOT)),
        "features": list(FEATURES),
        "boards": {},
    }
    for board in sorted({r["board"] for r in rows}):
        brows = [r for r in rows if r["board"] == board]
        classes = {"default": fit_rows(brows, FEATURES)}
        for cls in sorted({r["class"] for r in brows}):
            crows = [r for r in brows if r["class"] == cls]
            if len(crows) >= MIN_CLASS_ROWS:
                classes[cls] = fit_rows(crows, FEATURES)
        tables["boards"][board] = {"core": get_board(board).core, "classes": classes, "ops_measured": len(brows)}
        print(f"{board}: {len(brows)} ops, classes {', '.join(classes)}")
    TABLES.write_text(json.dumps(tables, indent=1) + "\n")
    print(f"wrote {TABLES}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--boards", nargs="+", default=BOARDS)
    m.add_argument("--models", nargs="+", default=None)
    m.add_argument("--budgets", nargs="+", default=BUDGETS)
    m.add_argument("--fresh", action="store_true", help="discard earlier measurements")
    m.add_argument("--jobs", type=int, default=1, help="emulations run in parallel (one core each)")
    m.set_defaults(func=cmd_measure)
    f = sub.add_parser("fit")
    f.set_defaults(func=cmd_fit)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
