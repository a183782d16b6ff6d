"""The `tinyops` command line."""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources

from ..errors import TinyOpsError
from .util import EXIT_MISMATCH, EXIT_OK, add_weights_in, board_arg, jsonable, print_json


def demo_model_path() -> str:
    return str(resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite")


def cmd_validate(args) -> int:
    from ..validation.compare import validate

    report = validate(args.model, num_inputs=args.inputs, seed=args.seed, stop_before=args.stop_before)
    if args.json:
        print_json(report.to_dict())
        return EXIT_OK if report.ok else EXIT_MISMATCH
    print(report)
    if report.oracle_seconds:
        print(
            f"  time (measured on this host): tinyops "
            f"{report.engine_seconds * 1e3 / max(1, len(report.cases)):.2f} ms/inference"
            f" (oracle run incl. subprocess start {report.oracle_seconds:.2f} s)"
        )
    return EXIT_OK if report.ok else EXIT_MISMATCH


def cmd_plan(args) -> int:
    import json

    from ..frontend.reader import read_model_file
    from ..planning.boards import parse_size
    from ..runtime.interpreter import Interpreter
    from .report_text import plan_table

    board = board_arg(args.board, args.weights_in)
    graph = read_model_file(args.model)
    budget = parse_size(args.sram_budget) if args.sram_budget else None
    interp = Interpreter(graph, board=board, sram_budget=budget)
    plan = interp.plan
    latency = interp.estimate_latency()
    if args.json:
        out = plan.to_dict()
        out["estimated_ms"] = latency.ms
        out["estimated_op_cycles"] = [o.cycles for o in latency.ops]
        out["estimated_latency"] = _latency_dict(latency)
        print(json.dumps(jsonable(out), indent=1, default=str))
    else:
        print(plan_table(plan, graph))
        print(f"  weights beyond internal flash: {_weights_in_text(plan.board)}")
        print(f"  {latency}")
    return 0


def cmd_demo(args) -> int:
    from ..frontend.metrics import human_bytes
    from ..frontend.reader import read_model_file
    from ..planning.boards import parse_size
    from ..runtime.interpreter import Interpreter
    from ..validation.compare import make_inputs, validate
    from .report_text import model_summary, plan_table

    path = args.model or demo_model_path()
    board = board_arg(args.board, args.weights_in)
    budget = parse_size(args.sram_budget)
    say = (lambda *a: None) if args.json else print
    say(f"tinyops demo: {path}")
    graph = read_model_file(path)
    say(model_summary(graph))
    say()
    interp = Interpreter(graph, board=board, sram_budget=budget, dma="async")
    say(plan_table(interp.plan, graph, max_rows=None if args.verbose else 12))
    say()
    x = make_inputs(graph, 1, args.seed)[0]
    interp.run(*x)
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        interp.run(*x)
    ms = (time.perf_counter() - t0) * 1e3 / reps
    hw = interp.stats["sram_high_water"]
    moved = sum(sum(o["dma_read_bytes"].values()) for o in interp.stats["ops"])
    say(
        f"partitioned host run (asynchronous DMA engine, measured on this host): {ms:.2f} "
        f"ms/inference, SRAM high-water {human_bytes(hw)} of {human_bytes(budget)}, "
        f"{human_bytes(moved)} moved by DMA"
    )
    latency = interp.estimate_latency()
    say(latency)
    say()

    def partitioned(g):
        return Interpreter(g, board=board, sram_budget=budget, dma="async")

    report = validate(path, num_inputs=args.inputs, seed=args.seed, interpreter_factory=partitioned)
    if args.json:
        print_json(
            {
                "model": path,
                "board": interp.plan.board.name,
                "weights_in": interp.plan.board.weights_in,
                "sram_budget": budget,
                "ops": len(graph.operators),
                "totals": interp.plan.totals(),
                "host_ms_per_inference_measured": ms,
                "sram_high_water": hw,
                "dma_read_bytes": moved,
                "estimated_latency": _latency_dict(latency),
                "validation": report.to_dict(),
                "ok": report.ok,
            }
        )
    else:
        print(report)
    return EXIT_OK if report.ok else EXIT_MISMATCH


def _weights_in_text(board) -> str:
    where = board.weights_in
    return f"{where} (copied from QSPI at boot)" if where == "sdram" else where


def _latency_dict(latency) -> dict:
    """The latency estimate as JSON, labelled as modelled (by the model it names)."""
    return {"kind": "modelled", **latency.to_dict()}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    p = argparse.ArgumentParser(
        prog="tinyops",
        description="TinyOps for TensorFlow Lite Micro",
        epilog="exit codes: 0 ok; 1 results differ or not validated; 2 usage or input error; "
        "3 a required tool (toolchain, CMake, QEMU) is missing or failed",
    )
    p.add_argument("--version", action="version", version=f"tinyops-tflm {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="compare the engine with the tflite-micro interpreter")
    v.add_argument("model", help=".tflite file")
    v.add_argument("--inputs", type=int, default=8, help="number of seeded random inputs (8)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument(
        "--stop-before",
        type=int,
        default=None,
        metavar="OP_INDEX",
        help="validate the graph up to this op's input (e.g. the op tflite-micro cannot run)",
    )
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=cmd_validate)

    d = sub.add_parser("demo", help="plan, run partitioned and validate the bundled demo model")
    d.add_argument("--model", default=None, help="a .tflite file instead of the bundled model")
    d.add_argument("--board", default="stm32f746", help="target board (stm32f746)")
    d.add_argument(
        "--sram-budget",
        default="32K",
        help="internal SRAM for the engine (32K: small enough that the demo model is tiled)",
    )
    add_weights_in(d)
    d.add_argument("--inputs", type=int, default=4)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--verbose", action="store_true", help="show every op of the plan")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_demo)

    pl = sub.add_parser("plan", help="place tensors and tile ops for a board")
    pl.add_argument("model", help=".tflite file")
    pl.add_argument("--board", default="stm32f746", help="stm32f746, stm32f469 or stm32f469-paper")
    pl.add_argument("--sram-budget", default=None, help="bytes, e.g. 128K (default: the board's budget)")
    add_weights_in(pl)
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=cmd_plan)

    # Firmware commands (new-project, export, emulate) live beside the exporter.
    from . import firmware as cli_firmware

    cli_firmware.register(sub)
    from . import estimate as cli_estimate

    cli_estimate.register(sub)
    from . import paper as cli_paper

    cli_paper.register(sub)
    from . import report as cli_report

    cli_report.register(sub)
    from . import explore as cli_explore
    from . import zoo as cli_zoo

    cli_zoo.register(sub)
    cli_explore.register(sub)
    from . import pipeline as cli_pipeline  # build-net, train, quantize, evaluate

    cli_pipeline.register(sub)
    from . import cycles as cli_cycles

    cli_cycles.register(sub)
    return p


