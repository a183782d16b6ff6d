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
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import MissingDependencyError

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

SCHEDULES = ("internal", "tinyops", "original")
DEFAULT_SCHEDULES = ("internal", "tinyops")
DEFAULT_BOARDS = ("stm32f469-paper", "stm32f746")

#: How the estimates are checked (printed with every latency).
VALIDATION = "modelled, checked against the QEMU cycle model (benchmarks/cycle_model.py), not measured on a board"

#: Bumped when a record's meaning changes, so cached candidates are recomputed.
EXPLORE_VERSION = 2


# ----------------------------------------------------------------------------
# The space
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    family: str
    width: float
    resolution: int
    depth: int | None = None  # None: the family's published depth

    @property
    def name(self) -> str:
        from .design_space import model_name

        return model_name(self.family, self.width, self.resolution, self.depth)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Candidate:
    model: ModelSpec
    board: str
    schedule: str

    def key(self, fingerprint: str) -> str:
        text = json.dumps([self.model.to_dict(), self.board, self.schedule, fingerprint], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def grid(
    families: Iterable[str], widths: Iterable[float], resolutions: Iterable[int], depths: Iterable[int | None] = (None,)
) -> list[ModelSpec]:
    """Every (family, width, resolution, depth); depths other than None only
    for families that allow them."""
    from .design_space import family

    out: list[ModelSpec] = []
    for f in families:
        fam = family(f)
        for w in widths:
            w = float(w)
            if not 0 < w <= 4:
                raise ValueError(f"width multiplier must be in (0, 4], got {w}")
            for r in resolutions:
                r = int(r)
                if not 16 <= r <= 1024:
                    raise ValueError(f"resolution must be in [16, 1024], got {r}")
                for d in depths:
                    if d is not None and not fam.depth:
                        continue
                    if d is not None and (int(d) != d or d < 1):
                        raise ValueError(f"depth must be a positive integer, got {d}")
                    spec = ModelSpec(fam.name, w, r, None if d is None else int(d))
                    if spec not in out:
                        out.append(spec)
    return out


#: Named sweeps.  smoke: three of the paper's rows (accuracy known) on both
#: boards, 12 candidates, a minute or two on 2 cores once the models are
#: cached.  paper: the 10 models of the paper's table.  wide: a grid of every
#: family, 4 widths, 4 resolutions and (OFA families) depth 2 or published.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"models": [ModelSpec("mbv3", 0.5, 112), ModelSpec("proxyless", 0.3, 144), ModelSpec("mnasnet", 1.0, 80)]},
    "paper": {
        "models": [
            ModelSpec("mbv3", 1.0, 160),
            ModelSpec("mbv3", 0.75, 128),
            ModelSpec("mbv3", 0.55, 128),
            ModelSpec("mbv3", 0.5, 112),
            ModelSpec("mcunet-in2", 1.0, 160),
            ModelSpec("mcunet-in3", 1.0, 176),
            ModelSpec("proxyless", 0.3, 144),
            ModelSpec("proxyless", 0.3, 176),
            ModelSpec("mnasnet", 1.0, 80),
            ModelSpec("mnasnet", 1.0, 128),
        ]
    },
    "wide": {
        "grid": dict(
            families=["mbv3", "proxyless", "mcunet-in2", "mcunet-in3", "mnasnet"],
            widths=[0.35, 0.5, 0.75, 1.0],
            resolutions=[96, 128, 160, 176],
            depths=[None, 2],
        )
    },
}


def candidates_for(
    models: Iterable[ModelSpec], boards: Iterable[str] = DEFAULT_BOARDS, schedules: Iterable[str] = DEFAULT_SCHEDULES
) -> list[Candidate]:
    from ..planning.boards import get_board

    boards = [get_board(b).name for b in boards]
    schedules = list(schedules)
    for s in schedules:
        if s not in SCHEDULES:
            raise ValueError(f"unknown schedule {s!r}; known: {', '.join(SCHEDULES)}")
    return [Candidate(m, b, s) for m in models for b in boards for s in schedules]


