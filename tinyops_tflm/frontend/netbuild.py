"""Keras builders of the project's architectures (randomly initialised).

Public so that a user can go from an architecture to a trained model
(``tinyops build-net``); :mod:`tinyops_tflm.validation.zoo` builds its rows with the
same functions (batch 1, then calibrates and converts them).

* :func:`ofa_net` - any OFA / ProxylessNAS / MCUNet net config (the JSON those
  projects publish: ``first_conv``, ``blocks`` of MBInvertedConvLayer,
  ``feature_mix_layer`` / ``final_expand_layer``, ``classifier``) as a Keras
  functional model with the paper's conventions: TF 'SAME' padding (so the
  int8 graph has no PAD ops), ReLU6 / ReLU / h-swish, SE where the config has
  it, BN after every conv (folded by the TFLite converter);
* :func:`keras_application` - MobileNetV2/V3 and EfficientNetB0 from
  ``tf.keras.applications`` (weights=None, no softmax);
* :func:`demo_tiny` - the bundled demo model's architecture.

Every builder takes ``batch_size``: ``None`` (dynamic) for training, ``1`` for
conversion to TFLite (a static batch keeps reshapes static: no
SHAPE/STRIDED_SLICE/PACK chains).  No builder adds a softmax: TFLM aborts on
int8 SOFTMAX when the logits' scale is tiny, and top-k does not need it.

TensorFlow is imported inside the functions; importing this module does not
need it.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from ..errors import NetConfigError

__all__ = [
    "make_divisible",
    "net_config",
    "load_net_config",
    "ofa_net",
    "keras_application",
    "demo_tiny",
    "hard_sigmoid",
    "hard_swish",
    "set_num_classes",
    "with_batch_size",
    "KERAS_APPLICATIONS",
]


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _input(tf, res: int, batch_size: int | None):
    return tf.keras.Input(shape=(res, res, 3), batch_size=batch_size)


def hard_sigmoid(x):
    """ReLU6(x + 3) / 6 (converts to int8 ADD/RELU6/MUL, or fuses into HARD_SWISH)."""
    layers = _tf().keras.layers
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    """x * hard_sigmoid(x) (the converter emits one HARD_SWISH op)."""
    layers = _tf().keras.layers
    return layers.Multiply()([x, hard_sigmoid(x)])


def make_divisible(v: float, divisor: int = 8) -> int:
    """OFA's make_divisible: nearest multiple of ``divisor`` (at least
    ``divisor``), never more than 10 % below ``v``."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# ----------------------------------------------------------------------------
# Net configs
# ----------------------------------------------------------------------------


def net_config(name: str = "mbv3-w1.00-r224") -> dict:
    """The OFA/ProxylessNAS JSON net config ``name`` bundled as package data
    (``tinyops_tflm/data/net_configs/<name>.json``)."""
    from importlib import resources

    f = resources.files("tinyops_tflm") / "data" / "net_configs" / f"{name}.json"
    if not f.is_file():
        raise NetConfigError(f"unknown net config {name!r}")
    return json.loads(f.read_text(encoding="utf-8"))


