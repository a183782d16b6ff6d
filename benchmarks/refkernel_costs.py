"""CMSIS-NN kernel costs on Cortex-M4 / Cortex-M7, measured in QEMU, fitted per kernel class.

    python benchmarks/refkernel_costs.py measure --cmsis-nn PATH [--cmsis-core PATH]
                                                [--cores cortex-m4 cortex-m7] [--opt -O3]
    python benchmarks/refkernel_costs.py fit
    python benchmarks/refkernel_costs.py selftest

`measure` builds, out of tree (in --build-dir, default a temporary folder),
one bare-metal semihosted program per core from the user's CMSIS-NN checkout
(never downloaded, never copied into this repository) and our own driver
(benchmarks/refkernels/: bench_main.c + cmsis_calls.c), runs it under QEMU
(mps2-an386 = Cortex-M4F, mps2-an500 = Cortex-M7) and records, per kernel
call, the guest count between the two marker calls that bracket it: cycles
of the project's QEMU cycle model (`tinyops cycles`) when it is available,
else executed instructions (the project's TCG plugin). The shapes
(refkernel_shapes.py) are layers of MobileNetV2/V3, MCUNet, ProxylessNAS and
MNASNet at 80-224 px, each at a few sizes; all tensors live in the data RAM
at 0x20000000 (the boards' internal SRAM). The calls are the ones TFLM's
CMSIS-NN port makes for int8 models: the conv / depthwise wrappers (whose
choice of kernel is recorded through link-time trampolines), the fully
connected, elementwise add / mul and average pool kernels. CMSIS-NN at HEAD
needs only its own headers; versions up to 2022 need CMSIS-Core's
cmsis_compiler.h (--cmsis-core: a CMSIS_5 or CMSIS_6 checkout).
Rows go to benchmarks/data/refkernel_measurements.csv (committed).

`fit` fits, per core and kernel class, non-negative coefficients of

    count = a * MACs + b * output elements + c * input elements + d per call

(relative least squares: each row weighted by 1 / count, so small layers
count as much as large ones), prints each shape's fit error and writes
tinyops_tflm/data/refkernel_costs.json. MACs, output and input elements are
counted as tinyops_tflm.frontend.metrics.op_macs / tinyops_tflm.planning.latency.op_features do
(ADD / MUL: MACs = output elements; input elements = non-constant inputs).

`selftest` builds and runs the driver with a stub kernel layer of our own
(benchmarks/refkernels/stub_calls.c), no CMSIS-NN, and fits it: what the test
suite runs.

This file is the command line; the harness is beside it:
refkernel_shapes.py (the calls and kernel classes), refkernel_build.py
(library, driver, trampolines, linker script), refkernel_run.py (QEMU and
the markers) and refkernel_fit.py (the fit).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from refkernel_build import CORES, SRC, build_library, build_program, include_dirs, toolchain
from refkernel_fit import MEASUREMENTS, fit_table, read_rows
from refkernel_run import run_program
from refkernel_shapes import CLASSES, HarnessError, selftest_shapes, shapes

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLE = ROOT / "tinyops_tflm" / "data" / "refkernel_costs.json"


def _git_commit(path: Path) -> str:
    p = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "unknown"


def _model_commit() -> str:
    """The last commit of this checkout that changed the cycle model (its version)."""
    p = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "log",
            "-1",
            "--format=%h",
            "--",
            "ports/common/qemu_plugin",
            "tinyops_tflm/planning/board_timing.py",
            "tinyops_tflm/planning/timing_model.py",
            "tinyops_tflm/planning/dma_rates.py",
            "tinyops_tflm/firmware/cycles.py",
            "tinyops_tflm/firmware/emulate.py",
            "tinyops_tflm/firmware/qemu.py",
            "tinyops_tflm/firmware/builds.py",
        ],
        capture_output=True,
        text=True,
    )
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"


def _write_rows(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def measure(args) -> int:
    cmsis_nn = Path(args.cmsis_nn).resolve()
    if not (cmsis_nn / "Include" / "arm_nnfunctions.h").is_file():
        raise HarnessError(f"--cmsis-nn {cmsis_nn}: no Include/arm_nnfunctions.h")
    inc = include_dirs(
        cmsis_nn,
        Path(args.cmsis_core).resolve() if args.cmsis_core else None,
        Path(args.cmsis_dsp).resolve() if args.cmsis_dsp else None,
    )
    tc = toolchain()
    commit = args.commit or _git_commit(cmsis_nn)
    project = _model_commit()
    label = args.label or f"cmsis-nn-{commit[:8]}"
    build_root = Path(args.build_dir or tempfile.mkdtemp(prefix="cmsis-nn-costs-"))
    shape_list = shapes()
    if args.limit:
        shape_list = shape_list[: args.limit]
    new = []
    for name in args.cores:
        core = CORES[name]
        build = build_root / name
        print(f"{name}: building CMSIS-NN {label} ({commit[:12]}) {args.opt} ...", flush=True)
        lib, failed = build_library(cmsis_nn, inc, core, args.opt, build, tc, args.jobs)
        if failed:
            print(
                f"  {len(failed)} sources did not compile (unused legacy kernels?): "
                + ", ".join(failed[:8])
                + (" ..." if len(failed) > 8 else "")
            )
        elf = build_program(core, shape_list, build, tc, args.opt, [SRC / "cmsis_calls.c"], inc, [lib])
        print(f"  running {len(shape_list)} kernel calls on {core.machine} ...", flush=True)
        m = run_program(elf, core, len(shape_list), args.counter)
        for s, c, ks, ex in zip(shape_list, m.counts, m.kernels, m.extra or [{}] * len(shape_list)):
            new.append(
                {
                    "variant": label,
                    "cmsis_nn_commit": commit,
                    "cmsis_nn_date": args.date or "",
                    "core": name,
                    "opt": args.opt,
                    "compiler": tc.version,
                    "counter": m.counter,
                    "cycle_model_commit": project,
                    "class": s.cls,
                    "kernel": "+".join(ks),
                    "shape": s.label(),
                    "kind": s.kind,
                    "ih": s.ih,
                    "iw": s.iw,
                    "ic": s.ic,
                    "oc": s.oc,
                    "kh": s.kh,
                    "kw": s.kw,
                    "stride": s.stride,
                    "ph": s.ph,
                    "pw": s.pw,
                    "oh": s.oh,
                    "ow": s.ow,
                    "macs": s.macs,
                    "out_elems": s.out_elems,
                    "in_elems": s.in_elems,
                    "calls": 1,
                    "count": c,
                    **ex,
                }
            )
        print(f"  {m.counter}: {sum(m.counts):,} over {len(shape_list)} calls ({m.model})", flush=True)
    # Rows of other variants / cores already in the file are kept.
    out = Path(args.out)
    done = {(r["variant"], r["core"]) for r in new}
    old = [r for r in read_rows(out) if (r["variant"], r["core"]) not in done] if out.is_file() else []
    # Grouped by variant and core (stable: shapes stay in catalogue order).
    _write_rows(out, sorted(old + new, key=lambda r: (r["variant"], r["core"])))
    print(f"wrote {len(new)} rows ({len(old)} kept) to {out}")
    return 0


def _variant_table(rows: list[dict]) -> tuple[dict, dict, dict]:
    cores, stats = fit_table(rows)
    first = rows[0]
    meta = {
        "variant": first["variant"],
        "cmsis_nn_commit": first["cmsis_nn_commit"],
        "cmsis_nn_date": first.get("cmsis_nn_date", ""),
        "compiler": first["compiler"],
        "flags": {c: " ".join([*CORES[c].flags, first["opt"]]) for c in cores},
        "counter": first["counter"],
        "cycle_model_commit": first.get("cycle_model_commit", ""),
        "counter_meaning": (
            "CPU cycles of the project's QEMU cycle model (tinyops cycles; modelled, not measured on a board)"
            if first["counter"] == "cycles"
            else "executed guest instructions (QEMU TCG plugin), not cycles"
        ),
        "memory": "tensors, scratch and stack in internal SRAM (F469 SRAM1-3; F746 SRAM1+2 behind "
        "the D-cache, stack in DTCM), code in internal flash",
        "date": datetime.date.today().isoformat(),
        "measured_by": "benchmarks/refkernel_costs.py measure (QEMU mps2-an386 / mps2-an500)",
        "measurements": "benchmarks/data/refkernel_measurements.csv",
        "fit": "per core and class, non-negative least squares on relative error (rows weighted "
        "by 1/count); 'default' = all rows",
    }
    errors = {
        c: {
            k: {"shapes": s["shapes"], "mean_abs": s["mean_abs_err_pct"], "max_abs": s["max_abs_err_pct"]}
            for k, s in st.items()
        }
        for c, st in stats.items()
    }
    return meta, cores, {"errors": errors, "stats": stats}


def fit(args) -> int:
    rows = read_rows(Path(args.measurements))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    primary = args.primary or variants[0]
    if primary not in variants:
        raise HarnessError(f"--primary {primary}: not in the measurements ({', '.join(variants)})")
    out_variants = {}
    for v in variants:
        meta, cores, fitres = _variant_table([r for r in rows if r["variant"] == v])
        missing = [(c, k) for c in cores for k in CLASSES if k not in cores[c]]
        if missing:
            raise HarnessError(f"{v}: no measurements for {missing}")
        out_variants[v] = {"meta": meta, "cores": cores, "fit_error_pct": fitres["errors"]}
        print(f"\n=== {v}: CMSIS-NN {meta['cmsis_nn_commit'][:12]} {meta['cmsis_nn_date']}, {meta['compiler']}")
        for core, st in fitres["stats"].items():
            print(f"\n{core} ({meta['counter']} per call; fit error = (fit - measured) / measured)")
            print(
                f"  {'class':16s} {'shapes':>6s} {'per MAC':>8s} {'per out':>8s} {'per in':>8s} "
                f"{'per call':>9s} {'mean|err|':>9s} {'max|err|':>9s}"
            )
            for cls, s in st.items():
                c = cores[core][cls]
                print(
                    f"  {cls:16s} {s['shapes']:6d} {c['macs']:8.3f} {c['out_elems']:8.2f} "
                    f"{c['in_elems']:8.2f} {c['calls']:9.0f} {s['mean_abs_err_pct']:8.1f}% "
                    f"{s['max_abs_err_pct']:8.1f}%"
                )
            if args.verbose:
                for cls, s in st.items():
                    for label, kernel, count, err in s["per_shape"]:
                        print(f"    {cls:16s} {label:40s} {kernel:28s} {count:12,d} {err:+7.1f}%")
    table = {
        "version": 1,
        "description": "CMSIS-NN int8 kernel costs per kernel call: count = macs * MACs + "
        "out_elems * output elements + in_elems * input elements + calls, per core "
        "and kernel class (class names as tinyops_tflm.planning.latency.cost_class; MACs as "
        "tinyops_tflm.frontend.metrics.op_macs). Operands in internal SRAM: external-memory "
        "wait states are not included. 'cores' is the primary variant; 'variants' "
        "holds every measured CMSIS-NN version.",
        "primary": primary,
        "meta": out_variants[primary]["meta"],
        "cores": out_variants[primary]["cores"],
        "fit_error_pct": out_variants[primary]["fit_error_pct"],
        "variants": out_variants,
    }
    out = Path(args.out)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"\nwrote {out} (primary: {primary})")
    return 0


def selftest(args) -> int:
    """Stub kernels through the whole pipeline; prints the fit and checks it."""
    tc = toolchain()
    core = CORES[args.core]
    shape_list = selftest_shapes()
    with tempfile.TemporaryDirectory(prefix="cmsis-nn-selftest-") as tmp:
        elf = build_program(
            core, shape_list, Path(tmp), tc, "-O2", [SRC / "stub_calls.c", SRC / "stub_kernels.c"], [], []
        )
        m = run_program(elf, core, len(shape_list), counter="instructions")
    rows = [
        {
            "core": core.name,
            "class": s.cls,
            "shape": s.label(),
            "kernel": "+".join(k),
            "macs": s.macs,
            "out_elems": s.out_elems,
            "in_elems": s.in_elems,
            "calls": 1,
            "count": c,
        }
        for s, c, k in zip(shape_list, m.counts, m.kernels)
    ]
    cores, stats = fit_table(rows, classes=("fully_connected", "add"))
    print(
        json.dumps(
            {
                "rows": rows,
                "coefficients": cores[core.name],
                "max_abs_err_pct": {k: v["max_abs_err_pct"] for k, v in stats[core.name].items()},
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="build and run the kernels under QEMU, write the CSV")
    m.add_argument("--cmsis-nn", required=True, help="a CMSIS-NN checkout (Include/, Source/)")
    m.add_argument("--cmsis-core", help="CMSIS_5 / CMSIS_6 checkout (cmsis_compiler.h; CMSIS-NN <= v4)")
    m.add_argument("--cmsis-dsp", help="CMSIS-DSP checkout (arm_math_types.h; CMSIS-NN of 2021-22)")
    m.add_argument("--commit", help="CMSIS-NN commit to record (default: git rev-parse in --cmsis-nn)")
    m.add_argument("--date", help="the commit's date, recorded (e.g. 2021-12-29)")
    m.add_argument(
        "--label",
        help="variant name (default cmsis-nn-<commit>); rows of the same "
        "variant and core in --out are replaced, others kept",
    )
    m.add_argument("--cores", nargs="+", default=list(CORES), choices=list(CORES))
    m.add_argument("--opt", default="-O3", help="optimization flag (default -O3)")
    m.add_argument("--counter", default="auto", choices=("auto", "cycles", "instructions"))
    m.add_argument("--build-dir", help="out-of-tree build folder (default: a temporary one)")
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--limit", type=int, default=0, help="only the first N shapes (debugging)")
    m.add_argument("--out", default=str(MEASUREMENTS))
    f = sub.add_parser("fit", help="fit the CSV, write the cost table")
    f.add_argument("--measurements", default=str(MEASUREMENTS))
    f.add_argument("--out", default=str(TABLE))
    f.add_argument("--primary", help="variant whose table is 'cores' (default: the first in the CSV)")
    f.add_argument("-v", "--verbose", action="store_true", help="print every shape's error")
    s = sub.add_parser("selftest", help="stub kernels through build, QEMU and fit (no CMSIS-NN)")
    s.add_argument("--core", default="cortex-m4", choices=list(CORES))
    args = ap.parse_args(argv)
    try:
        return {"measure": measure, "fit": fit, "selftest": selftest}[args.cmd](args)
    except HarnessError as err:
        print(f"refkernel_costs: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
