"""`tinyops zoo list`: the paper's model-zoo rows beside this project's builds."""

from __future__ import annotations

import argparse


def cmd_zoo_list(args: argparse.Namespace) -> int:
    from ..validation.zoo_table import TOLERANCE, rows

    table = rows()
    if args.json:
        from .util import print_json

        print_json([r.to_dict() for r in table])
        return 0
    print(
        "The TinyOps paper's model-zoo table (data/tinyops_model_zoo.csv) vs this project's "
        "builds; MACs and params counted on the architecture (= the built int8 model's);"
    )
    print(f"'published' rows match the table within {TOLERANCE:.0%}, latency = the paper's on-board measurement.")
    head = (
        f"{'board':<5} {'row':<22} {'space':<8} {'zoo model':<21} {'MACs M':>7} {'ours':>7} "
        f"{'diff':>6} {'params M':>8} {'ours':>6} {'diff':>6} {'top1':>5} {'paper ms':>8}  status"
    )
    print(head)
    print("-" * len(head))
    for r in table:
        print(
            f"{r.platform:<5} {r.label:<22} {r.design_space:<8} {r.model:<21} "
            f"{r.table_macs / 1e6:7.1f} {r.macs / 1e6:7.1f} {100 * r.macs_diff:+5.1f}% "
            f"{r.table_params / 1e6:8.2f} {r.params / 1e6:6.2f} {100 * r.params_diff:+5.1f}% "
            f"{r.top1_pct:5.1f} {r.paper_latency_ms:8.0f}  {r.status}"
        )
    notes = {r.model: r.note for r in table if r.note}
    print()
    for model, note in notes.items():
        print(f"  {model}: {note}")
    print("\nnet configs:")
    for src in dict.fromkeys(r.source for r in table):
        print(f"  {', '.join(dict.fromkeys(r.model for r in table if r.source == src))}: {src}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    z = sub.add_parser("zoo", help="the paper's model zoo")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    zl = zsub.add_parser("list", help="every row of the paper's table with our MACs/params beside it")
    zl.add_argument("--json", action="store_true", help="machine-readable output")
    zl.set_defaults(func=cmd_zoo_list)
