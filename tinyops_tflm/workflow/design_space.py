"""The design space the paper explores: model families, their width /
resolution / depth knobs, and the concrete net config of each point.

A family is a published net config (``data/net_configs``) plus the rule that
scales it.  Every point is turned into an explicit config (all channel counts
written out) that :func:`tinyops_tflm.validation.zoo.build_from_config` builds at width 1,
so one builder serves every family and the architecture of a point is plain
data that can be counted without TensorFlow (:func:`arch_counts`).

Width: every channel count except the 3 input channels and the classifier's
outputs is multiplied, then rounded to a multiple of 8 - OFA's make_divisible
(nearest, never 10 % below) for the OFA/MbV3, MCUNet and MNASNet configs, up
to the next multiple for ProxylessNAS-Mobile (that rule turns the published
ProxylessNAS-Mobile into MCUNet's published proxyless-w0.3 exactly; a test
checks it).  Expanded channels are round(in * expand_ratio), rounded the same
way when scaled.

Depth (OFA elastic depth, families that come from a supernet only): at most
``depth`` blocks per stage, the first blocks kept.  A stage starts at a block
that changes the channel count or the resolution.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

__all__ = [
    "Family",
    "FAMILIES",
    "family",
    "model_name",
    "derive_config",
    "scale_width",
    "limit_depth",
    "arch_counts",
    "stage_depths",
]


@dataclass(frozen=True)
class Family:
    name: str
    config: str  # bundled net config (tinyops_tflm.validation.zoo.net_config)
    rounding: str  # "nearest8" (OFA make_divisible) or "ceil8"
    depth: bool  # elastic depth allowed (the family is a supernet's subnet)
    description: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("mbv3", "mbv3-w1.00-r224", "nearest8", True, "the TinyOps paper's OFA/ProxylessNAS subnet (MbV3 rows)"),
        Family("proxyless", "proxyless_mobile", "ceil8", True, "ProxylessNAS-Mobile (w0.30 = MCUNet's proxyless-w0.3)"),
        Family(
            "mcunet-in2",
            "mcunet-256kb-1mb_imagenet",
            "nearest8",
            False,
            "MCUNet mcunet-256kb-1mb (TinyNAS subnet for 256 KB SRAM, 1 MB flash)",
        ),
        Family(
            "mcunet-in3",
            "mcunet-320kb-1mb_imagenet",
            "nearest8",
            False,
            "MCUNet mcunet-320kb-1mb (TinyNAS subnet for 320 KB SRAM, 1 MB flash)",
        ),
        Family("mnasnet", "mnasnet-b1-w1.00-r224", "nearest8", False, "MNASNet-B1"),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def model_name(family_name: str, width: float, resolution: int, depth: int | None = None) -> str:
    """``mbv3-w0.50-r112``, ``mbv3-w0.50-r112-d2``; MCUNet subnets at width 1
    are ``mcunet-in2-r160`` (the zoo's names)."""
    if family_name.startswith("mcunet") and width == 1.0:
        base = f"{family_name}-r{int(resolution)}"
    else:
        base = f"{family_name}-w{width:.2f}-r{int(resolution)}"
    return base if depth is None else f"{base}-d{int(depth)}"


def _round8(v: float, rule: str) -> int:
    if rule == "ceil8":
        return max(8, int(math.ceil(v / 8 - 1e-9)) * 8)
    n = max(8, int(v + 4) // 8 * 8)  # OFA make_divisible(v, 8)
    return n + 8 if n < 0.9 * v else n


def _is_zero(block: dict) -> bool:
    conv = block.get("mobile_inverted_conv")
    return conv is None or conv.get("name") == "ZeroLayer"


def scale_width(config: dict, width: float, rounding: str = "nearest8") -> dict:
    """``config`` with every channel count multiplied by ``width`` and written
    out (``mid_channels`` explicit wherever the block expands)."""
    if not 0 < width <= 4:
        raise ValueError(f"width multiplier must be in (0, 4], got {width}")
    if rounding not in ("nearest8", "ceil8"):
        raise ValueError(f"unknown channel rounding {rounding!r}")
    cfg = copy.deepcopy(config)
    scaled = width != 1.0

    def ch(c) -> int:
        return _round8(c * width, rounding) if scaled else int(c)

    fc = cfg["first_conv"]
    fc["out_channels"] = ch(fc["out_channels"])
    c = fc["out_channels"]
    for b in cfg["blocks"]:
        if _is_zero(b):
            continue
        m = b["mobile_inverted_conv"]
        m["in_channels"] = c
        out = ch(m["out_channels"])
        e = m.get("expand_ratio", 1)
        if m.get("mid_channels") is not None:
            m["mid_channels"] = ch(m["mid_channels"])
        elif e != 1:
            mid = round(c * e)
            m["mid_channels"] = _round8(mid, rounding) if scaled else int(mid)
        m["out_channels"] = out
        if b.get("shortcut"):
            b["shortcut"]["in_channels"] = [c]
            b["shortcut"]["out_channels"] = [out]
        c = out
    for key in _head_keys(cfg):
        layer = cfg[key]
        layer["in_channels"] = c
        layer["out_channels"] = ch(layer["out_channels"])
        c = layer["out_channels"]
    cfg["classifier"]["in_features"] = c
    return cfg


def _head_keys(cfg: dict) -> list[str]:
    """The 1x1 convs after the blocks, in order (pre-pool, then post-pool)."""
    if "final_expand_layer" in cfg:
        keys = ["final_expand_layer", "feature_mix_layer"]
    else:
        keys = ["feature_mix_layer", "final_conv"]
    return [k for k in keys if cfg.get(k)]


def _stages(cfg: dict) -> list[list[int]]:
    """Block indices grouped by stage (a stage starts where the channel count
    or the resolution changes); skipped (ZeroLayer) blocks join the current one."""
    stages: list[list[int]] = []
    for i, b in enumerate(cfg["blocks"]):
        if _is_zero(b):
            if stages:
                stages[-1].append(i)
            continue
        m = b["mobile_inverted_conv"]
        if not stages or m["stride"] != 1 or m["in_channels"] != m["out_channels"]:
            stages.append([i])
        else:
            stages[-1].append(i)
    return stages


def stage_depths(config: dict) -> list[int]:
    """Number of (non-skipped) blocks per stage."""
    return [sum(not _is_zero(config["blocks"][i]) for i in s) for s in _stages(config)]


def limit_depth(config: dict, depth: int) -> dict:
    """``config`` with at most ``depth`` blocks per stage (the first ones)."""
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth}")
    cfg = copy.deepcopy(config)
    keep: list[dict] = []
    for stage in _stages(config):
        live = [i for i in stage if not _is_zero(config["blocks"][i])]
        keep.extend(cfg["blocks"][i] for i in live[:depth])
    cfg["blocks"] = keep
    return cfg


def derive_config(family_name: str, width: float = 1.0, depth: int | None = None) -> dict:
    """The explicit net config of one design point (resolution is a build
    argument, not part of the config)."""
    from ..validation.zoo import net_config

    fam = family(family_name)
    if depth is not None and not fam.depth:
        raise ValueError(
            f"family {fam.name!r} has a fixed depth (a searched subnet); "
            f"depth applies to: {', '.join(f.name for f in FAMILIES.values() if f.depth)}"
        )
    cfg = net_config(fam.config)
    if depth is not None:
        cfg = limit_depth(cfg, depth)
    return scale_width(cfg, width, fam.rounding)


def arch_counts(config: dict, resolution: int) -> dict[str, int]:
    """MACs and parameters of an explicit config at ``resolution``, counted
    from the architecture alone (no TensorFlow), the way
    :func:`tinyops_tflm.frontend.metrics.graph_macs` and :func:`tinyops_tflm.validation.zoo.params`
    count the built int8 graph: convolutions (TF 'SAME' padding), residual ADDs
    (one per output element), the global-average-pool MEAN (one per input
    element); every conv has a bias (folded BN or its own).  Returns
    ``macs``, ``params`` (weights + biases), ``weights``."""
    h = int(resolution)
    macs = weights = biases = 0

    def conv(cin: int, cout: int, k: int, s: int, depthwise: bool = False) -> None:
        nonlocal h, macs, weights, biases
        h = -(-h // s)
        w = k * k * (cout if depthwise else cin * cout)
        weights += w
        biases += cout
        macs += h * h * w

    fc = config["first_conv"]
    c = int(fc["out_channels"])
    conv(3, c, int(fc["kernel_size"]), int(fc.get("stride", 1)))
    for b in config["blocks"]:
        if _is_zero(b):
            continue
        m = b["mobile_inverted_conv"]
        if m.get("use_se"):
            raise ValueError("arch_counts does not count squeeze-excitation blocks")
        out, e = int(m["out_channels"]), m.get("expand_ratio", 1)
        mid = c
        if m.get("mid_channels") is not None or e != 1:
            mid = int(m["mid_channels"]) if m.get("mid_channels") is not None else round(c * e)
            conv(c, mid, 1, 1)
        conv(mid, mid, int(m["kernel_size"]), int(m["stride"]), depthwise=True)
        conv(mid, out, 1, 1)
        sc = b.get("shortcut")
        if sc is not None and sc.get("name") != "ZeroLayer":
            macs += h * h * out  # residual ADD
        c = out
    # as the builder: pre-pool 1x1 conv, pool, post-pool 1x1 conv
    if "final_expand_layer" in config:
        pre, post = config.get("final_expand_layer"), config.get("feature_mix_layer")
    else:
        pre, post = config.get("feature_mix_layer"), config.get("final_conv")
    if pre is not None:
        out = int(pre["out_channels"])
        conv(c, out, int(pre.get("kernel_size", 1)), 1)
        c = out
    macs += h * h * c  # global average pool (MEAN)
    h = 1
    if post is not None:
        out = int(post["out_channels"])
        conv(c, out, 1, 1)
        c = out
    n = int(config["classifier"]["out_features"])
    conv(c, n, 1, 1)
    return {"macs": macs, "params": weights + biases, "weights": weights}
