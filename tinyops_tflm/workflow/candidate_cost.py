"""Costing one model of the sweep: build it once, then for each (board,
schedule) a record of its feasibility, latency (one call,
:func:`estimate_latency_ms`, so the cost model can be swapped in one place) and
memory use. A failure becomes the record's ``error``, never an exception."""

from __future__ import annotations

import os
import traceback
from typing import Any

from .candidates import ModelSpec

#: How the estimates are checked (printed with every latency).
VALIDATION = "modelled, checked against the QEMU cycle model (benchmarks/cycle_model.py), not measured on a board"


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


def _record(model: dict, board: str, schedule: str, weights_in: str | None = None) -> dict:
    """A candidate's record before anything about it is known: infeasible, no
    latency or memory figures, no note or error."""
    return dict(
        model,
        board=board,
        schedule=schedule,
        weights_in=weights_in,
        feasible=False,
        latency_ms=None,
        latency_source=None,
        peak_sram=None,
        flash_bytes=None,
        external_bytes=None,
        note="",
        error=None,
    )


def _cost(graph, model: dict, board_name: str, schedule: str, weights_in: str | None = None) -> dict:
    from ..errors import BudgetError
    from ..planning.boards import FLASH, QSPI, SDRAM, get_board

    board = get_board(board_name)
    if weights_in is not None:
        board = board.with_weights_in(weights_in)
    # Where the tinyops plan put weights beyond flash; the other schedules fix their own.
    rec = _record(model, board.name, schedule, board.weights_in if schedule == "tinyops" else None)
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


def evaluate_model(model: dict, jobs: list[tuple], cache_dir: str | None = None) -> list[dict]:
    """Build one model and cost it for every (board, schedule) or (board,
    schedule, weights_in) in ``jobs``, returning records in the jobs' order.
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
        return [_error_record(base, b, s, err, *w) for b, s, *w in jobs]
    out = []
    for board, schedule, *where in jobs:
        try:
            out.append(_cost(graph, base, board, schedule, *where))
        except Exception as err:  # noqa: BLE001
            out.append(_error_record(base, board, schedule, err, *where))
    return out


def _error_record(base: dict, board: str, schedule: str, err: BaseException, weights_in: str | None = None) -> dict:
    tb = traceback.extract_tb(err.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    rec = _record(base, board, schedule, weights_in)
    rec.update(fits_internal=None, error=f"{type(err).__name__}: {err}{where}")
    for k in ("macs", "params", "activation_bytes", "weight_bytes"):
        rec.setdefault(k, None)
    return rec
