"""The TinyOps paper's latency table reproduced on the timing model.

For each row of the paper's model zoo (data/tinyops_model_zoo.csv) the row's
model is built from its published architecture and costed under the row's
own deployment (tinyops_tflm.planning.schedules: ``original`` for the TinyOps rows,
``internal`` for the Internal rows). Each cost has three parts -- depthwise
kernel compute D (CMSIS-NN's measured costs), the other kernels' compute plus
the exposed DMA K, and the CPU's cycles on external SDRAM / flash accesses M
-- and per board three non-negative parameters map them to the board:

    latency = (k_depthwise * D + k_kernels * K + k_memory * M) / f_clock

``k_depthwise`` is how much slower the paper's depthwise kernels ran than
CMSIS-NN's under our cycle model (CMSIS-NN picks one of three depthwise
variants by shape and scratch space; the deployments' choices are not
published); ``k_kernels`` the same for everything else, with the DMA timing;
``k_memory`` scales our external-memory access cost to the board's. They are
fitted by non-negative least squares on relative error over the board's rows;
the leave-one-out estimate of a row refits them without that row.

Where the architecture we build differs from the paper's row (unpublished
MbV3 subnets, the Proxyless row's MAC count), compute parts are scaled by the
table's MACs / ours and memory parts by its params / ours, first order, and
the row says so (``macs_ratio``).
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
PARAMS = ("k_depthwise", "k_kernels", "k_memory")
PARAM_MEANING = {
    "k_depthwise": "paper's depthwise kernel cycles / CMSIS-NN's under the cycle model",
    "k_kernels": "paper's other kernels + exposed DMA / modelled",
    "k_memory": "board's CPU external-memory access time / modelled",
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
            rows.append(
                PaperRow(
                    r["platform"],
                    r["model"],
                    r["family"],
                    r["width"],
                    r["resolution"],
                    r["design_space"],
                    float(r["macs_m"]),
                    float(r["params_m"]),
                    float(r["top1_pct"]),
                    float(r["latency_ms"]),
                )
            )
    return rows


def row_model_name(row: PaperRow) -> str:
    """The zoo model built for a row (tinyops_tflm.validation.zoo.paper_models)."""
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
    macs_ratio: float  # table MACs / built model's (1.0: the published architecture)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Weight of the prior that every parameter is 1 (the model as it is), against
# the rows' squared relative errors: keeps the parameters physical (a scale
# near 1 per part) when a handful of rows could be fitted by trading one part
# off against another.
PRIOR_WEIGHT = 0.002


def _fit(parts: np.ndarray, paper_cycles: np.ndarray, prior: float = PRIOR_WEIGHT) -> np.ndarray:
    """Non-negative parameters minimising sum(relative error^2) +
    prior * sum((k - 1)^2)."""
    from ..planning.fitting import nnls

    a = parts / paper_cycles[:, None]
    scale = np.maximum(np.abs(a).max(axis=0), 1e-12)  # columns of comparable size
    a = a / scale
    b = np.ones_like(paper_cycles)
    if prior > 0:
        n = parts.shape[1]
        a = np.vstack([a, np.sqrt(prior) * np.diag(1.0 / scale)])
        b = np.concatenate([b, np.sqrt(prior) * np.ones(n)])
    return nnls(a, b) / scale


def reproduce(progress=None) -> tuple[list[RowResult], dict[str, dict[str, float]]]:
    """Every row of the paper's table: paper, calibrated, leave-one-out and
    this engine's latency. Returns the rows and the per-board parameters."""
    from ..frontend.metrics import graph_macs
    from ..frontend.reader import read_model
    from ..planning.boards import get_board
    from ..planning.schedules import schedule_cost
    from ..validation import zoo

    rows = paper_rows()
    measured = []
    for i, row in enumerate(rows):
        if progress:
            progress(i, len(rows), row.model)
        graph = read_model(zoo.cached(row_model_name(row)))
        b = get_board(row.board)
        own = schedule_cost(graph, b, row.schedule)
        ours = schedule_cost(graph, b, "tinyops")
        macs_ratio = row.macs_m * 1e6 / graph_macs(graph)
        params_ratio = row.params_m * 1e6 / sum(t.size for t in graph.tensors if t.is_constant)
        dw = sum(o.compute_cycles - o.stall_cycles for o in own.estimate.ops if o.name == "DEPTHWISE_CONV_2D")
        parts = np.array([dw * macs_ratio, (own.compute - dw) * macs_ratio + own.dma, own.memory * params_ratio])
        measured.append((row, b, own, ours, parts, macs_ratio))
    results: list[RowResult] = []
    params: dict[str, dict[str, float]] = {}
    for platform in BOARDS:
        group = [m for m in measured if m[0].platform == platform]
        if not group:
            continue
        clock = group[0][1].clock_hz
        parts = np.array([m[4] for m in group])
        paper = np.array([m[0].latency_ms * 1e-3 * clock for m in group])
        coef = _fit(parts, paper)
        params[group[0][1].name] = dict(zip(PARAMS, map(float, coef)))
        for j, (row, b, own, ours, _, macs_ratio) in enumerate(group):
            keep = [k for k in range(len(group)) if k != j]
            loo = _fit(parts[keep], paper[keep])
            est_ms = float(parts[j] @ coef) / clock * 1e3
            loo_ms = float(parts[j] @ loo) / clock * 1e3
            results.append(
                RowResult(
                    b.name,
                    platform,
                    row.model,
                    row_model_name(row),
                    row.design_space,
                    row.schedule,
                    row.top1_pct,
                    row.latency_ms,
                    est_ms,
                    loo_ms,
                    100.0 * (loo_ms - row.latency_ms) / row.latency_ms,
                    ours.estimate.ms,
                    row.latency_ms / ours.estimate.ms,
                    {"compute_cycles": own.compute, "memory_cycles": own.memory, "dma_cycles": own.dma, "ops": own.ops},
                    macs_ratio,
                )
            )
    return results, params


def plot(results: list[RowResult], path: str) -> None:
    """The paper's figure: latency vs top-1 per board, Internal vs TinyOps,
    with this engine's latency for the same models."""
    from ..plot_backend import pyplot

    plt = pyplot("tinyops reproduce-paper --plot")
    platforms = sorted({r.platform for r in results})
    fig, axes = plt.subplots(1, len(platforms), figsize=(5.2 * len(platforms), 4.0), dpi=120)
    axes = np.atleast_1d(axes)
    for ax, platform in zip(axes, platforms):
        rs = [r for r in results if r.platform == platform]
        for space, marker, color in (("Internal", "s", "#8172B2"), ("TinyOps", "o", "#4C72B0")):
            pts = [r for r in rs if r.design_space == space]
            ax.scatter(
                [r.paper_ms for r in pts],
                [r.top1_pct for r in pts],
                marker=marker,
                color=color,
                label=f"paper, {space}",
            )
        ax.scatter(
            [r.tinyops_ms for r in rs],
            [r.top1_pct for r in rs],
            marker="^",
            color="#55A868",
            label="this engine (modelled)",
        )
        for r in rs:
            ax.annotate(r.model, (r.paper_ms, r.top1_pct), fontsize=6, xytext=(3, 3), textcoords="offset points")
            ax.plot([r.tinyops_ms, r.paper_ms], [r.top1_pct, r.top1_pct], color="#bbbbbb", lw=0.7, zorder=0)
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("ImageNet top-1, %")
        ax.set_title(f"{platform} ({rs[0].board})")
        ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
