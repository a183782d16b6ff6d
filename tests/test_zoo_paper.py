"""The TinyOps paper's own architecture (its published OFA/ProxylessNAS net
config) in the zoo: it follows the JSON exactly, has the paper's MACs and
weight count, runs in the golden oracle and gives non-degenerate int8 logits.

The first run builds two models with TensorFlow (about 20 s) and caches them
(``$TINYOPS_CACHE`` or ``~/.cache/tinyops_tflm/models``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinyops_tflm.frontend.metrics import graph_macs, op_macs
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.validation import zoo
from tinyops_tflm.validation.oracle import run_tflm

pytest.importorskip("tensorflow")

HEADLINE = "mbv3-w1.00-r160"
SMALL = "mbv3-w0.50-r112"
# tinyops_model_zoo.csv: MACs and params of MbV3 w1.00-r160
CSV_MACS, CSV_PARAMS = 111e6, 3.96e6
OPS = {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "RESHAPE"}  # no PAD, no SOFTMAX


def expected_counts(config: dict, width: float, res: int) -> tuple[int, int, int]:
    """(conv + depthwise MACs, conv weights, number of residual adds) computed
    independently from the JSON: 'SAME' padding, channels make_divisible(c*w, 8),
    classifier 1280->1000 as a 1x1 conv on the pooled 1x1 map."""

    def md(v):
        n = max(8, int(v + 4) // 8 * 8)
        return n + 8 if n < 0.9 * v else n

    def ch(c):
        return c if width == 1.0 else md(c * width)

    macs = weights = adds = 0
    h = res

    def conv(cin, cout, k, s, depthwise=False):
        nonlocal macs, weights, h
        h = math.ceil(h / s)
        w = k * k * (cout if depthwise else cin * cout)
        weights += w
        macs += h * h * w

    fc = config["first_conv"]
    c = ch(fc["out_channels"])
    conv(3, c, fc["kernel_size"], fc["stride"])
    for b in config["blocks"]:
        m = b["mobile_inverted_conv"]
        out = ch(m["out_channels"])
        mid = c
        if m["expand_ratio"] != 1:
            mid = round(c * m["expand_ratio"])
            mid = mid if width == 1.0 else md(mid)
            conv(c, mid, 1, 1)
        conv(mid, mid, m["kernel_size"], m["stride"], depthwise=True)
        conv(mid, out, 1, 1)
        adds += b["shortcut"] is not None
        c = out
    for key in ("feature_mix_layer", "final_conv"):
        out = ch(config[key]["out_channels"])
        conv(c, out, 1, 1)
        c = out
        h = 1  # global average pool after the feature mix
    conv(c, config["classifier"]["out_features"], 1, 1)
    return macs, weights, adds


def conv_macs(graph) -> int:
    return sum(op_macs(graph, op) for op in graph.operators if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"))


def check_runs_non_degenerate(name: str, model: bytes) -> None:
    graph = read_model(model)
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    assert abs(float(inp.quant.scales[0]) - 2 / 255) < 1e-4, name  # inputs in [-1, 1]
    assert 1e-3 < float(out.quant.scales[0]) < 10, name
    acts = [
        float(t.quant.scales[0])
        for t in graph.tensors
        if not t.is_constant and t.quant is not None and len(t.quant.scales) == 1
    ]
    assert 1e-4 < min(acts) and max(acts) < 1.0, (name, min(acts), max(acts))
    rng = np.random.default_rng(5)
    sets = [[rng.integers(-128, 127, size=inp.shape, endpoint=True, dtype=np.int8)] for _ in range(2)]
    outs = [o[0] for o in run_tflm(model, sets)]
    for o in outs:
        assert o.dtype == np.int8 and o.shape == (1, 1000), name
        assert len(np.unique(o)) >= 32, (name, len(np.unique(o)))
        assert np.mean((o == -128) | (o == 127)) < 0.05, (name, "saturated")
    assert not np.array_equal(outs[0], outs[1]), (name, "output ignores the input")


def test_paper_models_are_registered_apart_from_list_models():
    assert zoo.paper_models()[:4] == [HEADLINE, "mbv3-w0.75-r128", "mbv3-w0.55-r128", SMALL]
    assert len(zoo.paper_models()) == 10  # + MCUNet, Proxyless, MNASNet rows (test_zoo_rows)
    assert not set(zoo.paper_models()) & set(zoo.list_models())  # whole-model tests unchanged
    with pytest.raises(ValueError, match="unknown net config"):
        zoo.net_config("resnet-50")


def test_net_config_is_the_published_architecture():
    cfg = zoo.net_config("mbv3-w1.00-r224")
    blocks = [b["mobile_inverted_conv"] for b in cfg["blocks"]]
    assert len(blocks) == 15 and cfg["first_conv"]["out_channels"] == 16
    assert [i for i, b in enumerate(blocks, 1) if b["stride"] == 2] == [2, 4, 7, 13]
    assert sorted({b["out_channels"] for b in blocks}) == [16, 24, 40, 80, 112, 160]
    assert {b["kernel_size"] for b in blocks} == {3} and not any(b["use_se"] for b in blocks)
    assert cfg["feature_mix_layer"]["out_channels"] == 960
    assert cfg["final_conv"]["out_channels"] == 1280
    assert cfg["classifier"]["out_features"] == 1000


@pytest.mark.parametrize("v, want", [(8, 8), (4, 8), (12, 16), (13.2, 16), (22, 24), (92, 96), (640, 640), (35.9, 40)])
def test_make_divisible_like_ofa(v, want):
    assert zoo._make_divisible(v) == want


def _built_as_configured(name: str, width: float, resolution: int):
    """The zoo model `name` with the op types, input shape, conv MACs and
    weights the net config gives at this width and resolution; returns the
    model, its graph and the config's ADD count."""
    model = zoo.cached(name)
    assert set(zoo.op_counts(model)) == OPS
    graph = read_model(model)
    assert graph.tensors[graph.inputs[0]].shape == (1, resolution, resolution, 3)
    want_macs, want_weights, want_adds = expected_counts(zoo.net_config(), width, resolution)
    assert conv_macs(graph) == want_macs
    assert zoo.params(model, biases=False) == want_weights
    return model, graph, want_adds


def test_headline_model_matches_the_paper_and_runs_in_the_oracle():
    model, graph, want_adds = _built_as_configured(HEADLINE, 1.0, 160)
    assert zoo.op_counts(model)["ADD"] == want_adds == 10
    # the CSV's 111 M MACs and 3.96 M params (ours: 111.6 M incl. ADD/MEAN,
    # 3.95 M incl. the folded-BN biases; the 1280x1000 classifier is 1.28 M of it)
    assert zoo.macs(model) == graph_macs(graph)
    assert abs(zoo.macs(model) / CSV_MACS - 1) < 0.05, zoo.macs(model)
    assert abs(zoo.params(model) / CSV_PARAMS - 1) < 0.05, zoo.params(model)
    check_runs_non_degenerate(HEADLINE, model)


def test_small_variant_builds_and_runs():
    model, _, _ = _built_as_configured(SMALL, 0.5, 112)
    # CSV: 1.33 M params (width applied to every channel, the 1280 included);
    # its 16 M MACs belong to an unpublished subnet (ours: 18.2 M)
    assert abs(zoo.params(model) / 1.33e6 - 1) < 0.05, zoo.params(model)
    check_runs_non_degenerate(SMALL, model)
