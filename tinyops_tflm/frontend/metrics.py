"""Per-op work counts used by reports, stats and the latency model."""

from __future__ import annotations

import math

from .ir import Graph, Operator


def op_macs(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of one inference of `op` (0 for data movement).

    Counts from shapes alone, so it also runs on a graph the engine has not
    validated (reports, the latency model): weights of an unexpected rank
    count 0 rather than fail."""
    t = graph.tensors
    out = t[op.outputs[0]] if op.outputs else None
    if out is None:
        return 0
    w = t[op.inputs[1]].shape if len(op.inputs) > 1 and op.inputs[1] >= 0 else ()
    if op.name == "CONV_2D":
        # [OC, KH, KW, IC/groups]
        return out.size * w[1] * w[2] * w[3] if len(w) == 4 else 0
    if op.name == "DEPTHWISE_CONV_2D":
        # [1, KH, KW, C]
        return out.size * w[1] * w[2] if len(w) == 4 else 0
    if op.name == "FULLY_CONNECTED":
        # [units, depth]
        return (out.size // w[0]) * w[0] * w[1] if len(w) == 2 and w[0] > 0 else 0
    if op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return out.size * int(op.options.get("filter_width", 1)) * int(op.options.get("filter_height", 1))
    if op.name in ("ADD", "MUL"):
        return out.size
    if op.name == "MEAN":
        return t[op.inputs[0]].size
    return 0


def graph_macs(graph: Graph) -> int:
    return sum(op_macs(graph, op) for op in graph.operators)


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.2f} MiB"


def human_count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} k"
    return f"{n:.0f}" if not math.isnan(n) else "?"
