"""Design-space sweep: families x width x resolution (x depth) x boards x
schedules, each point built, planned and costed, with the Pareto front.

A *candidate* is one model on one board under one schedule:

- ``tinyops``: this engine's partitioned plan (tensors in external memory,
  DMA tiling) at the board's SRAM budget;
- ``internal``: everything in internal SRAM and flash, the way the paper's
  "Internal" models run (TFLM + CMSIS-NN).  It is feasible when the model's
  peak activation memory fits the board's SRAM budget and its weights fit the
  flash budget (:func:`fits_internal`); its latency then comes from the
  estimator's ``internal`` schedule (tinyops_tflm.planning.schedules), or - while that
  schedule's cost data is missing - from the tinyops plan at the board's SRAM
  budget, which the record's ``latency_source`` then says;
- ``original`` (opt-in): the original TinyOps firmware's deployment
  (tinyops_tflm.planning.schedules), feasible when weights and activations fit SDRAM.

All latencies come from one call, :func:`estimate_latency_ms`, so the cost
model can be swapped in one place; each record names its latency source.

Work is grouped per model (one build serves every board and schedule) and runs
in local worker processes or as Ray tasks; every finished candidate is written
to ``<out>/candidates/<key>.json`` so an interrupted sweep resumes, and a
failing candidate is recorded with its error (in the outputs, not the cache:
the next run retries it).

This module runs the sweep; its parts are :mod:`.candidates` (the space),
:mod:`.candidate_cost` (costing one model), :mod:`.sweep_workers` (local
processes, Ray) and :mod:`.sweep_outputs` (Pareto front, JSON/CSV, plot).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# `name as name`: kept importable from here for callers of the one module this
# was (benchmarks/explore_scale.py builds with _build; the CLI reads the defaults).
from ..atomic_file import write_atomically
from .candidate_cost import VALIDATION, estimate_latency_ms, evaluate_model, fits_internal, peak_activation_bytes
from .candidate_cost import _build as _build
from .candidate_cost import weight_bytes as weight_bytes
from .candidates import DEFAULT_BOARDS as DEFAULT_BOARDS
from .candidates import DEFAULT_SCHEDULES as DEFAULT_SCHEDULES
from .candidates import PRESETS, SCHEDULES, Candidate, ModelSpec, candidates_for, grid, preset_candidates
from .sweep_outputs import CSV_FIELDS as CSV_FIELDS
from .sweep_outputs import _mark_pareto, pareto_front, plot_pareto, write_outputs
from .sweep_outputs import read_accuracy_csv as read_accuracy_csv
from .sweep_workers import _run_local, _run_ray

__all__ = [
    "ModelSpec",
    "Candidate",
    "PRESETS",
    "SCHEDULES",
    "grid",
    "preset_candidates",
    "candidates_for",
    "evaluate_model",
    "estimate_latency_ms",
    "fits_internal",
    "peak_activation_bytes",
    "pareto_front",
    "run_sweep",
    "SweepResult",
    "write_outputs",
    "plot_pareto",
    "VALIDATION",
]


#: Bumped when a record's meaning changes, so cached candidates are recomputed.
EXPLORE_VERSION = 2


def fingerprint() -> str:
    """Digest of what a cached candidate depends on: this module's record
    version, the model recipe, the sources of the cost models, the boards,
    the planner front end and the design space, and the cost-table data."""
    from ..validation import zoo

    h = hashlib.sha256(f"{EXPLORE_VERSION}/{zoo.RECIPE_VERSION}".encode())
    package = Path(__file__).resolve().parents[1]
    for name in (
        "planning/latency.py",
        "planning/schedules.py",
        "planning/board_timing.py",
        "planning/timing_model.py",
        "planning/dma_rates.py",
        "planning/boards.py",
        "planning/partition.py",
        "workflow/design_space.py",
        "validation/zoo.py",
    ):
        p = package / name
        if p.is_file():
            h.update(p.read_bytes())
    for p in sorted((package / "data").glob("*cost*.json")):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class SweepResult:
    records: list[dict]
    computed: int  # candidates evaluated in this run (the rest came from the cache)
    cached: int
    out_dir: Path

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r.get("error")]


class _Progress:
    """done/total with rate and ETA, by the house rules (tinyops_tflm.cli.progress:
    tqdm on a terminal; silent in pipes, on CI and under --json;
    TINYOPS_PROGRESS overrides); ``enabled`` forces it on or off."""

    def __init__(self, total: int, initial: int, enabled: bool | None):
        from ..cli import progress

        self.bar = None
        if enabled is None:
            enabled = progress.enabled()
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(
                total=total, initial=initial, unit="cand", desc="explore", file=sys.stderr, dynamic_ncols=True
            )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sweep(
    candidates: list[Candidate],
    out_dir: str | os.PathLike,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
    accuracy: dict[str, float] | None = None,
    accuracy_source: str = "user CSV",
    cache_dir: str | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Evaluate ``candidates`` (reusing ``<out_dir>/candidates``), attach
    accuracies (the paper's table, overridden by ``accuracy``), mark the Pareto
    front and write ``explore.json`` / ``explore.csv`` into ``out_dir``."""
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r} (local or ray)")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if len(set(candidates)) != len(candidates):
        raise ValueError("duplicate candidates")
    out = Path(out_dir)
    cand_dir = out / "candidates"
    fp = fingerprint()
    keys = {c: c.key(fp) for c in candidates}
    results: dict[Candidate, dict] = {}
    for c in candidates:
        p = cand_dir / f"{keys[c]}.json"
        if p.is_file():
            try:
                results[c] = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                pass  # a torn file from an old crash: recompute
    cached = len(results)
    pending: dict[ModelSpec, list[Candidate]] = {}
    for c in candidates:
        if c not in results:
            pending.setdefault(c.model, []).append(c)
    tasks = [
        {
            "model": m.to_dict(),
            "jobs": [(c.board, c.schedule, c.weights_in) for c in cs],
            "cache_dir": cache_dir,
            "quiet": True,
        }
        for m, cs in pending.items()
    ]

    bar = _Progress(len(candidates), cached, progress)

    def on_result(task: dict, records: list[dict]) -> None:
        # A task's records come back in the order of its jobs.
        for c, rec in zip(pending[ModelSpec(**task["model"])], records, strict=True):
            results[c] = rec
            if not rec.get("error"):  # failures are retried by the next run
                write_atomically(cand_dir / f"{keys[c]}.json", json.dumps(rec, sort_keys=True))
        bar.update(len(records))

    try:
        if tasks:
            if backend == "ray":
                _run_ray(tasks, workers, address, on_result)
            else:
                _run_local(tasks, workers, on_result)
    finally:
        bar.close()
    records = [dict(results[c]) for c in candidates]
    _attach_accuracy(records, accuracy, accuracy_source)
    _mark_pareto(records)
    records.sort(key=lambda r: (r["board"], r["model"], r["schedule"]))
    write_outputs(records, out)
    return SweepResult(records, len(candidates) - cached, cached, out)


def _attach_accuracy(records: list[dict], accuracy: dict[str, float] | None, source: str) -> None:
    from ..validation.zoo_table import accuracy_by_model

    table = accuracy_by_model()
    for r in records:
        r["top1_pct"], r["accuracy_source"] = None, None
        if accuracy and r["model"] in accuracy:
            r["top1_pct"], r["accuracy_source"] = float(accuracy[r["model"]]), source
        elif r["model"] in table:
            r["top1_pct"], r["accuracy_source"] = table[r["model"]], "paper model-zoo table"
