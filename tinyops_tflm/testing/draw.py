"""What the single-op builders share: drawing parameters and quantization
that TFLM's Prepare accepts and that keep int8 outputs informative for
uniformly random inputs, finishing a builder's ``(model_bytes, meta)``, and
:func:`random_inputs` for a ``meta``."""

from __future__ import annotations

import math

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .tflite_model import build_model

#: Fused activation names accepted by the builders.
ACTIVATIONS = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": schema.ActivationFunctionType.RELU6,
}
PADDINGS = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


def random_inputs(meta: dict, rng: np.random.Generator) -> list[np.ndarray]:
    """One random input set for a builder's ``meta``: int8 tensors uniform over
    [-128, 127]; float inputs uniform over the real range covered by the
    op's output quantization (plus a margin, to exercise saturation)."""
    out = []
    for t in meta["inputs"]:
        if t.dtype == np.int8:
            out.append(rng.integers(-128, 127, size=t.shape, endpoint=True, dtype=np.int8))
        elif t.dtype == np.int16:
            out.append(rng.integers(-32768, 32767, size=t.shape, endpoint=True, dtype=np.int16))
        elif t.dtype == np.float32:
            lo, hi = meta.get("float_range", (-1.0, 1.0))
            out.append(rng.uniform(lo, hi, size=t.shape).astype(np.float32))
        else:
            raise ValueError(f"random_inputs: unsupported input dtype {t.dtype} of {t.name!r}")
    return out


def int8_dev(zp: int) -> float:
    """std of (x - zp) for x uniform over int8: sqrt(var + mean^2)."""
    return math.sqrt(73.9**2 + (zp + 0.5) ** 2)


TARGET_LSB = 40.0  # target std of outputs, in output LSBs


def pick(v, default_fn):
    return default_fn() if v is None else v


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def f32(x) -> float:
    """Round to float32, as the scale is stored in the flatbuffer."""
    return float(np.float32(x))


def draw_scale(rng) -> float:
    return f32(log_uniform(rng, 2e-3, 1e-1))


def draw_zp(rng, lo=-128, hi=127) -> int:
    return int(rng.integers(lo, hi, endpoint=True))


def draw_quant(rng, scale, zp, draw=draw_scale) -> tuple[float, int]:
    """``(scale, zp)`` as given, each part left at None drawn (scale first)."""
    scale = f32(pick(scale, lambda: draw(rng)))
    zp = int(pick(zp, lambda: draw_zp(rng)))
    return scale, zp


def activation_code(name: str) -> int:
    try:
        return ACTIVATIONS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown fused activation {name!r}; expected one of {list(ACTIVATIONS)}") from None


def padding_code(name: str) -> int:
    try:
        return PADDINGS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown padding {name!r}; expected SAME or VALID") from None


def pair(v) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Output extent of a convolution/pool along one axis (TF semantics)."""
    eff = (kernel - 1) * dilation + 1
    if padding.upper() == "SAME":
        return (size + stride - 1) // stride
    return (size - eff + stride) // stride


def finish(op: str, params: dict, tensors, ops, inputs, outputs, **extra) -> tuple[bytes, dict]:
    model = build_model(tensors, ops, inputs, outputs, description=f"tinyops single-op {op}")
    meta = {
        "op": op,
        "params": params,
        "inputs": [tensors[i] for i in inputs],
        "outputs": [tensors[i] for i in outputs],
        "tensors": list(tensors),
    }
    meta.update(extra)
    return model, meta


def rand_shape4(rng, max_hw=10, max_c=16) -> tuple[int, int, int, int]:
    return (1, int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_c + 1)))


def rand_activation(rng) -> str:
    return str(rng.choice(list(ACTIVATIONS)))


def out_quant(rng, activation: str, std: float, out_scale, out_zp) -> tuple[float, int]:
    """Output quantization for a value of standard deviation ``std`` (real
    units) followed by a fused ``activation``, like the converter would pick
    it: the int8 range covers roughly what survives the activation."""
    f = log_uniform(rng, 0.6, 1.6)
    act = activation.upper()
    if act == "NONE":
        scale = std / TARGET_LSB * f
        zp_fn = lambda: draw_zp(rng, -64, 64)  # noqa: E731
    elif act == "RELU":
        scale = 3.0 * std / 255.0 * f
        zp_fn = lambda: draw_zp(rng, -128, -100)  # noqa: E731
    elif act == "RELU6":
        scale = min(6.0, 3.0 * std) / 255.0 * f
        zp_fn = lambda: draw_zp(rng, -128, -100)  # noqa: E731
    else:  # RELU_N1_TO_1
        scale = min(2.0, 6.0 * std) / 255.0 * f
        zp_fn = lambda: int(np.clip(round(-128 + min(1.0, 3.0 * std) / out_scale_v), -128, 127))  # noqa: E731
    out_scale_v = f32(out_scale if out_scale is not None else scale)
    out_zp_v = int(out_zp if out_zp is not None else zp_fn())
    return out_scale_v, out_zp_v


def rand_shape(rng) -> tuple[int, ...]:
    nd = int(rng.integers(1, 5))
    return tuple(int(rng.integers(1, 9)) for _ in range(nd))


def real_range(scale: float, zp: int) -> tuple[float, float]:
    return (-128 - zp) * scale, (127 - zp) * scale


def range_quant(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 quantization covering [lo, hi] (lo <= 0 <= hi)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = f32(max(hi - lo, 1e-6) / 255.0)
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zp


def covering_quant(rng, lo: float, hi: float, out_scale, out_zp) -> tuple[float, int]:
    """Output quantization covering about [lo, hi] (the scale off by a random
    factor in [0.7, 1.4], as a converter's calibration would be), the zero
    point keeping lo (or 0) at -128."""
    s, _ = range_quant(lo, hi)
    f = log_uniform(rng, 0.7, 1.4)
    out_scale = f32(pick(out_scale, lambda: s * f))
    out_zp = int(pick(out_zp, lambda: int(np.clip(round(-128 - min(lo, 0.0) / out_scale), -128, 127))))
    return out_scale, out_zp