def preset_candidates(
    name: str, boards: Iterable[str] = DEFAULT_BOARDS, schedules: Iterable[str] = DEFAULT_SCHEDULES
) -> list[Candidate]:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    p = PRESETS[name]
    models = p["models"] if "models" in p else grid(**p["grid"])
    return candidates_for(models, boards, schedules)


# ----------------------------------------------------------------------------
# Costing one model
# ----------------------------------------------------------------------------


def estimate_latency_ms(
    graph, board, schedule: str = "tinyops", sram_budget: int | None = None
) -> tuple[float, Any, str]:
    """The sweep's one latency call: (estimated ms, plan or None, what
    estimated it) of ``graph`` on ``board`` under ``schedule``.  ``tinyops``
    is this engine's plan (returned, for its memory use); the others are the
    estimator's models of the paper's deployments."""
    if schedule == "tinyops":
        from ..runtime.interpreter import Interpreter

        interp = Interpreter(graph, board=board, sram_budget=sram_budget)
        est = interp.estimate_latency()
        return float(est.ms), interp.plan, est.model
    from ..planning.schedules import schedule_cost

    est = schedule_cost(graph, board, schedule, sram_budget).estimate
    return float(est.ms), None, est.model


def peak_activation_bytes(graph) -> int:
    """Peak bytes of activations alive at once when ops run one after the
    other and each tensor lives from its producer (the input: its first
    reader) to its last reader (outputs: to the end) - what a TFLM-style arena
    needs at least (no in-place ops)."""
    n = len(graph.operators)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, op in enumerate(graph.operators):
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not graph.tensors[t].is_constant:
                first.setdefault(t, i)
                last[t] = i
    for t in graph.outputs:
        last[t] = n - 1
    live = [0] * max(n, 1)
    for t, a in first.items():
        for i in range(a, last[t] + 1):
            live[i] += graph.tensors[t].nbytes
    return max(live)


def weight_bytes(graph) -> int:
    return sum(t.nbytes for t in graph.tensors if t.is_constant)


def fits_internal(activations: int, weights: int, board) -> bool:
    """Whether a model runs from internal memory alone: activations within
    the board's SRAM budget, weights within its flash budget."""
    return activations <= board.default_sram_budget and weights <= board.flash_budget


def _build(spec: ModelSpec, cache_dir) -> bytes:
    from ..validation import zoo
    from .design_space import derive_config

    config = derive_config(spec.family, spec.width, spec.depth)  # validates the spec
    if spec.name in zoo.paper_models():  # the published config (same architecture)
        return zoo.cached(spec.name, cache_dir=cache_dir)
    return zoo.cached_from_config(config, spec.resolution, cache_dir=cache_dir, name=spec.name)


