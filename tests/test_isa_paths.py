"""Every x86 kernel level computes TFLM's bytes.

The engine picks its x86 SIMD kernels once per process, from CPUID and
TINYOPS_ISA (csrc/kernels/x86/dispatch.h), so each level runs in a child
process: random single-op CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD and
MUL models (channel counts around the vector widths included), MobileNetV3-
Large r160 from the zoo, and the demo model partitioned into a small SRAM
(tile entry points on channel sub-ranges) go through the tinyops Interpreter
there. The parent compares their outputs byte for byte with the pinned
tflite-micro interpreter, run once for all levels. A level this CPU lacks, and
a name that is no level, must be refused with IsaError (no crash).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyops_tflm.cli.app import demo_model_path
from tinyops_tflm.runtime import engine
from tinyops_tflm.testing import single_op
from tinyops_tflm.validation import zoo
from tinyops_tflm.validation.oracle import OracleError, run_tflm_batch

# Runs in the child: every case through the Interpreter; prints the level.
_CHILD = r"""
import sys, numpy as np
from tinyops_tflm import IsaError
from tinyops_tflm.runtime import engine
from tinyops_tflm.runtime.interpreter import Interpreter
src = sys.argv[1]
try:
    level = engine.isa()
except IsaError as err:
    print("IsaError:", err)
    sys.exit(3)
cases = np.load(src + "/cases.npz")
out = {}
for k in range(int(cases["n"])):
    model = open(f"{src}/m{int(cases[f'model{k}'])}.tflite", "rb").read()
    xs = [cases[f"x{k}_{j}"] for j in range(int(cases[f"nx{k}"]))]
    board = str(cases[f"board{k}"])
    interp = (Interpreter.from_bytes(model) if board == "" else
              Interpreter.from_bytes(model, board=board, sram_budget=int(cases[f"budget{k}"])))
    for j, y in enumerate(interp.run(*xs)):
        out[f"y{k}_{j}"] = y
np.savez(sys.argv[2], **out)
print("kernels:", level)
"""


def _single_op_cases(rng):
    """(model, inputs) pairs: random shapes plus channel counts that leave
    partial SIMD vectors (8 lanes AVX2, 16 AVX-512, 64-channel blocks)."""
    made = []
    for _ in range(30):
        made.append(single_op.conv2d(rng))
        made.append(single_op.depthwise_conv2d(rng))
    for _ in range(20):
        made.append(single_op.fully_connected(rng))
        made.append(single_op.add(rng))
        made.append(single_op.mul(rng))
    for c in (1, 7, 8, 9, 15, 16, 17, 33, 63, 64, 65, 70):
        made.append(single_op.conv2d(rng, input_shape=(1, 5, 6, c % 13 + 3), out_channels=c, kernel=1 if c % 2 else 3))
        made.append(
            single_op.depthwise_conv2d(rng, input_shape=(1, 6, 7, c), depth_multiplier=1, kernel=3 if c % 2 else 5)
        )
        made.append(single_op.fully_connected(rng, input_shape=(3, c * 3 + 1), units=c + 2))
    for n in (1, 15, 16, 17, 31, 64, 65, 130):
        made.append(single_op.add(rng, shape1=(1, 1, 2, n), shape2=(1, 1, 2, n)))
        made.append(single_op.mul(rng, shape1=(1, 3, 1, n), shape2=(1, 1, 1, n)))
        made.append(single_op.mul(rng, shape1=(1, 2, 2, n), shape2=(1,)))
    return [(m, single_op.random_inputs(meta, rng)) for m, meta in made]


def _zoo_inputs(graph, seed: int, n: int):
    rng = np.random.default_rng(seed)
    return [
        [rng.integers(-128, 128, size=graph.tensors[i].shape, dtype=np.int8) for i in graph.inputs] for _ in range(n)
    ]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """The cases on disk for the children, and TFLM's outputs for them."""
    from tinyops_tflm.frontend.reader import read_model

    rng = np.random.default_rng(20260712)
    cases = [(m, xs, "", 0) for m, xs in _single_op_cases(rng)]
    mbv3 = zoo.cached("mobilenet_v3_large_r160")
    cases += [(mbv3, xs, "", 0) for xs in _zoo_inputs(read_model(mbv3), 1, 2)]
    demo = Path(demo_model_path()).read_bytes()
    cases += [(demo, xs, "stm32f746", 32 * 1024) for xs in _zoo_inputs(read_model(demo), 2, 2)]

    refs = run_tflm_batch([c[0] for c in cases], [c[1] for c in cases])
    bad = [f"case {k}: {r}" for k, r in enumerate(refs) if isinstance(r, OracleError)]
    assert not bad, "tflite-micro rejected cases meant to be valid:\n" + "\n".join(bad[:10])

    src = tmp_path_factory.mktemp("isa_cases")
    models: dict[bytes, int] = {}
    arrays: dict[str, np.ndarray] = {"n": np.array(len(cases))}
    for k, (m, xs, board, budget) in enumerate(cases):
        if m not in models:
            models[m] = len(models)
            (src / f"m{models[m]}.tflite").write_bytes(m)
        arrays[f"model{k}"] = np.array(models[m])
        arrays[f"nx{k}"] = np.array(len(xs))
        arrays[f"board{k}"] = np.array(board)
        arrays[f"budget{k}"] = np.array(budget)
        for j, x in enumerate(xs):
            arrays[f"x{k}_{j}"] = x
    np.savez(src / "cases.npz", **arrays)
    return src, refs


