"""`tinyops reproduce-paper`: the paper's latency table on the timing model."""

from __future__ import annotations

import argparse
import json
import sys


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..workflow.paper import PARAM_MEANING, plot, reproduce

    if args.plot:  # before the costing, not after it
        from ..plot_backend import pyplot

        pyplot("tinyops reproduce-paper --plot")

    def progress(i: int, n: int, name: str) -> None:
        if sys.stderr.isatty() and not args.json:
            print(f"\r  costing row {i + 1}/{n}: {name:<28}", end="", file=sys.stderr, flush=True)

    results, params = reproduce(progress)
    if sys.stderr.isatty() and not args.json:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    if args.plot:
        plot(results, args.plot)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return 0
    print(
        "tinyops reproduce-paper: the paper's on-board latencies vs the timing model "
        "(modelled; leave-one-out = parameters refitted without the row)"
    )
    print(
        f"  {'board':<5} {'model':<22} {'space':<8} {'top-1':>6} {'paper ms':>9} {'model ms':>9} "
        f"{'LOO ms':>8} {'LOO err':>8} {'this ms':>8} {'speed-up':>9}"
    )
    for r in results:
        print(
            f"  {r.platform:<5} {r.model:<22} {r.design_space:<8} {r.top1_pct:>6.1f} {r.paper_ms:>9.0f} "
            f"{r.estimated_ms:>9.0f} {r.loo_ms:>8.0f} {r.loo_error_pct:>+7.1f}% {r.tinyops_ms:>8.0f} "
            f"{r.speedup:>8.2f}x"
        )
    worst = max(abs(r.loo_error_pct) for r in results)
    print(f"  worst |leave-one-out error|: {worst:.1f} %")
    print("  parameters per board (latency = (k_depthwise*D + k_kernels*K + k_memory*M) / f_clock):")
    for board, p in params.items():
        print(f"    {board}: " + ", ".join(f"{k} = {v:.3g}" for k, v in p.items()))
    for k, meaning in PARAM_MEANING.items():
        print(f"    {k}: {meaning}")
    print(
        "  'this ms' = this engine's plan and kernels (cost tables fitted to the cycle model), "
        "uncalibrated; not a board measurement"
    )
    if args.plot:
        print(f"  wrote {args.plot}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce-paper", help="the paper's latency table: paper vs modelled vs this engine")
    p.add_argument("--json", action="store_true", help="a list of row objects")
    p.add_argument(
        "--plot",
        default=None,
        metavar="OUT.png",
        help="latency vs top-1 per board, Internal vs TinyOps, with this engine's points",
    )
    p.set_defaults(func=cmd_reproduce)