def _cost(graph, model: dict, board_name: str, schedule: str) -> dict:
    from ..errors import BudgetError
    from ..planning.boards import FLASH, QSPI, SDRAM, get_board

    board = get_board(board_name)
    rec = dict(
        model,
        board=board.name,
        schedule=schedule,
        feasible=False,
        latency_ms=None,
        latency_source=None,
        peak_sram=None,
        flash_bytes=None,
        external_bytes=None,
        note="",
        error=None,
    )
    acts, weights = model["activation_bytes"], model["weight_bytes"]
    rec["fits_internal"] = fits_internal(acts, weights, board)
    if schedule == "tinyops":
        try:
            ms, plan, how = estimate_latency_ms(graph, board)
        except BudgetError as err:
            rec["note"] = f"no plan: {err}"
            return rec
        used = plan.memory_used
        rec.update(
            feasible=True,
            latency_ms=round(ms, 3),
            peak_sram=int(plan.sram_peak),
            flash_bytes=int(used.get(FLASH, 0)),
            external_bytes=int(used.get(SDRAM, 0) + used.get(QSPI, 0)),
            latency_source=f"tinyops plan at {plan.sram_budget} B SRAM: {how}; {VALIDATION}",
        )
        return rec
    if schedule == "original":
        # the model copied to SDRAM at boot, the whole arena in SDRAM
        rec.update(peak_sram=board.default_sram_budget, flash_bytes=0, external_bytes=weights + acts)
        sdram = board.memory(SDRAM).capacity if board.has(SDRAM) else 0
        if weights + acts > sdram:
            rec["note"] = f"weights + activations ({weights + acts} B) exceed SDRAM ({sdram} B)"
            return rec
        ms, _, how = estimate_latency_ms(graph, board, "original")
        rec.update(feasible=True, latency_ms=round(ms, 3), latency_source=f"{how}; {VALIDATION}")
        return rec
    # internal
    rec.update(peak_sram=acts, flash_bytes=weights, external_bytes=0)
    if not rec["fits_internal"]:
        rec["note"] = (
            f"does not fit internal memory: activations {acts} B (SRAM budget "
            f"{board.default_sram_budget} B), weights {weights} B (flash budget "
            f"{board.flash_budget} B)"
        )
        return rec
    rec["feasible"] = True
    from ..planning.schedules import ScheduleError

    try:
        ms, _, how = estimate_latency_ms(graph, board, "internal")
        rec["latency_source"] = f"{how}; {VALIDATION}"
    except (ScheduleError, ImportError) as err:  # its cost data has not landed
        ms, plan, how = estimate_latency_ms(graph, board)
        rec["latency_source"] = (
            f"tinyops plan at the board's SRAM budget ({plan.sram_budget} B) "
            f"standing in for the internal schedule ({err}): {how}; "
            f"{VALIDATION}"
        )
    rec["latency_ms"] = round(ms, 3)
    return rec


def evaluate_model(model: dict, jobs: list[tuple[str, str]], cache_dir: str | None = None) -> list[dict]:
    """Build one model and cost it for every (board, schedule) in ``jobs``.
    Never raises: a failure becomes the ``error`` of the records it hits."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    spec = ModelSpec(**model)
    base = dict(spec.to_dict(), model=spec.name)
    try:
        from ..frontend.reader import read_model
        from ..validation import zoo

        data = _build(spec, cache_dir)
        graph = read_model(data)
        base.update(
            macs=int(zoo.macs(data)),
            params=int(zoo.params(data)),
            activation_bytes=int(peak_activation_bytes(graph)),
            weight_bytes=int(weight_bytes(graph)),
        )
    except Exception as err:  # noqa: BLE001 - recorded, the sweep goes on
        return [_error_record(base, b, s, err) for b, s in jobs]
    out = []
    for board, schedule in jobs:
        try:
            out.append(_cost(graph, base, board, schedule))
        except Exception as err:  # noqa: BLE001
            out.append(_error_record(base, board, schedule, err))
    return out


def _error_record(base: dict, board: str, schedule: str, err: BaseException) -> dict:
    tb = traceback.extract_tb(err.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    rec = dict(
        base,
        board=board,
        schedule=schedule,
        feasible=False,
        fits_internal=None,
        latency_ms=None,
        latency_source=None,
        peak_sram=None,
        flash_bytes=None,
        external_bytes=None,
        note="",
        error=f"{type(err).__name__}: {err}{where}",
    )
    for k in ("macs", "params", "activation_bytes", "weight_bytes"):
        rec.setdefault(k, None)
    return rec


def _task(payload: dict) -> list[dict]:
    """One unit of work (a model and its pending candidates); module level so
    worker processes and Ray can import it.  TensorFlow's converter writes
    notes straight to the process's stdout/stderr; a worker's are discarded
    (failures come back as records)."""
    import contextlib

    quiet = _silenced_fds() if payload.get("quiet") else contextlib.nullcontext()
    with quiet:
        return evaluate_model(payload["model"], [tuple(j) for j in payload["jobs"]], payload.get("cache_dir"))


class _silenced_fds:
    """File descriptors 1 and 2 sent to /dev/null, restored on exit."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        return False


