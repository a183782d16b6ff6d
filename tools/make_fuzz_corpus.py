#!/usr/bin/env python3
"""Regenerate tests/fuzz_corpus/, the seeds of the reader and plan-loader fuzzing.

Model seeds of several families, all small: the bundled demo CNN, single-op
models of every supported operator (tinyops_tflm.testing.single_op, fixed
seeds), and a merged multi-op model. Plan seeds (``*.plan``: plan bytes, then
the contents of its constant regions; tinyops_tflm.testing.fuzz.PLAN_SEEDS): the
demo unpartitioned and partitioned for a board, and small single-op plans.
Fuzz runs replace the stored plans by fresh ones of the current planner;
regenerate after a plan-format change to keep the stored ones current.

    python tools/make_fuzz_corpus.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One small instance per builder: (builder, parameters pinning a small shape).
SINGLE_OPS = {
    "conv2d": {"input_shape": (1, 6, 6, 3), "out_channels": 4},
    "depthwise_conv2d": {"input_shape": (1, 6, 6, 4)},
    "fully_connected": {},
    "add": {},
    "mul": {},
    "average_pool_2d": {},
    "max_pool_2d": {},
    "mean": {},
    "hard_swish": {},
    "logistic": {},
    "leaky_relu": {},
    "softmax": {},
    "pad": {},
    "reshape": {},
    "squeeze": {},
    "concatenation": {},
    "strided_slice": {},
    "pack": {},
    "quantize": {},
    "shape": {},
}


def _single(name: str, params: dict, seed: int) -> bytes:
    import numpy as np

    from tinyops_tflm.testing import single_op

    builder = single_op.BUILDERS[name]
    try:
        return builder(np.random.default_rng(seed), **params)[0]
    except TypeError:  # a parameter this builder does not take: its own random small case
        return builder(np.random.default_rng(seed))[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "fuzz_corpus")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tinyops_tflm.testing.fuzz import plan_seeds, run_input
    from tinyops_tflm.testing.merge import merge_models

    seeds: dict[str, bytes] = {}
    demo = (ROOT / "tinyops_tflm" / "data" / "demo_tiny.tflite").read_bytes()
    seeds["model_demo_tiny.tflite"] = demo
    for k, (name, params) in enumerate(SINGLE_OPS.items()):
        seeds[f"model_{name}.tflite"] = _single(name, params, seed=k)
    seeds["model_merged.tflite"] = merge_models(
        [seeds["model_conv2d.tflite"], seeds["model_add.tflite"], seeds["model_softmax.tflite"]]
    )
    seeds.update(plan_seeds(seeds))

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.iterdir():
        old.unlink()
    for name, data in sorted(seeds.items()):
        run_input(data)  # every seed is valid: it runs end to end
        (args.out / name).write_bytes(data)
    total = sum(len(d) for d in seeds.values())
    print(f"{len(seeds)} seeds, {total} bytes in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