def _run_child(src: Path, out: Path, isa: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYOPS_ISA": isa}
    return subprocess.run(
        [sys.executable, "-P", "-c", _CHILD, str(src), str(out)], capture_output=True, text=True, timeout=600, env=env
    )


@pytest.mark.parametrize("isa", engine.ISAS)
def test_every_level_is_bit_exact(suite, tmp_path, isa):
    src, refs = suite
    res = _run_child(src, tmp_path / "out.npz", isa)
    if isa not in engine.supported_isas():
        # Forcing a level this CPU lacks is refused, naming the missing feature.
        assert res.returncode == 3, res.stdout + res.stderr
        assert f"IsaError: TINYOPS_ISA={isa}, but this CPU (or OS) lacks" in res.stdout
        return
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert f"kernels: {isa}" in res.stdout
    got = np.load(tmp_path / "out.npz")
    failures = []
    for k, ref in enumerate(refs):
        for j, r in enumerate(ref):
            y = got[f"y{k}_{j}"]
            if y.shape != r.shape or y.tobytes() != r.tobytes():
                n = np.count_nonzero(y.reshape(-1) != r.reshape(-1)) if y.shape == r.shape else "all"
                failures.append(f"case {k} output {j}: {n} bytes differ")
    assert not failures, f"TINYOPS_ISA={isa}: {len(failures)} outputs differ from tflite-micro:\n" + "\n".join(
        failures[:15]
    )


def test_auto_picks_the_best_level(tmp_path):
    code = "from tinyops_tflm.runtime import engine; print(engine.isa(), ','.join(engine.supported_isas()))"
    for value in ("", "auto"):
        res = subprocess.run(
            [sys.executable, "-P", "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "TINYOPS_ISA": value},
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        level, supported = res.stdout.split()
        supported = supported.split(",")
        assert supported[0] == "portable" and set(supported) <= set(engine.ISAS)
        assert level == supported[-1]


def test_unknown_level_is_refused():
    code = (
        "from tinyops_tflm import Interpreter, IsaError\n"
        "from tinyops_tflm.cli.app import demo_model_path\n"
        "try:\n"
        "    Interpreter.from_file(demo_model_path())\n"
        "except IsaError as err:\n"
        "    print('IsaError:', err)\n"
    )
    res = subprocess.run(
        [sys.executable, "-P", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TINYOPS_ISA": "sse9"},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "IsaError: TINYOPS_ISA=sse9 is not a kernel level: use portable, avx2, avx512" in res.stdout