# ----------------------------------------------------------------------------
# Pareto front
# ----------------------------------------------------------------------------


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For (latency, score) points: True where no other point is at least as
    fast and at least as good, and strictly better in one."""
    out = []
    for i, (li, si) in enumerate(points):
        dominated = any(lj <= li and sj >= si and (lj < li or sj > si) for j, (lj, sj) in enumerate(points) if j != i)
        out.append(not dominated)
    return out


def _mark_pareto(records: list[dict]) -> None:
    """Per board, over the feasible candidates with a latency: latency vs
    top-1 when every one has a known accuracy, else vs MACs (a proxy)."""
    for r in records:
        r["pareto"] = False
        r["pareto_metric"] = None
    for board in sorted({r["board"] for r in records}):
        pts = [
            r
            for r in records
            if r["board"] == board and r.get("latency_ms") is not None and r.get("feasible") and not r.get("error")
        ]
        if not pts:
            continue
        known = all(r.get("top1_pct") is not None for r in pts)
        metric = "top1_pct" if known else "macs"
        label = "top1_pct" if known else "macs (accuracy proxy: top-1 unknown for some candidates)"
        flags = pareto_front([(r["latency_ms"], float(r[metric])) for r in pts])
        for r, f in zip(pts, flags):
            r["pareto"] = bool(f)
        for r in records:
            if r["board"] == board:
                r["pareto_metric"] = label


# ----------------------------------------------------------------------------
# Running a sweep
# ----------------------------------------------------------------------------


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


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
        {"model": m.to_dict(), "jobs": [(c.board, c.schedule) for c in cs], "cache_dir": cache_dir, "quiet": True}
        for m, cs in pending.items()
    ]
    by_job = {(m, c.board, c.schedule): c for m, cs in pending.items() for c in cs}

    bar = _Progress(len(candidates), cached, progress)

    def on_result(task: dict, records: list[dict]) -> None:
        spec = ModelSpec(**task["model"])
        for rec in records:
            c = by_job[(spec, rec["board"], rec["schedule"])]
            results[c] = rec
            if not rec.get("error"):  # failures are retried by the next run
                _atomic_write(cand_dir / f"{keys[c]}.json", json.dumps(rec, sort_keys=True))
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


def _run_local(tasks: list[dict], workers: int, on_result: Callable[[dict, list[dict]], None]) -> None:
    """Worker processes (spawned: TensorFlow does not survive fork).  A task
    whose worker dies is retried once in a fresh pool, then recorded failed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    todo, attempts = list(tasks), {id(t): 0 for t in tasks}
    while todo:
        broken: list[dict] = []
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
            futures = {pool.submit(_task, t): t for t in todo}
            for f in as_completed(futures):
                t = futures[f]
                try:
                    on_result(t, f.result())
                except BrokenProcessPool:
                    broken.append(t)
                except Exception as err:  # noqa: BLE001 - pickling errors and the like
                    on_result(t, _task_failed(t, err))
        todo = []
        for t in broken:
            attempts[id(t)] += 1
            if attempts[id(t)] >= 2:
                on_result(t, _task_failed(t, RuntimeError("worker process died (twice)")))
            else:
                todo.append(t)


def _task_failed(task: dict, err: BaseException) -> list[dict]:
    spec = ModelSpec(**task["model"])
    base = dict(spec.to_dict(), model=spec.name)
    return [_error_record(base, b, s, err) for b, s in task["jobs"]]


