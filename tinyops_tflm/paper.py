"""The TinyOps paper's latency table reproduced on the timing model.

For each row of the paper's model zoo (data/tinyops_model_zoo.csv) the row's
model is built from its published architecture and costed under the row's
own deployment (tinyops_tflm.schedules: ``original`` for the TinyOps rows,
``internal`` for the Internal rows). Each cost has three parts -- kernel
compute C (CMSIS-NN's measured costs), CPU external/flash memory cycles plus
exposed DMA X, and the number of ops N -- and per board three non-negative
parameters map them to the board:

    latency = (k_compute * C + k_memory * X + c_op * N) / f_clock

``k_compute`` is how much slower the paper's build of the kernels ran than
CMSIS-NN under our cycle model (compiler, flags, caches); ``k_memory`` scales
our external-memory timing (byte-wide DMA rate, SDRAM access cost) to the
board's; ``c_op`` is a fixed per-op cost (TFLM interpreter, HAL calls). They
are fitted by non-negative least squares on relative error over the board's
rows; the leave-one-out estimate of a row refits them without that row.
``tinyops_ms`` is this project's plan and kernels under the cycle-model cost
tables, uncalibrated.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import numpy as np

BOARDS = {"F469": "stm32f469-paper", "F746": "stm32f746"}
PARAMS = ("k_compute", "k_memory", "c_op")
PARAM_MEANING = {
    "k_compute": "paper's kernel cycles / CMSIS-NN cycles under the cycle model",
    "k_memory": "board's external-memory + DMA time / modelled",
    "c_op": "fixed cycles per op (interpreter, HAL)",
}


@dataclass
class PaperRow:
    platform: str
    model: str
    family: str
    width: str
    resolution: str
    design_space: str
    macs_m: float
    params_m: float
    top1_pct: float
    latency_ms: float

    @property
    def board(self) -> str:
        return BOARDS[self.platform]

    @property
    def schedule(self) -> str:
        return "internal" if self.design_space == "Internal" else "original"


def paper_rows() -> list[PaperRow]:
    path = resources.files("tinyops_tflm") / "data" / "tinyops_model_zoo.csv"
    rows = []
    with path.open() as f:
        for r in csv.DictReader(f):
            rows.append(PaperRow(r["platform"], r["model"], r["family"], r["width"], r["resolution"],
                                 r["design_space"], float(r["macs_m"]), float(r["params_m"]),
                                 float(r["top1_pct"]), float(r["latency_ms"])))
    return rows


def row_model_name(row: PaperRow) -> str:
    """The zoo model built for a row (tinyops_tflm.zoo.paper_models)."""
    if row.family == "mbv3":
        return f"mbv3-w{float(row.width):.2f}-r{int(row.resolution)}"
    if row.family == "mcunet":
        return "mcunet-in2-r160" if row.platform == "F469" else "mcunet-in3-r176"
    if row.family == "proxyless":
        return f"proxyless-w{float(row.width):.2f}-r{int(row.resolution)}"
    if row.family == "mnasnet":
        return f"mnasnet-w{float(row.width):.2f}-r{int(row.resolution)}"
    raise ValueError(f"no zoo model for paper row {row.model!r}")


@dataclass
class RowResult:
    board: str
    platform: str
    model: str
    zoo_model: str
    design_space: str
    schedule: str
    top1_pct: float
    paper_ms: float
    estimated_ms: float
    loo_ms: float
    loo_error_pct: float
    tinyops_ms: float
    speedup: float
    parts: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fit(parts: np.ndarray, paper_cycles: np.ndarray) -> np.ndarray:
    from .fitting import nnls
    w = 1.0 / paper_cycles
    scale = np.maximum(parts.max(axis=0), 1e-9)
    return nnls(parts / scale * w[:, None], np.ones_like(paper_cycles)) / scale


def reproduce(progress=None) -> tuple[list[RowResult], dict[str, dict[str, float]]]:
    """Every row of the paper's table: paper, calibrated, leave-one-out and
    this engine's latency. Returns the rows and the per-board parameters."""
    from . import zoo
    from .boards import get_board
    from .reader import read_model
    from .schedules import schedule_cost

    rows = paper_rows()
    measured = []
    for i, row in enumerate(rows):
        if progress:
            progress(i, len(rows), row.model)
        graph = read_model(zoo.cached(row_model_name(row)))
        b = get_board(row.board)
        own = schedule_cost(graph, b, row.schedule)
        ours = schedule_cost(graph, b, "tinyops")
        measured.append((row, b, own, ours))
    results: list[RowResult] = []
    params: dict[str, dict[str, float]] = {}
    for platform in BOARDS:
        group = [m for m in measured if m[0].platform == platform]
        if not group:
            continue
        clock = group[0][1].clock_hz
        parts = np.array([[m[2].compute, m[2].memory + m[2].dma, m[2].ops] for m in group])
        paper = np.array([m[0].latency_ms * 1e-3 * clock for m in group])
        coef = _fit(parts, paper)
        params[group[0][1].name] = dict(zip(PARAMS, map(float, coef)))
        for j, (row, b, own, ours) in enumerate(group):
            keep = [k for k in range(len(group)) if k != j]
            loo = _fit(parts[keep], paper[keep])
            est_ms = float(parts[j] @ coef) / clock * 1e3
            loo_ms = float(parts[j] @ loo) / clock * 1e3
            results.append(RowResult(
                b.name, platform, row.model, row_model_name(row), row.design_space, row.schedule,
                row.top1_pct, row.latency_ms, est_ms, loo_ms,
                100.0 * (loo_ms - row.latency_ms) / row.latency_ms, ours.estimate.ms,
                row.latency_ms / ours.estimate.ms,
                {"compute_cycles": own.compute, "memory_cycles": own.memory, "dma_cycles": own.dma,
                 "ops": own.ops}))
    return results, params


def plot(results: list[RowResult], path: str) -> None:
    """The paper's figure: latency vs top-1 per board, Internal vs TinyOps,
    with this engine's latency for the same models."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    platforms = sorted({r.platform for r in results})
    fig, axes = plt.subplots(1, len(platforms), figsize=(5.2 * len(platforms), 4.0), dpi=120)
    axes = np.atleast_1d(axes)
    for ax, platform in zip(axes, platforms):
        rs = [r for r in results if r.platform == platform]
        for space, marker, color in (("Internal", "s", "#8172B2"), ("TinyOps", "o", "#4C72B0")):
            pts = [r for r in rs if r.design_space == space]
            ax.scatter([r.paper_ms for r in pts], [r.top1_pct for r in pts], marker=marker,
                       color=color, label=f"paper, {space}")
        ax.scatter([r.tinyops_ms for r in rs], [r.top1_pct for r in rs], marker="^",
                   color="#55A868", label="this engine (modelled)")
        for r in rs:
            ax.annotate(r.model, (r.paper_ms, r.top1_pct), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
            ax.plot([r.tinyops_ms, r.paper_ms], [r.top1_pct, r.top1_pct], color="#bbbbbb",
                    lw=0.7, zorder=0)
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("ImageNet top-1, %")
        ax.set_title(f"{platform} ({rs[0].board})")
        ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