def _hint(err: BaseException, args) -> str:
    """One line on what to try next, for the errors that have an obvious fix."""
    from ..errors import BudgetError

    if isinstance(err, BudgetError) and hasattr(args, "sram_budget"):
        now = f" (now {args.sram_budget})" if getattr(args, "sram_budget", None) else ""
        return (
            f"hint: give the engine more internal SRAM with --sram-budget{now}, "
            "e.g. --sram-budget 128K, up to the board's SRAM minus what the firmware needs"
        )
    return ""


def main(argv: list[str] | None = None) -> int:
    from . import progress
    from .util import exit_code_for

    args = build_parser().parse_args(argv)
    want_json = getattr(args, "json", False)
    try:
        if want_json:  # stdout carries one JSON document, nothing else
            with progress.disabled():
                return args.func(args)
        return args.func(args)
    except (TinyOpsError, ValueError, NotImplementedError, OSError) as err:
        code = exit_code_for(err)
        hint = _hint(err, args)
        print(f"tinyops: error: {err}" + (f"\n{hint}" if hint else ""), file=sys.stderr)
        if want_json:
            print_json(
                {
                    "ok": False,
                    "error": str(err),
                    "error_type": type(err).__name__,
                    "hint": hint or None,
                    "exit_code": code,
                }
            )
        return code
    except KeyboardInterrupt:
        print("tinyops: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
