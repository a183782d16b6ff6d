"""What `tinyops report` shows, as plain data (also its --json output).

Collected from one plan of the model for a board:

* model summary: ops, MACs, parameters, constants, inputs and outputs;
* per layer: op, shapes, MACs, parameters, the placement of every tensor it
  touches (memory, offset, bytes), strategy and tiles, DMA bytes per memory
  (counted by the engine in a host run of the plan), the SRAM it uses (tile
  buffers, and the highest SRAM byte in use during the op), and its modelled
  cycles and ms (``Interpreter.estimate_latency()``, labelled with the model's
  own name);
* memory maps: per memory, every tensor (and, in SRAM, every tile buffer) as
  op-lifetime x offset rectangles;
* the validation result against the pinned tflite-micro interpreter.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from pathlib import Path

from ..frontend.metrics import graph_macs, op_macs
from ..planning.boards import SRAM, get_board, parse_size

__all__ = ["collect"]

# Input slots' roles by op, for the placement column (default: in0, in1, ...).
_ROLES = {
    "CONV_2D": ("input", "weights", "bias"),
    "DEPTHWISE_CONV_2D": ("input", "weights", "bias"),
    "FULLY_CONNECTED": ("input", "weights", "bias"),
}


def _tensor(graph, plan, t: int, role: str) -> dict:
    tensor = graph.tensors[t]
    p = plan.placements[t]
    return {
        "tensor": t,
        "role": role,
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": tensor.dtype.name,
        "constant": tensor.is_constant,
        "memory": p.memory,
        "offset": int(p.offset),
        "nbytes": int(p.nbytes),
    }


def _params(graph, op) -> tuple[int, int]:
    consts = [graph.tensors[i] for i in op.inputs if i >= 0 and graph.tensors[i].is_constant]
    return sum(c.size for c in consts), sum(c.nbytes for c in consts)


def _sram_in_use(plan, graph) -> list[int]:
    """Per op, the highest SRAM byte in use: live SRAM tensors and the op's
    tile buffers (one address space: the plan's SRAM region)."""
    n = len(graph.operators)
    top = [0] * n
    for p in plan.placements:
        if p.memory != SRAM or not p.nbytes:
            continue
        first, last = p.lifetime if p.lifetime else (0, n - 1)
        for i in range(max(first, 0), min(last, n - 1) + 1):
            top[i] = max(top[i], p.offset + p.nbytes)
    for o in plan.ops:
        for off, size in o.buffers.values():
            top[o.op] = max(top[o.op], off + size)
    return top


def memory_maps(plan, graph) -> dict[str, list[dict]]:
    """Per memory: rectangles (first op, last op, offset, bytes, kind, label).
    Constants live for the whole run; tile buffers for their op (prefetched
    next weights from the op before)."""
    n = len(graph.operators)
    # A memory with two plan regions (SDRAM: the arena, then the weights
    # copied at boot) shows the second after the first, as linked.
    base: list[int] = []
    end: dict[str, int] = {}
    for name, size in zip(plan.memories, plan.region_sizes):
        base.append(end.get(name, 0))
        end[name] = base[-1] + -(-int(size) // 32) * 32
    maps: dict[str, list[dict]] = {}
    for p in plan.placements:
        if p.memory is None or not p.nbytes:
            continue
        first, last = p.lifetime if p.lifetime else (0, n - 1)
        at = base[p.region] if p.region is not None and p.region < len(base) else 0
        maps.setdefault(p.memory, []).append(
            {
                "first": int(first),
                "last": int(last),
                "offset": at + int(p.offset),
                "nbytes": int(p.nbytes),
                "kind": "constant" if p.constant else "activation",
                "label": f"t{p.tensor} {p.name}",
            }
        )
    for o in plan.ops:
        for name, (off, size) in o.buffers.items():
            last = o.op + 1 if name == "next_weights" else o.op
            maps.setdefault(SRAM, []).append(
                {
                    "first": o.op,
                    "last": min(last, n - 1),
                    "offset": int(off),
                    "nbytes": int(size),
                    "kind": "buffer",
                    "label": f"op {o.op} {name}",
                }
            )
    return maps


def collect(
    model: str | os.PathLike,
    board: str = "stm32f746",
    sram_budget: int | str | None = None,
    *,
    num_inputs: int = 2,
    seed: int = 0,
    validate: bool = True,
) -> dict:
    """Everything the report shows (see the module docstring)."""
    from .. import __version__
    from ..frontend.model_bytes import read_model_bytes
    from ..frontend.reader import read_model
    from ..runtime.interpreter import Interpreter
    from ..validation.compare import make_inputs
    from ..validation.compare import validate as run_validation
    from .report_text import tile_text

    path = Path(model)
    data = read_model_bytes(path)
    graph = read_model(data)
    b = get_board(board)
    budget = None if sram_budget is None else parse_size(sram_budget)
    interp = Interpreter(graph, board=b, sram_budget=budget)
    plan = interp.plan
    interp.run(*make_inputs(graph, 1, seed)[0])  # engine counters: DMA bytes per memory
    stats = interp.stats["ops"]
    est = interp.estimate_latency()
    ms_per_cycle = 1e3 / est.clock_hz
    in_use = _sram_in_use(plan, graph)

    layers = []
    for op, tiling, st, lat in zip(graph.operators, plan.ops, stats, est.ops):
        roles = _ROLES.get(op.name, ())
        ins = [
            _tensor(graph, plan, t, roles[k] if k < len(roles) else f"in{k}") for k, t in enumerate(op.inputs) if t >= 0
        ]
        outs = [_tensor(graph, plan, t, "output" if k == 0 else f"out{k}") for k, t in enumerate(op.outputs) if t >= 0]
        params, param_bytes = _params(graph, op)
        layers.append(
            {
                "op": op.index,
                "name": op.name,
                "inputs": ins,
                "outputs": outs,
                "macs": op_macs(graph, op),
                "params": params,
                "param_bytes": param_bytes,
                "strategy": tiling.strategy,
                "order": tiling.order,
                "tile": tile_text(tiling),
                "tiles": tiling.tiles,
                "transfers": st["dma_transfers"],
                "dma_read_bytes": dict(st["dma_read_bytes"]),
                "dma_write_bytes": dict(st["dma_write_bytes"]),
                "sram_tile_bytes": int(tiling.sram_bytes),
                "sram_in_use": int(in_use[op.index]),
                "cycles": lat.cycles,
                "compute_cycles": lat.compute_cycles,
                "stall_cycles": lat.stall_cycles,
                "dma_cycles": lat.dma_cycles,
                "ms": lat.cycles * ms_per_cycle,
            }
        )

    weights = sum(t.nbytes for t in graph.tensors if t.is_constant)
    summary = {
        "file": str(path),
        "file_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "ops": len(graph.operators),
        "op_counts": dict(Counter(op.name for op in graph.operators).most_common()),
        "macs": graph_macs(graph),
        "params": sum(_params(graph, op)[0] for op in graph.operators),
        "constant_bytes": weights,
        "inputs": [_tensor(graph, plan, t, f"input{k}") for k, t in enumerate(graph.inputs)],
        "outputs": [_tensor(graph, plan, t, f"output{k}") for k, t in enumerate(graph.outputs)],
    }
    memories = []
    for m in b.memories:
        if m.name not in plan.memories:
            continue
        cap = plan.sram_budget if m.name == SRAM else (b.flash_budget if m.name == "flash" else m.capacity)
        memories.append(
            {
                "memory": m.name,
                "used": int(plan.memory_used.get(m.name, 0)),
                "capacity": int(cap),
                "physical_capacity": int(m.capacity),
                "bandwidth_mb_s": m.bandwidth_mb_s,
            }
        )

    result = {
        "tinyops_version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": summary,
        "board": {"name": b.name, "description": b.description, "core": b.core, "clock_hz": b.clock_hz},
        "plan": {
            "weights_in": plan.board.weights_in,
            "sram_budget": plan.sram_budget,
            "sram_peak": plan.sram_peak,
            "memory_used": dict(plan.memory_used),
            "totals": plan.totals(),
            "memories": memories,
        },
        "latency": {
            "kind": "modelled",
            "model": est.model,
            "board": est.board,
            "clock_hz": est.clock_hz,
            "total_cycles": est.total_cycles,
            "ms": est.ms,
            "compute_cycles": sum(o.compute_cycles for o in est.ops),
            "stall_cycles": sum(o.stall_cycles for o in est.ops),
            "dma_cycles": sum(o.dma_cycles for o in est.ops),
        },
        "layers": layers,
        "memory_maps": memory_maps(plan, graph),
        "validation": None,
    }
    if validate:

        def partitioned(g):
            return Interpreter(g, board=b, sram_budget=plan.sram_budget)

        report = run_validation(data, num_inputs=num_inputs, seed=seed, interpreter_factory=partitioned)
        report.model = str(path)
        result["validation"] = report.to_dict()
    # The estimate object, for the latency plot (not part of the JSON).
    result["_estimate"] = est
    return result