def load_net_config(path: str | os.PathLike) -> dict:
    """A net config from a JSON file, checked for the keys :func:`ofa_net` needs."""
    p = Path(path)
    try:
        config = json.loads(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise NetConfigError(f"cannot read net config {str(p)!r}: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NetConfigError(f"net config {str(p)!r} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise NetConfigError(f"net config {str(p)!r}: expected a JSON object")
    missing = [k for k in ("first_conv", "blocks", "classifier") if k not in config]
    if missing:
        raise NetConfigError(
            f"net config {str(p)!r} lacks {', '.join(missing)} (expected the OFA/ProxylessNAS net config layout)"
        )
    return config


def ofa_net(
    config: dict,
    width_mult: float = 1.0,
    resolution: int | None = None,
    batch_size: int | None = None,
    name: str = "ofa_net",
    num_classes: int | None = None,
    dropout: bool | None = None,
):
    """Keras model of an OFA/ProxylessNAS net config, following the JSON:
    ``first_conv`` (ConvLayer), ``blocks`` (MobileInvertedResidualBlock of an
    MBInvertedConvLayer = [expand 1x1 + BN + act] + depthwise kxk/s + BN + act
    + [SE] + project 1x1 + BN, plus the input when ``shortcut`` is an
    IdentityLayer), the pre-pool 1x1 ConvLayer (``feature_mix_layer``, or
    ``final_expand_layer`` in OFA-MobileNetV3 configs), global average pool,
    the post-pool 1x1 ConvLayer (``final_conv``, or ``feature_mix_layer`` in
    OFA-MobileNetV3 configs) and the ``classifier`` LinearLayer as a 1x1 conv
    + reshape (as the paper's TF export), without softmax.  Padding is TF 'SAME' (no PAD
    ops in the int8 graph).  BN momentum and eps come from the config's
    ``bn`` (PyTorch convention, momentum 0.1 -> Keras 0.9).

    ``width_mult`` scales every channel count except the 3 input channels and
    the classifier's outputs, rounded by OFA's make_divisible(., 8); expanded
    channels are make_divisible(round(in * expand_ratio)) (exactly
    round(in * expand_ratio), as the JSON says, at width 1).  ``resolution``
    overrides the config's, ``num_classes`` the classifier's ``out_features``.
    ``dropout``: add the classifier's ``dropout_rate`` as a Dropout layer;
    default: for a dynamic batch (a training build) only, since the layer
    draws from Keras' seed stream and would change the random weights of the
    zoo's seeded batch-1 builds."""
    tf = _tf()
    layers = tf.keras.layers
    try:
        eps = float(config.get("bn", {}).get("eps", 1e-3))
        # the configs use PyTorch's convention (new-statistics weight, 0.1);
        # Keras' momentum is the old-statistics weight
        bn_momentum = 1.0 - float(config.get("bn", {}).get("momentum", 0.1))
        res = int(resolution if resolution is not None else config.get("resolution", 224))
    except (TypeError, ValueError, AttributeError) as err:
        raise NetConfigError(f"bad 'bn' or 'resolution' in net config: {err}") from None
    if res < 8:
        raise NetConfigError(f"resolution {res} is too small")
    if not width_mult > 0:
        raise NetConfigError(f"width multiplier must be positive, got {width_mult}")
    scaled = width_mult != 1.0

    def ch(c: int) -> int:
        return make_divisible(c * width_mult) if scaled else int(c)

    def act(x, kind):
        if kind is None:
            return x
        if kind == "relu6":
            return layers.ReLU(6.0)(x)
        if kind == "relu":
            return layers.ReLU()(x)
        if kind == "h_swish":
            return hard_swish(x)
        raise NetConfigError(f"unsupported act_func {kind!r}")

    def bn(x):
        return layers.BatchNormalization(epsilon=eps, momentum=bn_momentum)(x)

    def conv_layer(x, c: dict, out_ch: int):
        if c.get("name") != "ConvLayer":
            raise NetConfigError(f"expected a ConvLayer, got {c.get('name')!r}")
        if c.get("ops_order", "weight_bn_act") != "weight_bn_act" or c.get("dilation", 1) != 1:
            raise NetConfigError(f"unsupported ConvLayer {c}")
        k, s, groups = int(c["kernel_size"]), int(c.get("stride", 1)), int(c.get("groups", 1))
        in_ch = int(x.shape[-1])
        if groups == 1:
            x = layers.Conv2D(out_ch, k, strides=s, padding="same", use_bias=bool(c.get("bias")))(x)
        elif groups == in_ch == out_ch:
            x = layers.DepthwiseConv2D(k, strides=s, padding="same", use_bias=bool(c.get("bias")))(x)
        else:
            raise NetConfigError(f"unsupported grouped ConvLayer {c}")
        if c.get("use_bn"):
            x = bn(x)
        return act(x, c.get("act_func"))

    def se(x, channels: int):
        mid = make_divisible(channels // 4)  # OFA SEModule, reduction 4
        s = layers.GlobalAveragePooling2D(keepdims=True)(x)
        s = layers.ReLU()(layers.Conv2D(mid, 1, padding="same")(s))
        s = hard_sigmoid(layers.Conv2D(channels, 1, padding="same")(s))
        return layers.Multiply()([x, s])

    def mb_block(x, b: dict):
        conv = b.get("mobile_inverted_conv")
        if conv is None or conv.get("name") == "ZeroLayer":
            return x  # a skipped block
        if conv.get("name") != "MBInvertedConvLayer":
            raise NetConfigError(f"unsupported block layer {conv.get('name')!r}")
        inp, in_ch = x, int(x.shape[-1])
        out_ch, k, s = ch(conv["out_channels"]), int(conv["kernel_size"]), int(conv["stride"])
        # ProxylessNAS-era configs give act_func null: their MBInvertedConvLayer
        # always used ReLU6.
        kind = conv.get("act_func") or "relu6"
        e = conv.get("expand_ratio", 1)
        if conv.get("mid_channels") is not None:
            mid = ch(conv["mid_channels"])
        else:
            mid = round(in_ch * e)
            mid = make_divisible(mid) if scaled else mid
        if e != 1 or conv.get("mid_channels") is not None:
            x = act(bn(layers.Conv2D(mid, 1, padding="same", use_bias=False)(x)), kind)
        else:
            mid = in_ch
        x = act(bn(layers.DepthwiseConv2D(k, strides=s, padding="same", use_bias=False)(x)), kind)
        if conv.get("use_se"):
            x = se(x, mid)
        x = bn(layers.Conv2D(out_ch, 1, padding="same", use_bias=False)(x))
        shortcut = b.get("shortcut")
        if shortcut is not None and shortcut.get("name") != "ZeroLayer":
            if shortcut.get("name") != "IdentityLayer" or s != 1 or in_ch != out_ch:
                raise NetConfigError(f"unsupported shortcut {shortcut} (stride {s}, {in_ch}->{out_ch})")
            x = layers.Add()([inp, x])
        return x

    try:
        inp = _input(tf, res, batch_size)
        first = config["first_conv"]
        x = conv_layer(inp, first, ch(first["out_channels"]))
        for b in config["blocks"]:
            x = mb_block(x, b)
        if "final_expand_layer" in config:  # OFA MobileNetV3 layout
            pre, post = config["final_expand_layer"], config.get("feature_mix_layer")
        else:  # ProxylessNAS layout (the paper's config adds a post-pool final_conv)
            pre, post = config.get("feature_mix_layer"), config.get("final_conv")
        if pre is not None:
            x = conv_layer(x, pre, ch(pre["out_channels"]))
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        if post is not None:
            x = conv_layer(x, post, ch(post["out_channels"]))
        cls = config["classifier"]
        if cls.get("name") != "LinearLayer" or cls.get("use_bn") or cls.get("act_func"):
            raise NetConfigError(f"unsupported classifier {cls}")
        n = int(num_classes if num_classes is not None else cls["out_features"])
        rate = float(cls.get("dropout_rate") or 0.0)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise NetConfigError(f"malformed net config: {type(err).__name__}: {err}") from None
    if dropout is None:
        dropout = batch_size is None
    if dropout and rate > 0:  # training only; the converter drops it
        x = layers.Dropout(rate)(x)
    x = layers.Conv2D(n, 1, padding="same", use_bias=bool(cls.get("bias", True)))(x)
    x = layers.Reshape((n,))(x)
    return tf.keras.Model(inp, x, name=name)


# ----------------------------------------------------------------------------
# tf.keras.applications and the demo architecture
# ----------------------------------------------------------------------------

#: Architectures of :func:`keras_application` (and whether ``alpha`` applies).
KERAS_APPLICATIONS = {
    "MobileNetV2": True,
    "MobileNetV3Small": True,
    "MobileNetV3Large": True,
    "EfficientNetB0": False,
}


def keras_application(
    arch: str, resolution: int, alpha: float = 1.0, batch_size: int | None = None, num_classes: int | None = None
):
    """``tf.keras.applications.<arch>`` with random weights and no softmax.
    MobileNetV3's built-in input rescaling is disabled and EfficientNet's made
    a no-op: inputs are already normalised (to [-1, 1])."""
    if arch not in KERAS_APPLICATIONS:
        raise NetConfigError(f"unknown Keras application {arch!r}; known: {', '.join(KERAS_APPLICATIONS)}")
    if alpha != 1.0 and not KERAS_APPLICATIONS[arch]:
        raise NetConfigError(f"{arch} has no width multiplier")
    tf = _tf()
    kw = {} if num_classes is None else {"classes": int(num_classes)}
    inp = _input(tf, resolution, batch_size)
    if arch == "MobileNetV2":
        return tf.keras.applications.MobileNetV2(
            input_tensor=inp, alpha=alpha, weights=None, classifier_activation=None, **kw
        )
    if arch.startswith("MobileNetV3"):
        return getattr(tf.keras.applications, arch)(
            input_tensor=inp, alpha=alpha, weights=None, classifier_activation=None, include_preprocessing=False, **kw
        )
    m = tf.keras.applications.EfficientNetB0(input_tensor=inp, weights=None, classifier_activation=None, **kw)
    # The built-in preprocessing (x/255, then an un-adapted Normalization = identity)
    # expects [0, 255] pixels; our inputs are [-1, 1], so make the rescale a no-op.
    for layer in m.layers:
        if isinstance(layer, tf.keras.layers.Rescaling):
            layer.scale = 1.0
            layer.offset = 0.0
    return m


def demo_tiny(resolution: int = 64, batch_size: int | None = None, num_classes: int = 10):
    """MobileNetV3 block grammar at 64x64x3 (about 3.3 M MACs): conv 3x3 s2
    + hard-swish; a stride-2 depthwise block without expansion (ReLU, SE);
    two inverted residual blocks (expand 1x1, depthwise 3x3/5x5, hard-swish,
    SE = mean + 1x1 convs + hard-sigmoid + mul, project 1x1), the last one
    with a residual add; feature-mix 1x1, global average pool, dense 10."""
    tf = _tf()
    layers = tf.keras.layers

    def bn(x):
        return layers.BatchNormalization(epsilon=1e-3, momentum=0.99)(x)

    def act(x, kind):
        return layers.ReLU()(x) if kind == "relu" else hard_swish(x)

    def se(x, ch, reduced):
        s = layers.GlobalAveragePooling2D(keepdims=True)(x)
        s = layers.Conv2D(reduced, 1, padding="same")(s)
        s = layers.ReLU()(s)
        s = layers.Conv2D(ch, 1, padding="same")(s)
        s = hard_sigmoid(s)
        return layers.Multiply()([x, s])

    def block(x, expand, out, kernel, stride, kind):
        inp = x
        in_ch = x.shape[-1]
        if expand != in_ch:
            x = act(bn(layers.Conv2D(expand, 1, padding="same", use_bias=False)(x)), kind)
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False)(x)
        x = act(bn(x), kind)
        x = se(x, expand, max(8, expand // 4))
        x = bn(layers.Conv2D(out, 1, padding="same", use_bias=False)(x))
        if stride == 1 and in_ch == out:
            x = layers.Add()([inp, x])
        return x

    inp = _input(tf, resolution, batch_size)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = hard_swish(bn(x))
    x = block(x, 16, 16, 3, 2, "relu")
    x = block(x, 64, 24, 3, 1, "hswish")
    x = block(x, 72, 24, 5, 1, "hswish")
    x = layers.Conv2D(96, 1, padding="same", use_bias=False)(x)
    x = hard_swish(bn(x))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(num_classes)(x)
    return tf.keras.Model(inp, x, name="demo_tiny")


def with_config_classes(config: dict, num_classes: int) -> dict:
    """A copy of ``config`` whose classifier has ``num_classes`` outputs."""
    out = copy.deepcopy(config)
    out["classifier"]["out_features"] = int(num_classes)
    return out


# ----------------------------------------------------------------------------
# Classifier surgery (used by training when the data's classes differ)
# ----------------------------------------------------------------------------

_SHAPE_ONLY = ("Reshape", "Flatten", "Activation", "Softmax", "Dropout")


def set_num_classes(model, num_classes: int):
    """``model`` with its classifier (the last Dense or 1x1 Conv2D, possibly
    followed by reshape/activation/dropout layers) replaced by a freshly
    initialised one with ``num_classes`` outputs; ``model`` itself when it
    already has that many.  Everything before the classifier is shared."""
    tf = _tf()
    if int(model.output_shape[-1]) == num_classes:
        return model
    tail = []
    layer = model.layers[-1]
    while type(layer).__name__ in _SHAPE_ONLY:
        tail.append(layer)
        layer = _single_inbound(model, layer)
    if type(layer).__name__ not in ("Dense", "Conv2D"):
        raise NetConfigError(
            f"cannot find the classifier of {model.name!r}: its output comes "
            f"from a {type(layer).__name__} layer, not a Dense/Conv2D"
        )
    taken = {l.name for l in model.layers}

    def fresh(name: str) -> str:  # a layer name unused in the model
        new, i = f"{name}_{num_classes}", 1
        while new in taken:
            new, i = f"{name}_{num_classes}_{i}", i + 1
        taken.add(new)
        return new

    cfg = layer.get_config()
    cfg["name"] = fresh(layer.name)
    cfg["units" if "units" in cfg else "filters"] = int(num_classes)
    x = type(layer).from_config(cfg)(layer.input)
    for t in reversed(tail):
        if type(t).__name__ == "Reshape":
            x = tf.keras.layers.Reshape((num_classes,), name=fresh(t.name))(x)
        else:
            x = type(t).from_config({**t.get_config(), "name": fresh(t.name)})(x)
    return tf.keras.Model(model.inputs, x, name=model.name)


def with_batch_size(model, batch_size: int | None):
    """A functional ``model`` rebuilt with a static (or dynamic: None) batch
    size, sharing nothing but copies of its weights.  The TFLite converter
    needs batch 1 for an all-static int8 graph."""
    tf = _tf()
    if model.input_shape[0] == batch_size:
        return model
    config = model.get_config()
    inputs = [l for l in config.get("layers", []) if l.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        raise NetConfigError(f"{model.name!r}: expected a functional model with one input")
    cfg = inputs[0]["config"]
    shape = list(cfg.get("batch_shape") or cfg.get("batch_input_shape"))
    shape[0] = batch_size
    cfg["batch_shape"] = shape
    cfg.pop("batch_input_shape", None)
    clone = tf.keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def all_layers(model) -> list:
    """Every layer of ``model``, those inside nested models included (each
    nested model after its own layers)."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer is not model:
            out.extend(all_layers(layer))
        out.append(layer)
    return out


def _single_inbound(model, layer):
    src = layer.input
    hist = getattr(src, "_keras_history", None)
    if hist is None:
        raise NetConfigError(f"cannot trace the classifier of {model.name!r}")
    return hist[0]
