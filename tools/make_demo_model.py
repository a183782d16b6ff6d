#!/usr/bin/env python3
"""Regenerate tinyops_tflm/data/demo_tiny.tflite, the project's bundled default model.

It is ``tinyops_tflm.validation.zoo.build("demo_tiny", seed=0)``: a 64x64x3 int8 CNN of the
MobileNetV3 block grammar with random (seeded) weights and calibrated
BatchNorm, converted by the TFLite converter (needs TensorFlow).  The bytes
are deterministic for a given TensorFlow version.  After writing, the model
is run once in the pinned tflite-micro interpreter (out of process) as a check.

    python tools/make_demo_model.py [--seed N] [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "tinyops_tflm" / "data" / "demo_tiny.tflite")
    args = ap.parse_args(argv)

    import numpy as np

    from tinyops_tflm.validation import zoo
    from tinyops_tflm.validation.oracle import run_tflm

    t0 = time.perf_counter()
    data = zoo.build("demo_tiny", seed=args.seed)
    built = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)

    rng = np.random.default_rng(0)
    x = rng.integers(-128, 127, size=(1, 64, 64, 3), endpoint=True, dtype=np.int8)
    ((out,),) = run_tflm(data, [[x]])
    print(
        f"wrote {args.out} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}, built in {built:.1f} s)"
    )
    print(f"ops: {zoo.op_counts(data)}")
    print(f"tflite-micro output for a random input: {out.ravel().tolist()}")
    if len(np.unique(out)) < 4:
        print("error: degenerate output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
