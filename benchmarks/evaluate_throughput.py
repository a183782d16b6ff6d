"""Throughput of `tinyops evaluate` on an int8 model, against tflite-micro.

Prints, measured in the same run on the same image set (drawn JPEGs of
--size pixels in 4 class folders, evaluation preprocessing to the model's
resolution, no result cache):
  - images/s of evaluate with 1 worker (in this process), 2 local worker
    processes, and Ray on a local 2-CPU cluster started here: over the whole
    call (worker start-up and TensorFlow import included), and after the
    first chunk's results arrived (steady state) - measured;
  - the time the pinned tflite-micro interpreter would need for the same
    inferences: measured on a sample of --tflm-sample images in one process
    (inference only, no decoding), then extrapolated linearly to the whole set
    - extrapolated, not measured.

The default model is the paper's headline MbV3 w1.00 r160 from the zoo
(random calibrated weights, so the accuracy it prints is meaningless; the
speed is the real model's).

    python benchmarks/evaluate_throughput.py [--model zoo-name-or.tflite] [--images 512]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mbv3-w1.00-r160", help="zoo model name or int8 .tflite")
    ap.add_argument("--images", type=int, default=512, help="images in the set (512)")
    ap.add_argument("--size", type=int, default=224, help="image side in pixels (224)")
    ap.add_argument("--tflm-sample", type=int, default=16, help="images run in tflite-micro (16)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray measurement")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np

    from tinyops_tflm.testing.shapes import write_dataset
    from tinyops_tflm.validation import zoo
    from tinyops_tflm.validation.oracle import run_tflm_batch
    from tinyops_tflm.workflow.eval_runner import Runner
    from tinyops_tflm.workflow.evaluate import evaluate, load_model_for_eval
    from tinyops_tflm.workflow.imagedata import load_eval_image

    with tempfile.TemporaryDirectory(prefix="tinyops_evalbench_") as tmp:
        tmp = Path(tmp)
        if args.model.endswith(".tflite"):
            model = Path(args.model)
        else:
            model = tmp / f"{args.model}.tflite"
            model.write_bytes(zoo.cached(args.model))
        per_class = max(1, args.images // 4)
        data = write_dataset(tmp / "data", per_class=per_class, seed=0, size=args.size, fmt="jpg")
        n = 4 * per_class
        info = load_model_for_eval(model)
        print(
            f"evaluate throughput: {model.name} ({info.prep.resolution}x{info.prep.resolution} int8), "
            f"{n} JPEG images of {args.size}x{args.size}, {os.cpu_count()} CPUs"
        )

        rows = []
        for label, kw in (
            ("1 worker (in-process)", {"workers": 1}),
            ("2 local workers", {"workers": 2}),
            ("Ray, local 2-CPU cluster", {"backend": "ray", "workers": 2}),
        ):
            if kw.get("backend") == "ray" and args.no_ray:
                continue
            t0 = time.perf_counter()
            r = evaluate(model, data, cache_dir=False, progress=False, **kw)
            rows.append((label, time.perf_counter() - t0, r.steady_images_per_second or 0.0, r))
        ref = rows[0][3]
        for label, wall, steady, r in rows:
            same = (r.top1, r.top5, r.images) == (ref.top1, ref.top5, ref.images)
            print(
                f"  {label:26s} {wall:7.1f} s  {n / wall:6.1f} images/s overall, {steady:6.1f} images/s "
                f"after the first results at {r.first_result_seconds:.1f} s (measured; results "
                f"{'identical' if same else 'DIFFERENT'})"
            )

        # tflite-micro on a sample, inference only, then extrapolated
        k = max(2, min(args.tflm_sample, n))
        runner = Runner("int8", info.data, info.prep.to_dict(), worker=False)
        files = sorted(data.glob("*/*.jpg"))[:k]
        from tinyops_tflm.workflow.eval_runner import quantize_input

        xs = [
            quantize_input(load_eval_image(f.read_bytes(), info.prep), runner.scale, runner.zero_point)[None]
            for f in files
        ]
        t0 = time.perf_counter()
        run_tflm_batch([info.data], [[xs[0]]])
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_tflm_batch([info.data] * k, [[x] for x in xs])
        t_k = time.perf_counter() - t0
        per_image = max(t_k - t_one, 1e-9) / (k - 1)
        t_set = t_one + per_image * (n - 1)
        engine = []
        for x in xs:
            t0 = time.perf_counter()
            runner.interp.set_input(x, 0)
            runner.interp.invoke()
            engine.append(time.perf_counter() - t0)
        print(
            f"  tflite-micro, 1 process   {t_set:7.1f} s  {n / t_set:7.1f} images/s  (EXTRAPOLATED from "
            f"{k} images measured: {per_image * 1e3:.1f} ms/inference + {t_one - per_image:.1f} s "
            "start-up; inference only, no decoding)"
        )
        print(
            f"  engine inference alone: {np.median(engine) * 1e3:.1f} ms/image (measured, median of {k}); "
            f"tflite-micro {per_image * 1e3:.1f} ms/image -> {per_image / np.median(engine):.1f}x"
        )
        for label, wall, steady, _ in rows:
            print(
                f"  {label:26s} vs tflite-micro: {t_set / wall:5.2f}x faster for this set, "
                f"{steady * per_image:5.1f}x at steady state"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
