"""The `tinyops` command line."""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from importlib import resources

from .errors import TinyOpsError


def demo_model_path() -> str:
    return str(resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite")


def _summary(graph) -> str:
    ops = Counter(op.name for op in graph.operators)
    weights = sum(t.nbytes for t in graph.tensors if t.is_constant)
    ins = ", ".join(f"{list(graph.tensors[t].shape)} {graph.tensors[t].dtype.name}" for t in graph.inputs)
    outs = ", ".join(f"{list(graph.tensors[t].shape)} {graph.tensors[t].dtype.name}" for t in graph.outputs)
    op_list = ", ".join(f"{n} x{c}" for n, c in ops.most_common())
    return (f"  {len(graph.operators)} ops ({op_list})\n"
            f"  {weights / 1024:.1f} KiB of constants; inputs {ins}; outputs {outs}")


def cmd_validate(args) -> int:
    from .validation import validate
    report = validate(args.model, num_inputs=args.inputs, seed=args.seed)
    print(report)
    if report.oracle_seconds:
        print(f"  time: tinyops {report.engine_seconds * 1e3 / max(1, len(report.cases)):.2f} ms/inference"
              f" (oracle run incl. subprocess start {report.oracle_seconds:.2f} s)")
    return 0 if report.ok else 1


def cmd_demo(args) -> int:
    from .interpreter import Interpreter
    from .reader import read_model_file
    from .validation import make_inputs, validate

    path = args.model or demo_model_path()
    print(f"tinyops demo: {path}")
    graph = read_model_file(path)
    print(_summary(graph))
    interp = Interpreter(graph)
    print(f"  engine: arena {interp.written.arena_bytes / 1024:.1f} KiB, "
          f"scratch {interp._engine.scratch_bytes / 1024:.1f} KiB")
    x = make_inputs(graph, 1, args.seed)[0]
    interp.run(*x)
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        interp.run(*x)
    ms = (time.perf_counter() - t0) * 1e3 / reps
    print(f"  host inference: {ms:.2f} ms")
    print()
    report = validate(path, num_inputs=args.inputs, seed=args.seed)
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

    d = sub.add_parser("demo", help="run and validate the bundled demo model")
    d.add_argument("--model", default=None, help="a .tflite file instead of the bundled model")
    d.add_argument("--inputs", type=int, default=4)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_demo)

    # Firmware commands (export, emulate) live beside the exporter.
    try:
        from . import cli_firmware
    except ImportError:
        cli_firmware = None
    if cli_firmware is not None:
        cli_firmware.register(sub)
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
