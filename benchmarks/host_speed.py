"""Host speed of one int8 inference of MobileNetV3-Large a1.0 r160.

Times, in the same run and on the same input, single-threaded:
  tinyops (unpartitioned host Interpreter), the pinned tflite-micro
  interpreter (the golden oracle), LiteRT with reference kernels, LiteRT
  optimized kernels without XNNPACK and LiteRT default (XNNPACK); prints the
  median of several runs after warm-up and the ratios. Also checks that the
  tinyops output equals tflite-micro's byte for byte.

  --compare-native also builds this checkout with -march=native
  (TINYOPS_NATIVE=ON, into --native-build) and times that engine against the
  one in use (the portable build: x86 kernels chosen at run time, see
  engine.isa()), alternating child processes for --rounds rounds; the
  target is portable within 10 % of native.

    python benchmarks/host_speed.py [--model M.tflite] [--runs 15] [--compare-native]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from timing import median_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help=".tflite (default: zoo mobilenet_v3_large_r160)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument(
        "--compare-native",
        action="store_true",
        help="also time a -march=native build of this checkout against this engine",
    )
    ap.add_argument(
        "--native-build", default=None, help="build directory for --compare-native (default: <cache>/native-build)"
    )
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds for --compare-native")
    args = ap.parse_args()

    from tinyops_tflm import Interpreter
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.validation.compare import make_inputs

    if args.model:
        data = open(args.model, "rb").read()
        label = args.model
    else:
        from tinyops_tflm.validation import zoo

        data = zoo.cached("mobilenet_v3_large_r160")
        label = "MobileNetV3-Large a1.0 r160 int8 (zoo, random weights)"
    graph = read_model(data)
    x = make_inputs(graph, 1, seed=0)[0]
    results: dict[str, float] = {}

    ours = Interpreter(graph)
    ours.set_input(x[0], 0)
    results["tinyops"] = median_ms(ours.invoke, args.runs)
    ours.invoke()
    y_ours = ours.get_output(0)

    from tflite_micro import runtime

    tflm = runtime.Interpreter.from_bytes(data, arena_size=8 << 20)

    def tflm_run():
        tflm.set_input(x[0], 0)  # TFLM may reuse the input buffer during invoke
        tflm.invoke()

    results["tflite-micro"] = median_ms(tflm_run, max(3, args.runs // 3))
    tflm_run()
    y_tflm = tflm.get_output(0)

    try:
        from ai_edge_litert.interpreter import Interpreter as LiteRT
        from ai_edge_litert.interpreter import OpResolverType

        variants = {
            "LiteRT reference": OpResolverType.BUILTIN_REF,
            "LiteRT optimized (no XNNPACK)": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            "LiteRT default (XNNPACK)": OpResolverType.AUTO,
        }
        for name, resolver in variants.items():
            lite = LiteRT(model_content=data, experimental_op_resolver_type=resolver, num_threads=1)
            lite.allocate_tensors()
            lite.set_tensor(lite.get_input_details()[0]["index"], x[0])
            results[name] = median_ms(lite.invoke, args.runs)
    except ImportError as err:
        print(f"(LiteRT not installed: {err}; skipping its timings)")

    exact = np.array_equal(y_ours, y_tflm)
    print(f"host speed, {label}: median of {args.runs} single-thread inferences after warm-up")
    base = results["tinyops"]
    for name, ms in results.items():
        print(
            f"  {name:<32} {ms:8.2f} ms   tinyops is {ms / base:6.2f}x faster"
            if name != "tinyops"
            else f"  {name:<32} {ms:8.2f} ms"
        )
    print(
        f"  speed-up over tflite-micro: {results['tflite-micro'] / base:.2f}x (target >= 8x); "
        f"output {'bit-exact' if exact else 'DIFFERENT'} vs tflite-micro"
    )
    if args.compare_native:
        exact = _compare_native(args, data) and exact
    return 0 if exact else 1


def _compare_native(args, data: bytes) -> bool:
    import tempfile
    from pathlib import Path

    import native_compare

    from tinyops_tflm.runtime import engine
    from tinyops_tflm.validation import zoo

    build = Path(args.native_build) if args.native_build else zoo.default_cache_dir().parent / "native-build"
    print(f"building the -march=native engine in {build} ...", flush=True)
    core = native_compare.build_native(build)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.tflite"
        model.write_bytes(data)
        r = native_compare.compare(model, core, args.runs, args.rounds)
    print(
        f"portable vs -march=native (measured, this host, alternating child processes, "
        f"{args.rounds} rounds x {args.runs} inferences):"
    )
    print(
        f"  portable engine (kernels: {r['isa']}, of {', '.join(engine.supported_isas())}): "
        f"{r['portable_ms']:.2f} ms median of round medians, {r['portable_min_ms']:.2f} ms fastest"
    )
    print(
        f"  -march=native build of this checkout:  "
        f"{r['native_ms']:.2f} ms median of round medians, {r['native_min_ms']:.2f} ms fastest"
    )
    print(
        f"  portable / native, median over rounds of the paired ratio: {r['ratio_median']:.3f} "
        f"of medians, {r['ratio_min']:.3f} of fastest inferences (target <= 1.10); outputs "
        f"{'identical' if r['same_output'] else 'DIFFERENT'}"
    )
    return r["same_output"]


if __name__ == "__main__":
    raise SystemExit(main())
