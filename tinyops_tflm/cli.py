"""The `tinyops` command line."""
from __future__ import annotations

import argparse
import sys
import time
from importlib import resources

from .errors import TinyOpsError


def demo_model_path() -> str:
    return str(resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite")


def cmd_validate(args) -> int:
    from .validation import validate
    report = validate(args.model, num_inputs=args.inputs, seed=args.seed)
    print(report)
    if report.oracle_seconds:
        print(f"  time: tinyops {report.engine_seconds * 1e3 / max(1, len(report.cases)):.2f} ms/inference"
              f" (oracle run incl. subprocess start {report.oracle_seconds:.2f} s)")
    return 0 if report.ok else 1


def cmd_plan(args) -> int:
    import json

    from .boards import parse_size
    from .reader import read_model_file
    from .report import plan_table

    from .interpreter import Interpreter
    from .validation import make_inputs

    graph = read_model_file(args.model)
    budget = parse_size(args.sram_budget) if args.sram_budget else None
    interp = Interpreter(graph, board=args.board, sram_budget=budget)
    plan = interp.plan
    latency = interp.estimate_latency()
    if args.json:
        out = plan.to_dict()
        out["estimated_ms"] = latency.ms
        out["estimated_op_cycles"] = [o.cycles for o in latency.ops]
        print(json.dumps(out, indent=1, default=str))
    else:
        print(plan_table(plan, graph))
        print(f"  {latency}")
    return 0


def cmd_demo(args) -> int:
    from .boards import parse_size
    from .interpreter import Interpreter
    from .reader import read_model_file
    from .report import model_summary, plan_table
    from .validation import make_inputs, validate

    path = args.model or demo_model_path()
    budget = parse_size(args.sram_budget)
    print(f"tinyops demo: {path}")
    graph = read_model_file(path)
    print(model_summary(graph))
    print()
    interp = Interpreter(graph, board=args.board, sram_budget=budget, dma="async")
    print(plan_table(interp.plan, graph, max_rows=None if args.verbose else 12))
    print()
    x = make_inputs(graph, 1, args.seed)[0]
    interp.run(*x)
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        interp.run(*x)
    ms = (time.perf_counter() - t0) * 1e3 / reps
    hw = interp.stats["sram_high_water"]
    moved = sum(sum(o["dma_read_bytes"].values()) for o in interp.stats["ops"])
    print(f"partitioned host run (asynchronous DMA engine): {ms:.2f} ms/inference, "
          f"SRAM high-water {hw} of {budget} bytes, {moved} bytes moved by DMA")
    print(interp.estimate_latency())
    print()

    def partitioned(g):
        return Interpreter(g, board=args.board, sram_budget=budget, dma="async")

    report = validate(path, num_inputs=args.inputs, seed=args.seed, interpreter_factory=partitioned)
    print(report)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinyops", description="TinyOps for TensorFlow Lite Micro")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="compare the engine with the tflite-micro interpreter")
    v.add_argument("model", help=".tflite file")
    v.add_argument("--inputs", type=int, default=8, help="number of seeded random inputs (8)")
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=cmd_validate)

    d = sub.add_parser("demo", help="plan, run partitioned and validate the bundled demo model")
    d.add_argument("--model", default=None, help="a .tflite file instead of the bundled model")
    d.add_argument("--board", default="stm32f746", help="target board (stm32f746)")
    d.add_argument("--sram-budget", default="32K",
                   help="internal SRAM for the engine (32K: small enough that the demo model is tiled)")
    d.add_argument("--inputs", type=int, default=4)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--verbose", action="store_true", help="show every op of the plan")
    d.set_defaults(func=cmd_demo)

    pl = sub.add_parser("plan", help="place tensors and tile ops for a board")
    pl.add_argument("model", help=".tflite file")
    pl.add_argument("--board", default="stm32f746", help="stm32f746, stm32f469 or stm32f469-paper")
    pl.add_argument("--sram-budget", default=None, help="bytes, e.g. 128K (default: the board's budget)")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=cmd_plan)

    # Firmware commands (export, emulate) live beside the exporter.
    from . import cli_firmware
    cli_firmware.register(sub)
    from . import cli_estimate
    cli_estimate.register(sub)
    from . import cli_paper
    cli_paper.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TinyOpsError, ValueError, NotImplementedError, OSError) as err:
        print(f"tinyops: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
