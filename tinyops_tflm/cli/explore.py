"""`tinyops explore`: the design-space sweep (tinyops_tflm.workflow.explore) from the command line."""

from __future__ import annotations

import argparse
import sys

from .util import add_weights_in


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _depths(text: str) -> list[int | None]:
    out: list[int | None] = []
    for v in text.split(","):
        v = v.strip()
        if not v:
            continue
        if v in ("full", "published"):
            out.append(None)
            continue
        try:
            out.append(int(v))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"depths are integers or 'full' (the published depth), got {v!r}"
            ) from None
    return out


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def cmd_explore(args: argparse.Namespace) -> int:
    from ..workflow import explore as ex
    from .util import print_json

    boards = args.boards or list(ex.DEFAULT_BOARDS)
    schedules = args.schedules or list(ex.DEFAULT_SCHEDULES)
    grid_args = (args.families, args.widths, args.resolutions, args.depths)
    if args.preset:
        if any(a is not None for a in grid_args):
            raise ValueError("--preset and --families/--widths/--resolutions/--depths exclude each other")
        cands = ex.preset_candidates(args.preset, boards, schedules, args.weights_in)
    else:
        if args.families is None:
            raise ValueError("give --preset NAME or at least --families (see tinyops explore -h)")
        models = ex.grid(args.families, args.widths or [1.0], args.resolutions or [160], args.depths or [None])
        cands = ex.candidates_for(models, boards, schedules, args.weights_in)
    accuracy = ex.read_accuracy_csv(args.accuracy) if args.accuracy else None
    if not args.json:
        print(
            f"tinyops explore: {len(cands)} candidates "
            f"({len({c.model for c in cands})} models x {len(boards)} boards x "
            f"{len(schedules)} schedules), backend {args.backend}"
            + (f", {args.workers} worker(s)" if args.backend == "local" else ""),
            file=sys.stderr,
        )
    res = ex.run_sweep(
        cands,
        args.out,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        accuracy=accuracy,
        accuracy_source=f"user CSV {args.accuracy}" if args.accuracy else "",
    )
    plot = None
    if not args.no_plot:
        plot = args.plot or str(res.out_dir / "pareto.png")
        ex.plot_pareto(res.records, plot)
    if args.json:
        print_json(res.records)
        return 0
    _summary(res, plot)
    return 0


def _summary(res, plot: str | None) -> None:
    from ..workflow.explore import VALIDATION

    recs = res.records
    print(f"{len(recs)} candidates: {res.computed} evaluated, {res.cached} from the cache, {len(res.failed)} failed")
    print(f"latency: {VALIDATION}; each record's latency_source names the model")
    for board in sorted({r["board"] for r in recs}):
        sel = [r for r in recs if r["board"] == board]
        metric = sel[0].get("pareto_metric") or "-"
        print(f"\n{board}: Pareto front of latency vs {metric}")
        print(
            f"  {'model':<24} {'schedule':<9} {'MACs M':>7} {'params M':>8} {'top1':>5} "
            f"{'latency ms':>10} {'fits internal':>13}"
        )
        for r in sorted((r for r in sel if r.get("pareto")), key=lambda r: r["latency_ms"]):
            top1 = "-" if r.get("top1_pct") is None else f"{r['top1_pct']:.1f}"
            print(
                f"  {r['model']:<24} {r['schedule']:<9} {r['macs'] / 1e6:7.1f} "
                f"{r['params'] / 1e6:8.2f} {top1:>5} {r['latency_ms']:10.1f} "
                f"{str(r['fits_internal']):>13}"
            )
    for r in res.failed:
        print(f"  failed: {r['model']} on {r['board']} ({r['schedule']}): {r['error']}")
    print(f"\nwrote {res.out_dir / 'explore.json'}, {res.out_dir / 'explore.csv'}" + (f", {plot}" if plot else ""))


def register(sub: argparse._SubParsersAction) -> None:
    from ..workflow.explore import DEFAULT_SCHEDULES, PRESETS, SCHEDULES

    e = sub.add_parser(
        "explore",
        help="sweep families x width x resolution (x depth) x boards x schedules",
        description="Build, plan and cost every candidate; record MACs, params, memory, "
        "feasibility, modelled latency and accuracy (paper table or --accuracy); "
        "mark the Pareto front per board. Results are cached per candidate in "
        "OUT/candidates (re-running resumes).",
    )
    e.add_argument("--preset", choices=sorted(PRESETS), help="a named sweep (smoke: 12 candidates)")
    e.add_argument(
        "--families",
        type=_names,
        default=None,
        help="comma-separated: mbv3, proxyless, mcunet-in2, mcunet-in3, mnasnet",
    )
    e.add_argument("--widths", type=_floats, default=None, help="width multipliers (1.0)")
    e.add_argument("--resolutions", type=_ints, default=None, help="input resolutions (160)")
    e.add_argument(
        "--depths", type=_depths, default=None, help="blocks per stage, mbv3/proxyless only; 'full' = published (full)"
    )
    e.add_argument("--boards", type=_names, default=None, help="comma-separated boards (stm32f469-paper,stm32f746)")
    e.add_argument(
        "--schedules",
        type=_names,
        default=None,
        help=f"comma-separated, of {', '.join(SCHEDULES)} ({','.join(DEFAULT_SCHEDULES)})",
    )
    add_weights_in(e)
    e.add_argument("--workers", type=int, default=1, help="local worker processes / Ray CPUs (1)")
    e.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local processes, or Ray tasks (pip install 'tinyops-tflm[distributed]')",
    )
    e.add_argument(
        "--address", default=None, help="Ray cluster address (host:port or 'auto'); default: a private local Ray"
    )
    e.add_argument("--out", default="explore-out", help="output folder (explore-out)")
    e.add_argument("--accuracy", default=None, help="CSV with columns model,top1 (percent)")
    e.add_argument(
        "--json",
        action="store_true",
        help="print the records (model, board, schedule, macs, params, fits_internal, latency_ms, pareto, ...) as JSON",
    )
    e.add_argument("--plot", default=None, help="Pareto plot path (OUT/pareto.png)")
    e.add_argument("--no-plot", action="store_true", help="skip the PNG")
    e.set_defaults(func=cmd_explore)
