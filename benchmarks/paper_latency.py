"""Estimated on-board latency of the paper's MbV3 models vs its measured latencies.

For each MbV3 row of shared/reference/tinyops_model_zoo.csv (the paper's
TinyOps deployments) this builds the architecture from the published net
config at that width and resolution (tinyops_tflm.zoo, random weights: latency
does not depend on them), plans it for the row's board (F469 with the paper's
256 KB / 1 MB budgets, F746 with its default budget), runs the plan once on the
host for its traffic, and prints the latency model's estimate beside the
paper's on-board number. The estimate comes from QEMU instruction counts and an
assumed CPI (tinyops_tflm.latency), not from a board: read it as a model.

    python benchmarks/paper_latency.py [--csv PATH]
"""
from __future__ import annotations

import argparse
import csv
import os


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    default_csv = os.path.join(here, "..", "..", "shared", "reference", "tinyops_model_zoo.csv")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default=default_csv)
    args = ap.parse_args()

    from tinyops_tflm import Interpreter, zoo
    from tinyops_tflm.reader import read_model
    from tinyops_tflm.validation import make_inputs

    boards = {"F469": "stm32f469-paper", "F746": "stm32f746"}
    available = set(zoo.paper_models())
    print("paper MbV3 rows: estimated latency of this engine's plan vs the paper's measurement")
    print(f"  {'board':<6} {'model':<18} {'paper ms':>9} {'estimate ms':>12} {'paper/estimate':>15}")
    with open(args.csv) as f:
        for row in csv.DictReader(f):
            if row["family"] != "mbv3":
                continue
            name = f"mbv3-w{float(row['width']):.2f}-r{row['resolution']}"
            if name not in available:
                print(f"  {row['platform']:<6} {name:<18} (no such zoo model)")
                continue
            graph = read_model(zoo.cached(name))
            interp = Interpreter(graph, board=boards[row["platform"]])
            interp.run(*make_inputs(graph, 1, seed=0)[0])
            est = interp.estimate_latency().ms
            paper = float(row["latency_ms"])
            print(f"  {row['platform']:<6} {name:<18} {paper:9.0f} {est:12.0f} {paper / est:14.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
