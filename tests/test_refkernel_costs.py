"""The committed CMSIS-NN kernel cost table and the harness that measures it.

* Always: tinyops_tflm/data/refkernel_costs.json has, for both cores and every
  variant, every kernel class plus 'default' with finite non-negative
  coefficients and its provenance (CMSIS-NN commit, compiler, flags, what
  the counts are); refitting the committed measurements
  (benchmarks/data/refkernel_measurements.csv) gives the committed
  coefficients, so neither was edited by hand or left stale; the schedules
  that consume it load it.
* With the Arm toolchain and QEMU: benchmarks/refkernel_costs.py builds and
  runs its driver with its own stub kernels (no CMSIS-NN: CI fetches
  nothing) on both cores; every call must report the kernel it reached
  through the link-time trampolines, counts must grow with the work, and the
  fit must recover the stub add's exactly linear cost.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tinyops_tflm" / "data" / "refkernel_costs.json"
CSV = ROOT / "benchmarks" / "data" / "refkernel_measurements.csv"
SCRIPT = ROOT / "benchmarks" / "refkernel_costs.py"
CORES = ("cortex-m4", "cortex-m7")
CLASSES = (
    "conv_1x1",
    "conv_kxk",
    "conv_stem",
    "depthwise_3x3",
    "depthwise_large",
    "fully_connected",
    "add",
    "mul",
    "average_pool_2d",
    "default",
)
COEFS = ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights")


def _harness():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import refkernel_costs
    finally:
        sys.path.pop(0)
    return refkernel_costs


def _check_cores(cores: dict, where: str) -> None:
    assert set(cores) == set(CORES), where
    for core in CORES:
        assert set(cores[core]) == set(CLASSES), f"{where} {core}"
        for cls, coef in cores[core].items():
            assert set(coef) == set(COEFS), f"{where} {core}/{cls}: {coef}"
            for k, v in coef.items():
                assert isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, f"{where} {core}/{cls}.{k} = {v!r}"
            # Every class costs something per unit of work.
            assert any(coef[k] > 0 for k in ("macs", "out_elems", "in_elems")), f"{where} {core}/{cls}"


def test_table_is_well_formed():
    t = json.loads(TABLE.read_text())
    _check_cores(t["cores"], "cores")
    assert t["primary"] in t["variants"]
    assert t["variants"][t["primary"]]["cores"] == t["cores"]
    for name, v in t["variants"].items():
        _check_cores(v["cores"], name)
        meta = v["meta"]
        assert re.fullmatch(r"[0-9a-f]{40}", meta["cmsis_nn_commit"]), name
        assert meta["counter"] in ("cycles", "instructions"), name
        assert meta["compiler"].startswith("arm-none-eabi-gcc"), name
        assert set(meta["flags"]) == set(CORES), name
        assert "-mcpu=cortex-m7" in meta["flags"]["cortex-m7"], name
        assert "-mcpu=cortex-m4" in meta["flags"]["cortex-m4"], name
        for core in CORES:
            for cls in CLASSES:
                err = v["fit_error_pct"][core][cls]
                assert err["shapes"] >= 2 and 0 <= err["mean_abs"] <= err["max_abs"], (name, core, cls)


def test_table_is_the_fit_of_the_committed_measurements():
    h = _harness()
    t = json.loads(TABLE.read_text())
    rows = h.read_rows(CSV)  # with the derived features the fit uses
    assert {r["variant"] for r in rows} == set(t["variants"])
    for name, v in t["variants"].items():
        sel = [r for r in rows if r["variant"] == name]
        assert {r["counter"] for r in sel} == {v["meta"]["counter"]}, name
        assert {r["cmsis_nn_commit"] for r in sel} == {v["meta"]["cmsis_nn_commit"]}, name
        cores, _ = h.fit_table(sel)
        # Compared by what the coefficients predict on every measured shape:
        # a class with few shapes can have several least-squares optima
        # (collinear features), and which one NNLS lands on depends on the
        # last bits of the BLAS in use.
        for core in CORES:
            for cls in CLASSES:
                crow = [r for r in sel if r["core"] == core and (cls == "default" or r["class"] == cls)]
                for r in crow:

                    def predict(coef):
                        return sum(coef[k] * float(r.get(k) or 0.0) for k in COEFS)

                    assert predict(cores[core][cls]) == pytest.approx(
                        predict(v["cores"][core][cls]), rel=1e-4, abs=1.0
                    ), (name, core, cls, r["shape"])


def test_schedules_load_the_table():
    from tinyops_tflm.planning import schedules

    schedules.cmsis_nn_table.cache_clear()
    t = schedules.cmsis_nn_table()
    for core in CORES:
        assert set(t["boards"][core]["classes"]) == set(CLASSES)


def _tools_or_skip() -> None:
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-nm", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found (the harness self-test needs the Arm toolchain and QEMU)")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no host C compiler for the QEMU plugin")


@pytest.mark.parametrize("core", CORES)
def test_harness_builds_and_runs_its_stub_kernels(core, tmp_path):
    _tools_or_skip()
    # The package as the test run imports it (installed, or PYTHONPATH of a
    # development build): the checkout alone has no engine built into it.
    env = {**os.environ, "TINYOPS_FW_CACHE": str(tmp_path / "fw")}
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "selftest", "--core", core], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    rows = out["rows"]
    fc = [x for x in rows if x["class"] == "fully_connected"]
    add = [x for x in rows if x["class"] == "add"]
    assert len(fc) >= 3 and len(add) >= 3
    # The trampolines saw exactly the kernel each call reaches.
    assert all(x["kernel"] == "stub_fc_s8" for x in fc), fc
    assert all(x["kernel"] == "stub_add_s8" for x in add), add
    # More work, more instructions (rows are in increasing MACs / elements).
    for group in (fc, add):
        counts = [x["count"] for x in group]
        assert counts == sorted(counts) and len(set(counts)) == len(counts), group
    # The stub add's loop is linear: the fit recovers it, with a per-element
    # cost a handful of instructions (load, load, add, shift, store, loop).
    coef = out["coefficients"]["add"]
    assert out["max_abs_err_pct"]["add"] < 1.0, out
    assert 3 <= coef["out_elems"] <= 20, coef
    assert 1 <= out["coefficients"]["fully_connected"]["macs"] <= 12, out
