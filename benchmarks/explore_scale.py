"""Throughput of `tinyops explore`: candidates per hour with 1 and 2 local
worker processes and on a private local Ray instance, in the same run.

Each configuration sweeps the same preset from an empty candidate cache (a
fresh output folder), so every candidate is built (or loaded), planned and
costed.  By default the models' .tflite files are built once beforehand and
shared (warm: what a repeated or resumed sweep costs; the TensorFlow build is
a one-time cost per model); ``--cold`` gives each configuration an empty model
cache so the builds are timed too.  Ray's time includes starting the
instance.  Ratios are against 1 local worker measured in this run.

    python benchmarks/explore_scale.py [--preset paper] [--cold] [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="paper", help="explore preset to sweep (paper: 40 candidates)")
    ap.add_argument("--cold", action="store_true", help="time the model builds too")
    ap.add_argument("--skip-ray", action="store_true", help="local workers only")
    args = ap.parse_args()

    from tinyops_tflm.workflow import explore as ex

    cands = ex.preset_candidates(args.preset)
    models = sorted({c.model for c in cands}, key=lambda m: m.name)
    print(
        f"explore throughput: preset {args.preset!r}, {len(cands)} candidates "
        f"({len(models)} models), {os.cpu_count()} CPUs, model builds "
        f"{'timed (cold cache)' if args.cold else 'cached beforehand (warm)'}"
    )
    if not args.cold:
        t0 = time.perf_counter()
        for m in models:
            ex._build(m, None)
        print(f"  (warm-up: models ready in {time.perf_counter() - t0:.1f} s)")

    configs = [("local, 1 worker", "local", 1), ("local, 2 workers", "local", 2)]
    if not args.skip_ray:
        configs.append(("Ray, 2 CPUs (local instance)", "ray", 2))
    base = None
    print(f"  {'configuration':<32} {'seconds':>8} {'candidates/hour':>16} {'vs 1 worker':>12}")
    for label, backend, workers in configs:
        with tempfile.TemporaryDirectory(prefix="explore-bench-") as d:
            cache = os.path.join(d, "models") if args.cold else None
            t0 = time.perf_counter()
            res = ex.run_sweep(
                cands, os.path.join(d, "out"), workers=workers, backend=backend, cache_dir=cache, progress=False
            )
            dt = time.perf_counter() - t0
        if res.failed:
            print(f"  {label}: {len(res.failed)} candidates failed, e.g. {res.failed[0]['error']}")
        rate = len(cands) / dt * 3600
        base = base or rate
        print(f"  {label:<32} {dt:8.1f} {rate:16.0f} {rate / base:11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
