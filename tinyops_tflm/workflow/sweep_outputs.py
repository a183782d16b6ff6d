"""The sweep's results: the Pareto front per board, ``explore.json`` and
``explore.csv`` (written atomically, like the candidate cache), the plot, and
reading a user's accuracy CSV."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..atomic_file import write_atomically


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For (latency, score) points: True where no other point is at least as
    fast and at least as good, and strictly better in one."""
    out = []
    for i, (li, si) in enumerate(points):
        dominated = any(lj <= li and sj >= si and (lj < li or sj > si) for j, (lj, sj) in enumerate(points) if j != i)
        out.append(not dominated)
    return out


def _mark_pareto(records: list[dict]) -> None:
    """Per board, over the feasible candidates with a latency: latency vs
    top-1 when every one has a known accuracy, else vs MACs (a proxy)."""
    for r in records:
        r["pareto"] = False
        r["pareto_metric"] = None
    for board in sorted({r["board"] for r in records}):
        pts = [
            r
            for r in records
            if r["board"] == board and r.get("latency_ms") is not None and r.get("feasible") and not r.get("error")
        ]
        if not pts:
            continue
        known = all(r.get("top1_pct") is not None for r in pts)
        metric = "top1_pct" if known else "macs"
        label = "top1_pct" if known else "macs (accuracy proxy: top-1 unknown for some candidates)"
        flags = pareto_front([(r["latency_ms"], float(r[metric])) for r in pts])
        for r, f in zip(pts, flags):
            r["pareto"] = bool(f)
        for r in records:
            if r["board"] == board:
                r["pareto_metric"] = label


CSV_FIELDS = [
    "board",
    "model",
    "schedule",
    "family",
    "width",
    "resolution",
    "depth",
    "macs",
    "params",
    "activation_bytes",
    "weight_bytes",
    "peak_sram",
    "flash_bytes",
    "external_bytes",
    "fits_internal",
    "feasible",
    "latency_ms",
    "top1_pct",
    "accuracy_source",
    "pareto",
    "pareto_metric",
    "latency_source",
    "note",
    "error",
    "weights_in",
]


def write_outputs(records: list[dict], out_dir: str | os.PathLike) -> None:
    """``explore.json`` (every field) and ``explore.csv`` (CSV_FIELDS) in ``out_dir``."""
    import io

    out = Path(out_dir)
    write_atomically(out / "explore.json", json.dumps(records, indent=1, sort_keys=True) + "\n")
    s = io.StringIO()
    w = csv.DictWriter(s, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for r in records:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})
    write_atomically(out / "explore.csv", s.getvalue())


def plot_pareto(records: list[dict], path: str | os.PathLike) -> None:
    """Latency vs top-1 (or MACs) per board, internal and tinyops schedules,
    the Pareto front joined by a line."""
    from ..plot_backend import pyplot

    plt = pyplot("the explore Pareto plot (or pass --no-plot)")

    boards = sorted({r["board"] for r in records})
    fig, axes = plt.subplots(1, max(1, len(boards)), figsize=(6 * max(1, len(boards)), 4.5), squeeze=False)
    styles = {"internal": ("s", "tab:blue"), "tinyops": ("o", "tab:red"), "original": ("^", "tab:green")}
    for ax, board in zip(axes[0], boards):
        pts = [
            r
            for r in records
            if r["board"] == board and r.get("latency_ms") is not None and r.get("feasible") and not r.get("error")
        ]
        metric = pts[0]["pareto_metric"] if pts else "top1_pct"
        key = "top1_pct" if metric == "top1_pct" else "macs"
        scale = 1.0 if key == "top1_pct" else 1e-6
        for sched, (marker, color) in styles.items():
            sel = [r for r in pts if r["schedule"] == sched]
            if not sel:
                continue
            # internal hollow and larger: where it is costed like tinyops the two coincide
            ax.scatter(
                [r["latency_ms"] for r in sel],
                [r[key] * scale for r in sel],
                marker=marker,
                s=90 if sched == "internal" else 30,
                facecolors="none" if sched == "internal" else color,
                edgecolors=color,
                label=sched,
            )
        front = sorted((r for r in pts if r["pareto"]), key=lambda r: r["latency_ms"])
        ax.plot([r["latency_ms"] for r in front], [r[key] * scale for r in front], "k--", lw=1, label="Pareto front")
        for r in front:
            ax.annotate(
                r["model"], (r["latency_ms"], r[key] * scale), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_title(board)
        ax.set_xlabel("latency, ms (modelled: tinyops_tflm.planning.latency / schedules)")
        ax.set_ylabel("ImageNet top-1, %" if key == "top1_pct" else "MACs, M (accuracy proxy)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def read_accuracy_csv(path: str | os.PathLike) -> dict[str, float]:
    """A user's accuracies: a CSV with columns ``model`` and ``top1`` (percent)."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"model", "top1"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: an accuracy CSV needs the columns 'model' and 'top1'")
            out = {}
            for i, row in enumerate(reader, start=2):
                try:
                    out[row["model"].strip()] = float(row["top1"])
                except (TypeError, ValueError):
                    raise ValueError(f"{path}:{i}: top1 {row.get('top1')!r} is not a number") from None
            return out
    except FileNotFoundError:
        raise ValueError(f"accuracy CSV {str(path)!r} not found") from None
