"""`tinyops estimate`: modelled on-board latency of a model, per op, without QEMU."""

from __future__ import annotations

import argparse
import json

from ..planning.latency import LatencyEstimate
from .util import add_weights_in


def plot_breakdown(est: LatencyEstimate, path: str, title: str = "") -> None:
    """Per-op stacked bars: core compute, memory wait states, exposed DMA (ms)."""
    from ..plot_backend import pyplot

    plt = pyplot("tinyops estimate --plot")
    ms = 1e3 / est.clock_hz
    idx = [o.op for o in est.ops]
    core = [(o.compute_cycles - o.stall_cycles) * ms for o in est.ops]
    stall = [o.stall_cycles * ms for o in est.ops]
    dma = [o.dma_cycles * ms for o in est.ops]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.12 * len(idx) + 2), 3.6), dpi=120)
    ax.bar(idx, core, width=0.85, label="compute", color="#4C72B0")
    ax.bar(idx, stall, width=0.85, bottom=core, label="memory wait states", color="#DD8452")
    ax.bar(idx, dma, width=0.85, bottom=[a + b for a, b in zip(core, stall)], label="exposed DMA", color="#C44E52")
    ax.set_xlabel("op")
    ax.set_ylabel("ms (modelled)")
    ax.set_title(title or f"{est.board}: {est.ms:.1f} ms modelled")
    ax.legend(frameon=False, fontsize=8)
    ax.margins(x=0.01)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def cmd_estimate(args: argparse.Namespace) -> int:
    from ..frontend.reader import read_model_file
    from ..planning.boards import parse_size
    from ..planning.schedules import schedule_cost
    from .util import board_arg

    if args.weights_in is not None and args.schedule != "tinyops":
        # The other schedules fix their own placement (original: all in SDRAM; internal: flash).
        raise ValueError(f"--weights-in applies to the tinyops schedule, not --schedule {args.schedule}")
    board = board_arg(args.board, args.weights_in)
    graph = read_model_file(args.model)
    budget = parse_size(args.sram_budget) if args.sram_budget else board.default_sram_budget
    est = schedule_cost(graph, board, args.schedule, budget).estimate
    if args.plot:
        plot_breakdown(est, args.plot, f"{args.model.split('/')[-1]} on {est.board}: {est.ms:.1f} ms (modelled)")
    if args.json:
        print(
            json.dumps(
                {**est.to_dict(), "weights_in": board.weights_in if args.schedule == "tinyops" else None}, indent=1
            )
        )
        return 0
    ms = 1e3 / est.clock_hz
    print(f"tinyops estimate: {args.model} on {est.board}, {args.schedule} schedule (SRAM budget {budget // 1024} KiB)")
    print(f"  {'op':>4}  {'name':<20}{'cycles':>13}{'compute':>13}{'exposed DMA':>13}{'ms':>9}")
    for o in est.ops:
        print(
            f"  {o.op:>4}  {o.name:<20}{o.cycles:>13,.0f}{o.compute_cycles:>13,.0f}"
            f"{o.dma_cycles:>13,.0f}{o.cycles * ms:>9.2f}"
        )
    print(f"  total: {est.total_cycles:,} cycles = {est.ms:.1f} ms at {est.clock_hz / 1e6:.0f} MHz")
    check = (
        "validated against the cycle emulation by benchmarks/cycle_model.py"
        if args.schedule == "tinyops"
        else "uncalibrated (`tinyops reproduce-paper` calibrates it on the paper's table)"
    )
    print(f"  modelled by {est.model}; {check}; not a board measurement")
    if args.plot:
        print(f"  wrote {args.plot}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="modelled on-board latency per op (no QEMU)")
    p.add_argument("model", help=".tflite file")
    p.add_argument("--board", default="stm32f746", help="stm32f746, stm32f469 or stm32f469-paper")
    p.add_argument("--sram-budget", default=None, help="bytes, e.g. 128K (default: the board's budget)")
    add_weights_in(p)
    p.add_argument(
        "--schedule",
        default="tinyops",
        choices=("tinyops", "original", "internal"),
        help="tinyops: this engine's plan and kernels (default); original: the paper's "
        "TinyOps firmware; internal: TFLM + CMSIS-NN in internal memory",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument(
        "--plot", default=None, metavar="OUT.png", help="per-op stacked bars: compute, memory wait states, exposed DMA"
    )
    p.set_defaults(func=cmd_estimate)
