"""The sweep's space: a candidate is one model (family, width, resolution,
depth) on one board under one schedule; grids of models and the named presets
expand into candidates."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

SCHEDULES = ("internal", "tinyops", "original")
DEFAULT_SCHEDULES = ("internal", "tinyops")
DEFAULT_BOARDS = ("stm32f469-paper", "stm32f746")


@dataclass(frozen=True)
class ModelSpec:
    family: str
    width: float
    resolution: int
    depth: int | None = None  # None: the family's published depth

    @property
    def name(self) -> str:
        from .design_space import model_name

        return model_name(self.family, self.width, self.resolution, self.depth)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Candidate:
    model: ModelSpec
    board: str
    schedule: str
    # --weights-in for the tinyops schedule (None: the board's default placement).
    weights_in: str | None = None

    def key(self, fingerprint: str) -> str:
        # Without a weights_in the key is what it was before there was one (caches stay valid).
        where = [self.weights_in] if self.weights_in is not None else []
        text = json.dumps([self.model.to_dict(), self.board, self.schedule, fingerprint, *where], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def grid(
    families: Iterable[str], widths: Iterable[float], resolutions: Iterable[int], depths: Iterable[int | None] = (None,)
) -> list[ModelSpec]:
    """Every (family, width, resolution, depth); depths other than None only
    for families that allow them."""
    from .design_space import family

    out: list[ModelSpec] = []
    for f in families:
        fam = family(f)
        for w in widths:
            w = float(w)
            if not 0 < w <= 4:
                raise ValueError(f"width multiplier must be in (0, 4], got {w}")
            for r in resolutions:
                r = int(r)
                if not 16 <= r <= 1024:
                    raise ValueError(f"resolution must be in [16, 1024], got {r}")
                for d in depths:
                    if d is not None and not fam.depth:
                        continue
                    if d is not None and (int(d) != d or d < 1):
                        raise ValueError(f"depth must be a positive integer, got {d}")
                    spec = ModelSpec(fam.name, w, r, None if d is None else int(d))
                    if spec not in out:
                        out.append(spec)
    return out


#: Named sweeps.  smoke: three of the paper's rows (accuracy known) on both
#: boards, 12 candidates, a minute or two on 2 cores once the models are
#: cached.  paper: the 10 models of the paper's table.  wide: a grid of every
#: family, 4 widths, 4 resolutions and (OFA families) depth 2 or published.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"models": [ModelSpec("mbv3", 0.5, 112), ModelSpec("proxyless", 0.3, 144), ModelSpec("mnasnet", 1.0, 80)]},
    "paper": {
        "models": [
            ModelSpec("mbv3", 1.0, 160),
            ModelSpec("mbv3", 0.75, 128),
            ModelSpec("mbv3", 0.55, 128),
            ModelSpec("mbv3", 0.5, 112),
            ModelSpec("mcunet-in2", 1.0, 160),
            ModelSpec("mcunet-in3", 1.0, 176),
            ModelSpec("proxyless", 0.3, 144),
            ModelSpec("proxyless", 0.3, 176),
            ModelSpec("mnasnet", 1.0, 80),
            ModelSpec("mnasnet", 1.0, 128),
        ]
    },
    "wide": {
        "grid": dict(
            families=["mbv3", "proxyless", "mcunet-in2", "mcunet-in3", "mnasnet"],
            widths=[0.35, 0.5, 0.75, 1.0],
            resolutions=[96, 128, 160, 176],
            depths=[None, 2],
        )
    },
}


def candidates_for(
    models: Iterable[ModelSpec],
    boards: Iterable[str] = DEFAULT_BOARDS,
    schedules: Iterable[str] = DEFAULT_SCHEDULES,
    weights_in: str | None = None,
) -> list[Candidate]:
    """Every model x board x schedule; `weights_in` places the tinyops
    schedule's weights beyond flash (the other schedules fix their own)."""
    from ..planning.boards import get_board

    boards = [get_board(b) for b in boards]
    if weights_in is not None:
        for b in boards:
            b.with_weights_in(weights_in)  # a board without that memory fails here, not in a worker
    schedules = list(schedules)
    for s in schedules:
        if s not in SCHEDULES:
            raise ValueError(f"unknown schedule {s!r}; known: {', '.join(SCHEDULES)}")
    return [
        Candidate(m, b.name, s, weights_in if s == "tinyops" else None)
        for m in models
        for b in boards
        for s in schedules
    ]


def preset_candidates(
    name: str,
    boards: Iterable[str] = DEFAULT_BOARDS,
    schedules: Iterable[str] = DEFAULT_SCHEDULES,
    weights_in: str | None = None,
) -> list[Candidate]:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    p = PRESETS[name]
    models = p["models"] if "models" in p else grid(**p["grid"])
    return candidates_for(models, boards, schedules, weights_in)
