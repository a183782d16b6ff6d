"""Whole-model int8 ``.tflite`` builders (random weights) for tests and benchmarks.

Models are Keras graphs with random, seeded weights, fully int8-quantized by
the TFLite converter.  Random weights make activations of deep networks
collapse or explode, so before conversion every BatchNormalization layer is
*calibrated*: its moving mean/variance are set to the statistics of its
input on random images (one training-mode pass with momentum 0 and dropout
disabled, which is exactly layer-by-layer calibration), and gamma/beta are
set to mild random values.  Every layer's activations are then O(1), and the
int8 output has a sane scale and many distinct values.

No classifier softmax (``classifier_activation=None``): TFLM aborts on int8
SOFTMAX when the logits' scale is tiny.

TensorFlow is imported lazily inside the functions; importing this module
does not need it.

All models take a static batch of 1 (so reshapes stay static: no
SHAPE/STRIDED_SLICE/PACK chains), an int8 input for pixels in [-1, 1]
(scale ~2/255) and give int8 logits.  Models (see :func:`list_models`; host
times on a 2-core machine: build = TF build + calibration + conversion,
TFLM = one inference in the pinned tflite-micro interpreter):

==========================  ===========================================  =======  ======
name (alias)                model                                        build    TFLM
==========================  ===========================================  =======  ======
``demo_tiny``               64x64x3 MobileNetV3-grammar CNN, 10 classes,    6 s    10 ms
                            51 KB (bundled as ``data/demo_tiny.tflite``)
``mobilenet_v2_a035_r96``   keras MobileNetV2 alpha 0.35, 96x96, 1000      10 s    25 ms
(``mobilenet_v2``)
``mobilenet_v3_small_r224`` keras MobileNetV3Small alpha 1.0, 224x224      12 s   150 ms
(``mobilenet_v3_small``)    (r224 kept: conversion and TFLM are cheap)
``mobilenet_v3_large_r160`` keras MobileNetV3Large alpha 1.0, 160x160      13 s   180 ms
(``mobilenet_v3_large``)
``efficientnet_b0_r128``    keras EfficientNetB0, 128x128 (swish, SE)      19 s   250 ms
(``efficientnet_b0``)
==========================  ===========================================  =======  ======

MobileNetV3's built-in input rescaling is disabled (include_preprocessing=False)
and EfficientNet's is made a no-op, since inputs are already in [-1, 1].

The TinyOps paper's own models (see :func:`paper_models`; kept out of
:func:`list_models` so the whole-model tests that iterate it stay as fast) are
the 11 rows (10 models) of its model-zoo table, built by :func:`tinyops_tflm.frontend.netbuild.ofa_net` from
published OFA/ProxylessNAS-format net configs (``data/net_configs/*.json``, each
naming its source; read by :func:`net_config`) with a width multiplier (OFA
``make_divisible`` to 8) and a resolution.  int8 MACs/params (:func:`macs`,
:func:`params`) vs the table (see :mod:`tinyops_tflm.validation.zoo_table` and ``tinyops
zoo list``):

========================  ============================  ===============  ===============
name                      net config                    MACs (table)     params (table)
========================  ============================  ===============  ===============
``mbv3-w1.00-r160``       mbv3-w1.00-r224 (paper)       111.6 M (111 M)  3.95 M (3.96 M)
``mbv3-w0.75-r128``       same, width 0.75              51.1 M (44 M)    2.51 M (2.49 M)
``mbv3-w0.55-r128``       same, width 0.55              25.9 M (28 M)    1.55 M (1.55 M)
``mbv3-w0.50-r112``       same, width 0.50              18.2 M (16 M)    1.33 M (1.33 M)
``mcunet-in2-r160``       mcunet-256kb-1mb_imagenet     67.4 M (67 M)    0.72 M (0.73 M)
``mcunet-in3-r176``       mcunet-320kb-1mb_imagenet     81.9 M (82 M)    0.73 M (0.74 M)
``proxyless-w0.30-r144``  proxyless-w0.3-r176_imagenet  26.1 M (21 M)    0.75 M (0.72 M)
``proxyless-w0.30-r176``  same                          38.4 M (32 M)    0.75 M (0.72 M)
``mnasnet-w1.00-r80``     mnasnet-b1-w1.00-r224         48.3 M (48 M)    4.36 M (4.38 M)
``mnasnet-w1.00-r128``    same                          103.6 M (104 M)  4.36 M (4.38 M)
========================  ============================  ===============  ===============

Each takes 10-25 s to build (TensorFlow, 2 shared cores) and 20-250 ms per
TFLM inference.  (params = conv/FC weights + biases, i.e. folded BN; a third
of MbV3's is the 1280x1000 classifier.)  Only MbV3 w1.00 is the paper's
published architecture; the narrower MbV3 rows apply a uniform width
multiplier to it, last 1280 channels included (that matches the table's
params within 1 %; keeping 1280 would not).  The paper's narrower subnets are
not published, so their MACs differ from the table by -7 % to +16 %, in both
directions: no uniform width rule fits.  The Proxyless config is MCUNet's
proxyless-w0.3, whose MACs MCUNet's own README gives as 38.3 M at r176, as
counted here.  Any config of this format builds with :func:`build_from_config`
(cached by :func:`cached_from_config`); :mod:`tinyops_tflm.workflow.design_space`
derives the sweep's configs.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ..atomic_file import write_atomically
from ..frontend import netbuild
from ..frontend.tflite_convert import to_int8_tflite

__all__ = [
    "build",
    "cached",
    "build_from_config",
    "cached_from_config",
    "list_models",
    "paper_models",
    "paper_spec",
    "net_config",
    "net_configs",
    "macs",
    "params",
    "op_counts",
    "default_cache_dir",
    "keras_model",
    "ALIASES",
    "RECIPE_VERSION",
]

#: Bumped whenever a recipe changes, so caches built by an older one are ignored.
RECIPE_VERSION = 1

_NUM_REPRESENTATIVE = 8
_NUM_CALIBRATION = 16


# ----------------------------------------------------------------------------
# Zoo rows: Keras constructors from tinyops_tflm.frontend.netbuild at batch 1
# (each takes tf, which build() imports, and an optional batch size, which
# keras_model() sets to None for training)
# ----------------------------------------------------------------------------


def _demo_tiny(tf, batch_size: int | None = 1):
    return netbuild.demo_tiny(64, batch_size)


def _keras_app(arch: str, resolution: int, alpha: float = 1.0) -> Callable:
    def make(tf, batch_size: int | None = 1):
        return netbuild.keras_application(arch, resolution, alpha, batch_size)

    make.__doc__ = f"keras {arch} alpha {alpha}, {resolution}x{resolution}"
    make.spec = ("keras", arch, alpha, resolution)
    return make


_mobilenet_v2_a035_r96 = _keras_app("MobileNetV2", 96, 0.35)
_mobilenet_v3_small_r224 = _keras_app("MobileNetV3Small", 224)
_mobilenet_v3_large_r160 = _keras_app("MobileNetV3Large", 160)
_efficientnet_b0_r128 = _keras_app("EfficientNetB0", 128)


# ----------------------------------------------------------------------------
# OFA / ProxylessNAS net configs (the TinyOps paper's published architecture)
# ----------------------------------------------------------------------------

net_config = netbuild.net_config


def net_configs() -> list[str]:
    """Names of the bundled net configs (for :func:`net_config`)."""
    from importlib import resources

    d = resources.files("tinyops_tflm") / "data" / "net_configs"
    return sorted(f.name[:-5] for f in d.iterdir() if f.name.endswith(".json"))


_make_divisible = netbuild.make_divisible


def _ofa_net(
    tf,
    config: dict,
    width_mult: float = 1.0,
    resolution: int | None = None,
    name: str = "ofa_net",
    batch_size: int | None = 1,
):
    """:func:`tinyops_tflm.frontend.netbuild.ofa_net` at batch 1."""
    return netbuild.ofa_net(config, width_mult, resolution, batch_size=batch_size, name=name)


def _paper_model(config_name: str, width_mult: float, resolution: int, name: str) -> Callable:
    def make(tf, batch_size: int | None = 1):
        return _ofa_net(
            tf, net_config(config_name), width_mult, resolution, name=name.replace("-", "_"), batch_size=batch_size
        )

    make.__doc__ = f"{config_name} at width {width_mult}, resolution {resolution}"
    make.spec = ("ofa", config_name, width_mult, resolution)
    return make


#: The TinyOps paper's model-zoo rows (tinyops_model_zoo.csv, see
#: tinyops_tflm.validation.zoo_table): name -> (net config, width, resolution).  MbV3
#: w1.00-r160 is on both boards' rows, so 11 rows are 10 models.
_PAPER_SPECS = {
    "mbv3-w1.00-r160": ("mbv3-w1.00-r224", 1.00, 160),
    "mbv3-w0.75-r128": ("mbv3-w1.00-r224", 0.75, 128),
    "mbv3-w0.55-r128": ("mbv3-w1.00-r224", 0.55, 128),
    "mbv3-w0.50-r112": ("mbv3-w1.00-r224", 0.50, 112),
    "mcunet-in2-r160": ("mcunet-256kb-1mb_imagenet", 1.00, 160),
    "mcunet-in3-r176": ("mcunet-320kb-1mb_imagenet", 1.00, 176),
    "proxyless-w0.30-r144": ("proxyless-w0.3-r176_imagenet", 1.00, 144),
    "proxyless-w0.30-r176": ("proxyless-w0.3-r176_imagenet", 1.00, 176),
    "mnasnet-w1.00-r80": ("mnasnet-b1-w1.00-r224", 1.00, 80),
    "mnasnet-w1.00-r128": ("mnasnet-b1-w1.00-r224", 1.00, 128),
}

_PAPER_MODELS: dict[str, Callable] = {n: _paper_model(*spec, n) for n, spec in _PAPER_SPECS.items()}


_MODELS: dict[str, Callable] = {
    "demo_tiny": _demo_tiny,
    "mobilenet_v2_a035_r96": _mobilenet_v2_a035_r96,
    "mobilenet_v3_small_r224": _mobilenet_v3_small_r224,
    "mobilenet_v3_large_r160": _mobilenet_v3_large_r160,
    "efficientnet_b0_r128": _efficientnet_b0_r128,
}


#: Short names accepted by build()/cached() (not listed by list_models()).
ALIASES = {
    "mobilenet_v3_small": "mobilenet_v3_small_r224",
    "mobilenet_v3_large": "mobilenet_v3_large_r160",
    "mobilenet_v2": "mobilenet_v2_a035_r96",
    "efficientnet_b0": "efficientnet_b0_r128",
}


def list_models() -> list[str]:
    """Canonical names accepted by :func:`build` and :func:`cached` (the
    general zoo; the paper's models are in :func:`paper_models`)."""
    return list(_MODELS)


def paper_models() -> list[str]:
    """The TinyOps paper's models (its model-zoo table's rows, from published
    net configs), also accepted by :func:`build` and :func:`cached`; the MbV3
    rows first, headline first."""
    return list(_PAPER_MODELS)


def paper_spec(name: str) -> tuple[str, float, int]:
    """(net config name, width multiplier, resolution) of paper model ``name``."""
    if name not in _PAPER_SPECS:
        raise ValueError(f"unknown paper model {name!r}; known: {', '.join(_PAPER_SPECS)}")
    return _PAPER_SPECS[name]


def _canonical(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in _MODELS and name not in _PAPER_MODELS:
        known = ", ".join([*_MODELS, *_PAPER_MODELS])
        raise ValueError(f"unknown zoo model {name!r}; known: {known}")
    return name


def keras_model(
    name: str,
    width: float | None = None,
    resolution: int | None = None,
    batch_size: int | None = None,
    num_classes: int | None = None,
):
    """The Keras model of zoo row ``name`` (Keras' random initialisation, BN
    not calibrated: a starting point for training), optionally at another
    ``width`` multiplier (OFA configs; ``alpha`` of MobileNets), ``resolution``
    or number of classes.  ``batch_size=None`` gives a dynamic batch."""
    from ..errors import NetConfigError

    name = _canonical(name)
    make = _MODELS.get(name) or _PAPER_MODELS[name]
    spec = getattr(make, "spec", None)
    if name == "demo_tiny":
        if width is not None:
            raise NetConfigError(f"zoo model {name!r} has no width multiplier")
        res = 64 if resolution is None else int(resolution)
        return netbuild.demo_tiny(res, batch_size, 10 if num_classes is None else int(num_classes))
    if spec is None:  # a row without (kind, arch, width, resolution): as registered
        if (width, resolution, num_classes) != (None, None, None):
            raise NetConfigError(f"zoo model {name!r} takes no width/resolution/classes overrides")
        import tensorflow as tf

        return make(tf, batch_size=batch_size)
    kind, arch, w, res = spec
    w = w if width is None else float(width)
    res = res if resolution is None else int(resolution)
    if kind == "keras":
        return netbuild.keras_application(arch, res, w, batch_size, num_classes)
    return netbuild.ofa_net(
        net_config(arch),
        w,
        res,
        batch_size=batch_size,
        name=name.replace("-", "_").replace(".", "_"),
        num_classes=num_classes,
    )


# ----------------------------------------------------------------------------
# Calibration and conversion
# ----------------------------------------------------------------------------


def _calibrate_batchnorm(tf, model, rng: np.random.Generator) -> None:
    """Give every BN mild random gamma/beta, then set its moving statistics to
    the batch statistics of its input on random images: one training-mode pass
    with momentum 0 and dropout off normalizes every BN with exactly the
    statistics its input has when all earlier BNs are calibrated."""
    bns = [l for l in netbuild.all_layers(model) if isinstance(l, tf.keras.layers.BatchNormalization)]
    for layer in netbuild.all_layers(model):
        if isinstance(layer, tf.keras.layers.Dropout):
            layer.rate = 0.0
    for bn in bns:
        n = int(bn.moving_mean.shape[0])
        # gamma/beta first: they shape the input statistics of later layers
        if bn.gamma is not None:
            bn.gamma.assign(rng.uniform(0.6, 1.4, size=n).astype(np.float32))
        if bn.beta is not None:
            bn.beta.assign(rng.uniform(-0.3, 0.3, size=n).astype(np.float32))
        bn.momentum = 0.0
    shape = (_NUM_CALIBRATION,) + tuple(model.input_shape[1:])
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    model(x, training=True)
    for bn in bns:
        bn.momentum = 0.99


def _convert(tf, model, rng: np.random.Generator) -> bytes:
    shape = (1,) + tuple(model.input_shape[1:])
    reps = [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for _ in range(_NUM_REPRESENTATIVE)]

    def representative_dataset():
        for r in reps:
            yield [r]

    return to_int8_tflite(tf, model, representative_dataset)


def build(name: str, seed: int = 0) -> bytes:
    """Build zoo model ``name`` with random weights from ``seed``; returns the
    full-int8 ``.tflite`` bytes (int8 input in [-1, 1], int8 logits).  Takes
    seconds to a minute (TensorFlow); see :func:`cached`."""
    name = _canonical(name)
    return _build_int8(_MODELS.get(name) or _PAPER_MODELS[name], seed, name)


def build_from_config(
    config: dict, resolution: int | None = None, width_mult: float = 1.0, seed: int = 0, name: str = "net"
) -> bytes:
    """Build an OFA/ProxylessNAS/MCUNet-style net config (a dict in the JSON
    format of ``data/net_configs``) at ``width_mult`` and ``resolution``
    (default: the config's) like the paper models: TF 'SAME' padding, random
    seeded weights, calibrated BN, full-int8 conversion."""
    if not isinstance(config, dict) or "first_conv" not in config or "blocks" not in config:
        raise ValueError("a net config is a dict with 'first_conv', 'blocks' and 'classifier'")

    def make(tf):
        return _ofa_net(tf, config, width_mult, resolution, name=name.replace("-", "_"))

    return _build_int8(make, seed, name)


def _build_int8(make: Callable, seed: int, name: str) -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # silence Keras' input-structure warning (batch-16 calibration of a
        # batch-1 model), the converter's notes and the SavedModel export banner
        warnings.simplefilter("ignore")
        tf.keras.utils.set_random_seed(seed)
        tf.keras.backend.clear_session()
        model = make(tf)
        rng = np.random.default_rng([seed, 0x7A11])
        _calibrate_batchnorm(tf, model, rng)
        data = _convert(tf, model, rng)
    _check_output_quantization(name, data)
    return data


def _check_output_quantization(name: str, data: bytes) -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    t = sg.Tensors(sg.Outputs(0))
    q = t.Quantization()
    scale = q.Scale(0) if q is not None and q.ScaleLength() else 0.0
    if not 1e-4 < scale < 1e3:
        raise RuntimeError(f"zoo model {name!r}: degenerate int8 output scale {scale:g} after calibration")


# ----------------------------------------------------------------------------
# Cache
# ----------------------------------------------------------------------------


def _tf_version() -> str:
    from importlib import metadata

    for dist in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    import tensorflow as tf  # pragma: no cover - unusual installs

    return tf.__version__


def default_cache_dir() -> Path:
    """``$TINYOPS_CACHE`` if set, else ``~/.cache/tinyops_tflm/models``."""
    env = os.environ.get("TINYOPS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinyops_tflm" / "models"


def cached(name: str, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> bytes:
    """Like :func:`build`, but reuse ``<cache>/<name>-s<seed>-tf<version>-r<recipe>.tflite``
    when present.  Written atomically (temp file + rename), so parallel test
    workers may race safely."""
    name = _canonical(name)
    return _cached_file(f"{name}-s{int(seed)}", cache_dir, lambda: build(name, seed))


def cached_from_config(
    config: dict,
    resolution: int | None = None,
    width_mult: float = 1.0,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    name: str = "net",
) -> bytes:
    """Like :func:`build_from_config`, cached under a digest of the config,
    width, resolution and seed (the config's ``_source`` note excluded)."""
    import hashlib
    import json

    arch = {k: v for k, v in config.items() if not k.startswith("_")}
    key = json.dumps([arch, float(width_mult), resolution, int(seed)], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return _cached_file(
        f"config-{digest}", cache_dir, lambda: build_from_config(config, resolution, width_mult, seed, name)
    )


def _cached_file(stem: str, cache_dir: str | os.PathLike | None, make: Callable[[], bytes]) -> bytes:
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = d / f"{stem}-tf{_tf_version()}-r{RECIPE_VERSION}.tflite"
    if path.is_file():
        data = path.read_bytes()
        if len(data) > 8 and data[4:8] == b"TFL3":
            return data
    data = make()
    write_atomically(path, data, mode=0o644)  # shared cache: readable by all
    return data


# ----------------------------------------------------------------------------
# Inspection
# ----------------------------------------------------------------------------


def op_counts(model: bytes) -> dict[str, int]:
    """Builtin operator name -> number of uses in subgraph 0 of ``model``."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    m = schema.Model.GetRootAs(model, 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        codes.append(max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()))
    sg = m.Subgraphs(0)
    counts: dict[str, int] = {}
    for i in range(sg.OperatorsLength()):
        n = names.get(codes[sg.Operators(i).OpcodeIndex()], "CUSTOM")
        counts[n] = counts.get(n, 0) + 1
    return dict(sorted(counts.items()))


_WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def macs(model: bytes) -> int:
    """Multiply-accumulates of one inference of ``model``
    (:func:`tinyops_tflm.frontend.metrics.graph_macs`: convolutions, fully connected,
    pools, element-wise ADD/MUL and MEAN)."""
    from ..frontend.metrics import graph_macs
    from ..frontend.reader import read_model

    return graph_macs(read_model(model))


def params(model: bytes, biases: bool = True) -> int:
    """Number of trainable parameters of ``model``: the elements of the
    constant weight (and, if ``biases``, bias = folded BatchNorm) tensors of
    its CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED/TRANSPOSE_CONV ops; each
    shared tensor counted once."""
    from ..frontend.reader import read_model

    graph = read_model(model)
    seen: set[int] = set()
    for op in graph.operators:
        if op.name not in _WEIGHT_OPS:
            continue
        for slot, i in enumerate(op.inputs):
            if i < 0:
                continue
            if op.name == "TRANSPOSE_CONV":
                take = slot == 1 or (biases and slot == 3)
            else:
                take = slot == 1 or (biases and slot == 2)
            if take and graph.tensors[i].is_constant:
                seen.add(i)
    return sum(graph.tensors[i].size for i in seen)
