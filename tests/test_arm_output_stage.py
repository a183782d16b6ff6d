"""The output stage of the Arm DSP convolution kernels
(csrc/kernels/arm/output_stage.h: requantization, output offset and the
fused activation clamp folded into SMMLAR / QADD / SSAT), checked on the host:
tests/cpp/output_stage_harness.cc instantiates the very formulas over portable
emulations of the instructions and compares them with TFLM's generic stage
for thousands of parameter sets (multipliers from random scales and raw ones
with every right shift, random offsets, every kind of activation range) and
accumulators at the int32 extremes, of every magnitude, and around every
output value's rounding boundaries. Built with g++ (plus a UBSan build).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

def test_output_stage_exhaustive_vs_reference():
    """arm/output_stage.h (the DSP kernels' requantization) over emulated
    instructions vs TFLM's generic stage (tests/cpp/output_stage_harness.cc)."""
    line = _run_harness(_compile_harness(["-O2"], "o2"), 3000)
    print("\n" + line)
    fields = dict(kv.split("=") for kv in line.split()[1:])
    for k in ("high", "range", "plain", "high_full_range", "refused"):
        assert int(fields[k]) > 0, line


def test_output_stage_ubsan():
    try:
        exe = _compile_harness(["-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"], "ubsan")
    except AssertionError as e:
        if "sanitize" in str(e) and ("cannot find" in str(e) or "libubsan" in str(e)):
            pytest.skip("no UBSan runtime")
        raise
    _run_harness(exe, 300)


ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "cpp" / "output_stage_harness.cc"


def _compile_harness(extra: list[str], tag: str) -> Path:
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not found (needed to build the output-stage harness)")
    srcs = [HARNESS, ROOT / "csrc" / "kernels" / "quant.cc"]
    h = hashlib.sha256()
    for p in [*srcs, *(ROOT / "csrc" / "kernels").glob("*.h"),
              *(ROOT / "csrc" / "kernels" / "arm").glob("*.h"),
              *(ROOT / "csrc" / "include" / "tinyops").glob("*.h")]:
        h.update(p.read_bytes())
    h.update(" ".join(extra).encode())
    out = Path(tempfile.gettempdir()) / f"tinyops-out-stage-{tag}-{h.hexdigest()[:16]}"
    if not out.exists():
        tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
        cmd = [gxx, "-std=c++17", "-Wall", "-Wextra", *extra, f"-I{ROOT / 'csrc' / 'include'}",
               f"-I{ROOT / 'csrc'}", *map(str, srcs), "-o", str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"harness build failed:\n{' '.join(cmd)}\n{r.stderr}"
        os.replace(tmp, out)
    return out


def _run_harness(exe: Path, iters: int) -> str:
    r = subprocess.run([str(exe), str(iters)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{exe.name}: {r.stdout}{r.stderr}"
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith("OK"), r.stdout
    return line