def _run_ray(
    tasks: list[dict], workers: int, address: str | None, on_result: Callable[[dict, list[dict]], None]
) -> None:
    """Ray tasks, one CPU each.  Joins the cluster at ``address`` (or the one
    this process is already connected to); without one, starts a private
    local instance with ``workers`` CPUs and stops it at the end."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--backend ray needs Ray: pip install 'tinyops-tflm[distributed]'") from None
    import logging

    own = not ray.is_initialized()
    if own:
        kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            ray.init(address=address, **kwargs)
        else:  # a small object store: tasks pass a few KB of JSON
            ray.init(address="local", num_cpus=workers, object_store_memory=100 * 2**20, **kwargs)
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(_task)
        pending = {remote.remote(t): t for t in tasks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            t = pending.pop(done[0])
            try:
                res = ray.get(done[0])
            except Exception as err:  # noqa: BLE001 - a worker lost twice, etc.
                res = _task_failed(t, err)
            on_result(t, res)
    finally:
        if own:
            ray.shutdown()


# ----------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------

CSV_FIELDS = [
    "board",
    "model",
    "schedule",
    "family",
    "width",
    "resolution",
    "depth",
    "macs",
    "params",
    "activation_bytes",
    "weight_bytes",
    "peak_sram",
    "flash_bytes",
    "external_bytes",
    "fits_internal",
    "feasible",
    "latency_ms",
    "top1_pct",
    "accuracy_source",
    "pareto",
    "pareto_metric",
    "latency_source",
    "note",
    "error",
]


def write_outputs(records: list[dict], out_dir: str | os.PathLike) -> None:
    """``explore.json`` (every field) and ``explore.csv`` (CSV_FIELDS) in ``out_dir``."""
    import io

    out = Path(out_dir)
    _atomic_write(out / "explore.json", json.dumps(records, indent=1, sort_keys=True) + "\n")
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for r in records:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})
    _atomic_write(out / "explore.csv", s.getvalue())


def plot_pareto(records: list[dict], path: str | os.PathLike) -> None:
    """Latency vs top-1 (or MACs) per board, internal and tinyops schedules,
    the Pareto front joined by a line."""
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError(
            "the Pareto plot needs matplotlib: pip install 'tinyops-tflm[explore]' (or pass --no-plot)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boards = sorted({r["board"] for r in records})
    fig, axes = plt.subplots(1, max(1, len(boards)), figsize=(6 * max(1, len(boards)), 4.5), squeeze=False)
    styles = {"internal": ("s", "tab:blue"), "tinyops": ("o", "tab:red"), "original": ("^", "tab:green")}
    for ax, board in zip(axes[0], boards):
        pts = [
            r
            for r in records
            if r["board"] == board and r.get("latency_ms") is not None and r.get("feasible") and not r.get("error")
        ]
        metric = pts[0]["pareto_metric"] if pts else "top1_pct"
        key = "top1_pct" if metric == "top1_pct" else "macs"
        scale = 1.0 if key == "top1_pct" else 1e-6
        for sched, (marker, color) in styles.items():
            sel = [r for r in pts if r["schedule"] == sched]
            if not sel:
                continue
            # internal hollow and larger: where it is costed like tinyops the two coincide
            ax.scatter(
                [r["latency_ms"] for r in sel],
                [r[key] * scale for r in sel],
                marker=marker,
                s=90 if sched == "internal" else 30,
                facecolors="none" if sched == "internal" else color,
                edgecolors=color,
                label=sched,
            )
        front = sorted((r for r in pts if r["pareto"]), key=lambda r: r["latency_ms"])
        ax.plot([r["latency_ms"] for r in front], [r[key] * scale for r in front], "k--", lw=1, label="Pareto front")
        for r in front:
            ax.annotate(
                r["model"], (r["latency_ms"], r[key] * scale), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_title(board)
        ax.set_xlabel("latency, ms (modelled: tinyops_tflm.planning.latency / schedules)")
        ax.set_ylabel("ImageNet top-1, %" if key == "top1_pct" else "MACs, M (accuracy proxy)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def read_accuracy_csv(path: str | os.PathLike) -> dict[str, float]:
    """A user's accuracies: a CSV with columns ``model`` and ``top1`` (percent)."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"model", "top1"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: an accuracy CSV needs the columns 'model' and 'top1'")
            out = {}
            for i, row in enumerate(reader, start=2):
                try:
                    out[row["model"].strip()] = float(row["top1"])
                except (TypeError, ValueError):
                    raise ValueError(f"{path}:{i}: top1 {row.get('top1')!r} is not a number") from None
            return out
    except FileNotFoundError:
        raise ValueError(f"accuracy CSV {str(path)!r} not found") from None
