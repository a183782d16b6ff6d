"""Readable reports of plans and runs."""

from __future__ import annotations

from collections import Counter

from ..frontend.ir import Graph
from ..frontend.metrics import graph_macs, human_bytes, human_count, op_macs
from ..planning.partition import Plan


def model_summary(graph: Graph) -> str:
    ops = Counter(op.name for op in graph.operators)
    weights = sum(t.nbytes for t in graph.tensors if t.is_constant)
    ins = ", ".join(f"{list(graph.tensors[t].shape)} {graph.tensors[t].dtype.name}" for t in graph.inputs)
    outs = ", ".join(f"{list(graph.tensors[t].shape)} {graph.tensors[t].dtype.name}" for t in graph.outputs)
    op_list = ", ".join(f"{n} x{c}" for n, c in ops.most_common())
    return (
        f"  {len(graph.operators)} ops ({op_list})\n"
        f"  {human_count(graph_macs(graph))}MACs, {human_bytes(weights)} of constants; "
        f"inputs {ins}; outputs {outs}"
    )


def tile_text(o) -> str:
    """One op's tile geometry in a few characters (an OpTiling of the plan)."""
    if o.strategy == "rows":
        return f"{o.rows}r x {o.channels}c" if o.name == "CONV_2D" else f"{o.rows} rows"
    if o.strategy == "channels":
        return f"{o.channels} ch"
    if o.strategy == "flat":
        return f"{o.rows} elems"
    return "-"


def plan_table(plan: Plan, graph: Graph, max_rows: int | None = None) -> str:
    lines = [
        f"plan for {plan.board.name} ({plan.board.description})",
        f"  SRAM budget {human_bytes(plan.sram_budget)}, peak {human_bytes(plan.sram_peak)}",
    ]
    used = ", ".join(f"{m} {human_bytes(plan.memory_used.get(m, 0))}" for m in dict.fromkeys(plan.memories))
    lines.append(f"  memory used: {used}")
    by_mem = Counter((p.memory, p.constant) for p in plan.placements if p.memory)
    place = ", ".join(
        f"{n} {'constant' if c else 'activation'}{'s' if n != 1 else ''} in {m}"
        for (m, c), n in sorted(by_mem.items(), key=lambda kv: (kv[0][1], kv[0][0] or ""))
    )
    lines.append(f"  placement: {place}")
    lines.append("")
    header = (
        f"  {'#':>3} {'op':<18} {'output shape':<18} {'strategy':<9} {'tile':<12} {'tiles':>5} "
        f"{'DMA':>10} {'SRAM':>10} {'MACs':>8}"
    )
    lines.append(header)
    rows = plan.ops if max_rows is None else plan.ops[:max_rows]
    for o in rows:
        op = graph.operators[o.op]
        shape = "x".join(str(d) for d in graph.tensors[op.outputs[0]].shape) if op.outputs else ""
        tile = tile_text(o)
        lines.append(
            f"  {o.op:>3} {o.name:<18} {shape:<18} {o.strategy:<9} {tile:<12} {o.tiles:>5} "
            f"{human_bytes(o.dma_bytes):>10} {human_bytes(o.sram_bytes):>10} "
            f"{human_count(op_macs(graph, op)):>8}"
        )
    if max_rows is not None and len(plan.ops) > max_rows:
        lines.append(f"  ... {len(plan.ops) - max_rows} more ops")
    t = plan.totals()
    lines.append("")
    lines.append(f"  totals: {t['tiles']} tiles, {human_bytes(t['dma_bytes'])} moved by DMA per inference")
    return "\n".join(lines)
