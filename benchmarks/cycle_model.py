"""The analytic latency estimator vs the cycle-approximate emulation.

For every zoo model on both boards (default SRAM budget, plus --budgets),
this runs the port's QEMU variant under the cycle model (`tinyops emulate
--cycles`) and the estimator (`tinyops estimate`, no QEMU) on the same plan,
and prints per model the two totals, their error, and the worst per-op error
among ops taking more than 1 % of the emulated total. Targets (issue 8):
|total error| <= 10 %, every op over 1 %: |error| <= 25 %. Both numbers are
models, not board measurements.

    python benchmarks/cycle_model.py [--models ...] [--boards ...] [--budgets default 96K] [--ops] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys


def _zoo() -> list[str]:
    """Every zoo model: the general ones and the paper's rows."""
    from tinyops_tflm.validation import zoo

    return [*zoo.list_models(), *zoo.paper_models()]


def _compare(model: str, board: str, budget: str):
    from tinyops_tflm.firmware.cycle_check import compare
    from tinyops_tflm.validation import zoo

    return compare(model, zoo.cached(model), board, None if budget == "default" else budget)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=None)
    ap.add_argument("--boards", nargs="+", default=["stm32f746", "stm32f469"])
    ap.add_argument("--budgets", nargs="+", default=["default"])
    ap.add_argument("--ops", action="store_true", help="also print every op over 1 %%")
    ap.add_argument("--jobs", type=int, default=1, help="emulations run in parallel (one core each)")
    args = ap.parse_args()

    print("estimator (cost tables + DMA replay) vs cycle emulation (QEMU cycle model)")
    print(
        f"  {'board':<10} {'model':<26} {'budget':>7} {'emulated':>14} {'estimated':>14} "
        f"{'error':>7} {'worst op >1%':>13} {'ops >25%':>9}"
    )
    jobs = [
        (model, board, budget) for board in args.boards for model in args.models or _zoo() for budget in args.budgets
    ]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    failures = 0
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        for (model, board, budget), cmp in zip(jobs, pool.map(_compare, *zip(*jobs))):
            big = cmp.big_ops()
            worst = max(big, key=lambda o: abs(o.error_pct))
            off = [o for o in big if abs(o.error_pct) > 25]
            ok = abs(cmp.error_pct) <= 10 and not off
            failures += not ok
            print(
                f"  {board:<10} {model:<26} {cmp.budget // 1024:>6}K {cmp.emulated:>14,} "
                f"{cmp.estimated:>14,.0f} {cmp.error_pct:>+6.1f}% {worst.error_pct:>+12.1f}% "
                f"{len(off):>4}/{len(big):<4}{'' if ok else '  <-- off target'}",
                flush=True,
            )
            if args.ops:
                for o in big:
                    print(
                        f"      op {o.op:>3} {o.name:<20} {o.cls:<16} {o.emulated:>12,} "
                        f"{o.estimated:>12,.0f} {o.error_pct:>+7.1f}%"
                    )
    print(f"  {failures} model/board pairs off target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
