"""The TinyOps paper's model-zoo table beside this project's builds of its rows.

``data/tinyops_model_zoo.csv`` is the paper's table (board, model, design
space, MACs, params, top-1, measured latency).  Each row maps to a zoo model
(:func:`tinyops_tflm.validation.zoo.paper_models`) built from a published net config; this
module says which config, whether the row's exact subnet is published, and how
far the table's MACs/params are from the architecture's (counted by
:func:`tinyops_tflm.workflow.design_space.arch_counts`, equal to the built int8 model's
counts - tests check it).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

__all__ = ["ZooRow", "rows", "TOLERANCE", "BOARDS", "accuracy_by_model"]

#: Relative difference within which our MACs/params "match" the table.
TOLERANCE = 0.05

#: The table's platforms as this project's boards: the paper ran its F469 with
#: 256 KB SRAM / 1 MB flash budgets (an F412-class part).
BOARDS = {"F469": "stm32f469-paper", "F746": "stm32f746"}

# Why a row may not match: (family, width) -> note.  Rows not listed use their
# family's published config as is.
_UNPUBLISHED = "exact subnet unpublished: a uniform width multiplier on the paper's published w1.00 config"
_SOURCES = {
    "mbv3": "the paper's published OFA/ProxylessNAS config (mbv3-w1.00-r224)",
    "mcunet": "MCUNet model zoo config ({config})",
    "proxyless": "MCUNet model zoo config (proxyless-w0.3-r176_imagenet)",
    "mnasnet": "MNASNet-B1 (tensorflow/tpu mnasnet_b1)",
}
_NOTES = {
    "proxyless": (
        "published config; MCUNet's own table gives it 38.3 M MACs at r176 (as counted here), the paper's table less"
    ),
}


@dataclass(frozen=True)
class ZooRow:
    platform: str  # F469 / F746
    board: str  # this project's board name
    label: str  # the table's model column
    model: str  # zoo model name (tinyops_tflm.validation.zoo.cached)
    family: str
    design_space: str  # Internal / TinyOps
    table_macs: float
    table_params: float
    top1_pct: float
    paper_latency_ms: float
    macs: int  # ours (built int8 graph)
    params: int  # ours: weights + biases (folded BN)
    published: bool  # the row's exact architecture is published
    source: str
    note: str

    @property
    def macs_diff(self) -> float:
        return self.macs / self.table_macs - 1

    @property
    def params_diff(self) -> float:
        return self.params / self.table_params - 1

    @property
    def matches(self) -> bool:
        return abs(self.macs_diff) <= TOLERANCE and abs(self.params_diff) <= TOLERANCE

    @property
    def status(self) -> str:
        if not self.published:
            return "unpublished subnet"
        return "published" if self.matches else "published, table differs"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(
            macs_diff_pct=round(100 * self.macs_diff, 1),
            params_diff_pct=round(100 * self.params_diff, 1),
            status=self.status,
        )
        return d


def _table_text() -> str:
    from importlib import resources

    return (resources.files("tinyops_tflm") / "data" / "tinyops_model_zoo.csv").read_text("utf-8")


def _model_for(rec: dict) -> str:
    from ..workflow.design_space import model_name

    fam = rec["family"]
    if fam == "mcunet":
        # The table names the MCUNet rows by board: F469 ran the 256 KB
        # subnet (mcunet-in2), F746 the 320 KB one (mcunet-in3).
        return {"F469": "mcunet-in2-r160", "F746": "mcunet-in3-r176"}[rec["platform"]]
    return model_name(fam, float(rec["width"]), int(rec["resolution"]))


def rows() -> list[ZooRow]:
    """The table's 11 rows, in its order, with this project's counts."""
    from ..workflow.design_space import arch_counts, scale_width
    from . import zoo

    out = []
    for rec in csv.DictReader(io.StringIO(_table_text())):
        name = _model_for(rec)
        config_name, width, res = zoo.paper_spec(name)
        counts = arch_counts(scale_width(zoo.net_config(config_name), width), res)
        fam = rec["family"]
        published = not (fam == "mbv3" and width != 1.0)
        out.append(
            ZooRow(
                platform=rec["platform"],
                board=BOARDS[rec["platform"]],
                label=rec["model"],
                model=name,
                family=fam,
                design_space=rec["design_space"],
                table_macs=float(rec["macs_m"]) * 1e6,
                table_params=float(rec["params_m"]) * 1e6,
                top1_pct=float(rec["top1_pct"]),
                paper_latency_ms=float(rec["latency_ms"]),
                macs=counts["macs"],
                params=counts["params"],
                published=published,
                source=_SOURCES[fam].format(config=config_name),
                note=_NOTES.get(fam, "") if published else _UNPUBLISHED,
            )
        )
    return out


def accuracy_by_model() -> dict[str, float]:
    """Zoo model name -> the paper's ImageNet top-1 (%)."""
    return {r.model: r.top1_pct for r in rows()}
