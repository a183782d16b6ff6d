"""The analytic estimator against the cycle-approximate emulation, per op.

Shared by benchmarks/cycle_model.py (the validation table) and
tools/fit_cost_tables.py (the measurements the cost tables are fitted to):
one model, one board, one SRAM budget -> the emulated firmware's per-op
cycles (QEMU cycle model) beside the estimator's, with the op features the
tables use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _stall(op: Any, cause: str) -> int:
    stalls = getattr(op, "stalls", None) or {}
    for key in (cause, f"stall_{cause}"):
        if key in stalls:
            return int(stalls[key])
    return int(getattr(op, f"stall_{cause}", 0) or 0)


@dataclass
class OpComparison:
    op: int
    name: str
    cls: str
    emulated: int
    estimated: float
    instructions: int
    stall_dma: int
    stall_mem: int
    features: dict[str, float] = field(default_factory=dict)

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.estimated - self.emulated) / max(1, self.emulated)


@dataclass
class Comparison:
    model: str
    board: str
    budget: int
    ops: list[OpComparison]

    @property
    def emulated(self) -> int:
        return sum(o.emulated for o in self.ops)

    @property
    def estimated(self) -> float:
        return sum(o.estimated for o in self.ops)

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.estimated - self.emulated) / max(1, self.emulated)

    def big_ops(self, share: float = 0.01) -> list[OpComparison]:
        """Ops taking more than `share` of the emulated total."""
        return [o for o in self.ops if o.emulated > share * self.emulated]


def compare(
    model: str, data: bytes, board: str, sram_budget: int | str | None = None, tables: dict | None = None
) -> Comparison:
    """Emulate `data` on `board` under the cycle model and estimate it."""
    from ..frontend.reader import read_model
    from ..planning.boards import get_board, parse_size
    from ..planning.latency import FAST_SRAM_BYTES, cost_class, op_features, split_trace
    from ..runtime.interpreter import Interpreter
    from .emulate import emulate

    b = get_board(board)
    budget = b.default_sram_budget if sram_budget is None else parse_size(sram_budget)
    graph = read_model(data)
    interp = Interpreter(graph, board=b, sram_budget=budget)
    est = interp.estimate_latency(tables)
    traces = split_trace(interp.schedule_trace(), len(graph.operators))
    run = emulate(data, b, sram_budget=budget, cycles=True)
    if len(run.ops) != len(graph.operators):
        raise RuntimeError(f"{model} on {b.name}: {len(run.ops)} emulated ops, {len(graph.operators)} in the graph")
    ops = []
    for op, tr, em, e in zip(graph.operators, traces, run.ops, est.ops):
        feats = op_features(
            graph,
            op,
            interp.plan.memories,
            interp.plan.placements,
            tr,
            interp.plan.ops[op.index],
            FAST_SRAM_BYTES.get(b.core),
        )
        ops.append(
            OpComparison(
                op.index,
                op.name,
                cost_class(graph, op),
                int(em.cycles),
                e.cycles,
                int(em.instructions or 0),
                _stall(em, "dma"),
                _stall(em, "mem") + _stall(em, "fetch"),
                feats,
            )
        )
    return Comparison(model, b.name, budget, ops)
