"""Fitting refkernel_costs.py's measurements: per core and kernel class,
non-negative coefficients of MACs, output and input elements and calls
(relative least squares), from the committed CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from refkernel_shapes import CLASSES

MEASUREMENTS = Path(__file__).resolve().parent / "data" / "refkernel_measurements.csv"
FEATURES = ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights")
# Features fitted per class where some are proportional to others (the split
# between them would be arbitrary): elementwise ops have MACs = outputs =
# inputs / 2; 3x3 depthwise and the 3x3 RGB stems have MACs = 9 (27) x
# outputs, so their per-output cost is folded into the per-MAC one; pools
# have no per-input term beside their window taps (MACs).
# The GEMMs behind 1x1 conv and FC take output pixels two at a time; an odd
# pixel count sends one pixel down a slower leftover loop over every weight:
# odd_pixel_weights = weight elements when the call's pixel count is odd
# (tinyops_tflm.planning.latency.op_features computes the same).
CLASS_FEATURES = {
    "conv_1x1": ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights"),
    "fully_connected": ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights"),
    "default": ("macs", "out_elems", "in_elems", "calls"),
    "add": ("out_elems", "calls"),
    "mul": ("out_elems", "calls"),
    "depthwise_3x3": ("macs", "in_elems", "calls"),
    "conv_stem": ("macs", "in_elems", "calls"),
    "average_pool_2d": ("macs", "out_elems", "calls"),
}


def fit_class(rows: list[dict], feats: tuple[str, ...]) -> tuple[dict[str, float], list[float]]:
    """Coefficients of `feats` (relative NNLS) and each row's error in percent."""
    a = np.array([[float(r.get(f) or 0.0) for f in feats] for r in rows])
    y = np.array([float(r["count"]) for r in rows])
    wgt = 1.0 / np.maximum(y, 1.0)
    # Columns scaled to unit norm for conditioning; unscaled afterwards.
    aw = a * wgt[:, None]
    scale = np.linalg.norm(aw, axis=0)
    scale[scale == 0] = 1.0
    from tinyops_tflm.planning.fitting import nnls

    x = nnls(aw / scale, y * wgt) / scale
    pred = a @ x
    err = list(100.0 * (pred - y) / y)
    coef = {f: 0.0 for f in FEATURES}
    coef.update({f: float(v) for f, v in zip(feats, x)})
    return coef, err


def read_rows(path: Path = MEASUREMENTS) -> list[dict]:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["odd_pixel_weights"] = odd_pixel_weights(r)
    return rows


def odd_pixel_weights(r: dict) -> float:
    """Weight elements of a 1x1 conv / FC call with an odd output pixel count."""
    if r["class"] not in ("conv_1x1", "fully_connected"):
        return 0.0
    pixels = int(r["oh"] or 1) * int(r["ow"] or 1) if r["class"] == "conv_1x1" else 1
    return float(int(r["ic"]) * int(r["oc"])) if pixels % 2 else 0.0


def fit_table(rows: list[dict], classes=CLASSES) -> tuple[dict, dict]:
    """Per core: {class: coefficients} (+ 'default' fitted on every row), and
    per core/class the fit statistics and per-shape errors."""
    cores: dict[str, dict] = {}
    stats: dict[str, dict] = {}
    for core in sorted({r["core"] for r in rows}):
        crow = [r for r in rows if r["core"] == core]
        cores[core], stats[core] = {}, {}
        for cls in [*classes, "default"]:
            sel = crow if cls == "default" else [r for r in crow if r["class"] == cls]
            if not sel:
                continue
            coef, err = fit_class(sel, CLASS_FEATURES.get(cls, FEATURES))
            cores[core][cls] = {k: round(v, 6) for k, v in coef.items()}
            e = np.abs(err)
            stats[core][cls] = {
                "shapes": len(sel),
                "mean_abs_err_pct": round(float(e.mean()), 2),
                "max_abs_err_pct": round(float(e.max()), 2),
                "per_shape": [
                    (r["shape"], r.get("kernel", ""), int(r["count"]), round(v, 2)) for r, v in zip(sel, err)
                ],
            }
    return cores, stats
