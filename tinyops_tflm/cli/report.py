"""`tinyops report`: an analyze-style HTML report of a model on a board."""

from __future__ import annotations

import argparse
from pathlib import Path

from .util import EXIT_MISMATCH, EXIT_OK, add_weights_in, board_arg, print_json


def cmd_report(args: argparse.Namespace) -> int:
    from ..frontend.metrics import human_bytes
    from ..plot_backend import pyplot
    from .report_data import collect
    from .report_html import write_report

    pyplot("tinyops report (its plots)")  # before planning and validating, not after
    r = collect(
        args.model,
        board_arg(args.board, args.weights_in),
        args.sram_budget,
        num_inputs=args.inputs,
        seed=args.seed,
        validate=not args.no_validate,
    )
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(r, str(out))
    v = r["validation"]
    ok = v is None or v["ok"]
    if args.json:
        data = {k: val for k, val in r.items() if not k.startswith("_")}
        print_json({"ok": ok, "out": str(out), **data})
        return EXIT_OK if ok else EXIT_MISMATCH
    lat, plan = r["latency"], r["plan"]
    print(f"tinyops report: {args.model} on {r['board']['name']} -> {out}")
    print(
        f"  {r['model']['ops']} ops; SRAM peak {human_bytes(plan['sram_peak'])} of "
        f"{human_bytes(plan['sram_budget'])}; {human_bytes(plan['totals']['dma_bytes'])} "
        f"moved by DMA per inference"
    )
    print(f"  latency: {lat['ms']:.2f} ms modelled ({lat['model']}; not a board measurement)")
    if v is None:
        print("  validation: not run")
    else:
        print(f"  validation: {v['verdict']} against {v['oracle']} ({v['num_inputs']} inputs)")
        for lim in v["oracle_limits"]:
            print(f"    tflite-micro cannot run op {lim['op']} ({lim['name']}): {lim['reason']}")
    return EXIT_OK if ok else EXIT_MISMATCH


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "report", help="HTML report: summary, per-layer table, memory maps, latency breakdown, validation"
    )
    r.add_argument("model", help=".tflite file")
    r.add_argument("--board", default="stm32f746", help="stm32f746, stm32f469 or stm32f469-paper")
    r.add_argument("--sram-budget", default=None, help="bytes, e.g. 128K (default: the board's budget)")
    add_weights_in(r)
    r.add_argument("--out", default="report.html", help="HTML file to write (report.html)")
    r.add_argument("--inputs", type=int, default=2, help="seeded random inputs to validate (2)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--no-validate", action="store_true", help="skip the tflite-micro comparison")
    r.add_argument("--json", action="store_true", help="the report's data as JSON on stdout")
    r.set_defaults(func=cmd_report)
