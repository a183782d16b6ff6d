"""The engine as installed (portable build, x86 kernels chosen at run time)
against the same source built with -march=native (TINYOPS_NATIVE=ON).

Both are timed in child processes, alternating engine after engine for
several rounds so load from other processes hits both alike; each child runs
one interpreter for `runs` inferences after warm-up and reports its median
and its fastest inference. The ratio is taken per round (the two children of
a round ran back to back, under about the same load) and its median over the
rounds reported, for the medians and for the fastest inferences (the
latter is the least disturbed by other processes on a shared machine).
Used by host_speed.py --compare-native.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
from tinyops_tflm import Interpreter
from tinyops_tflm.runtime import engine
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.validation.compare import make_inputs
data = open(sys.argv[2], "rb").read()
graph = read_model(data)
x = make_inputs(graph, 1, seed=0)[0]
interp = Interpreter(graph)
interp.set_input(x[0], 0)
for _ in range(3):
    interp.invoke()
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    interp.invoke()
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(json.dumps({"ms": times[len(times) // 2], "min_ms": times[0], "isa": engine.isa(),
                  "out": interp.get_output(0).tobytes().hex()}))
"""


def build_native(build_dir: Path) -> Path:
    """Configure and build the extension with -march=native (incremental)."""
    import pybind11

    subprocess.run(
        [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(build_dir),
            "-G",
            "Ninja",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            "-DTINYOPS_NATIVE=ON",
            "-DTINYOPS_TFLM_HOST=OFF",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(["cmake", "--build", str(build_dir), "-j2"], check=True, stdout=subprocess.DEVNULL)
    (core,) = build_dir.glob("_core*.so")
    return core


def _time_once(model: Path, runs: int, core: Path | None) -> dict:
    env = dict(os.environ)
    if core is not None:
        env["TINYOPS_CORE"] = str(core)
    res = subprocess.run(
        [sys.executable, "-P", "-c", _CHILD, "", str(model), str(runs)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"timing child failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def compare(model: Path, native_core: Path, runs: int, rounds: int) -> dict:
    """Alternating timings of the current engine and `native_core`."""
    ours: list[dict] = []
    native: list[dict] = []
    for _ in range(rounds):
        ours.append(_time_once(model, runs, None))
        native.append(_time_once(model, runs, native_core))
    return {
        "portable_ms": statistics.median(r["ms"] for r in ours),
        "native_ms": statistics.median(r["ms"] for r in native),
        "portable_min_ms": min(r["min_ms"] for r in ours),
        "native_min_ms": min(r["min_ms"] for r in native),
        "ratio_median": statistics.median(o["ms"] / n["ms"] for o, n in zip(ours, native)),
        "ratio_min": statistics.median(o["min_ms"] / n["min_ms"] for o, n in zip(ours, native)),
        "isa": ours[0]["isa"],
        "same_output": all(r["out"] == ours[0]["out"] for r in ours + native),
    }
