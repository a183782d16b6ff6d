"""Single-op builders of the element-wise ops: ADD and MUL (with numpy
broadcasting), the activations (HARD_SWISH, LOGISTIC, RELU, RELU6,
LEAKY_RELU, SOFTMAX) and QUANTIZE / DEQUANTIZE."""

from __future__ import annotations

import math

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .draw import (
    activation_code,
    covering_quant,
    draw_quant,
    draw_zp,
    f32,
    finish,
    int8_dev,
    log_uniform,
    out_quant,
    pick,
    rand_activation,
    rand_shape,
    rand_shape4,
    real_range,
)
from .tflite_model import OpSpec, TensorSpec


def _broadcast_pair(rng) -> tuple[tuple[int, ...], tuple[int, ...]]:
    full = rand_shape4(rng, max_hw=6, max_c=12)
    mode = int(rng.integers(0, 4))
    if mode == 0:
        return full, full
    other = list(full)
    for i in range(4):
        if rng.random() < 0.5:
            other[i] = 1
    if mode == 1:
        return full, tuple(other)
    if mode == 2:
        return tuple(other), full
    # fewer dims on the second operand (e.g. [C] against NHWC)
    nd = int(rng.integers(1, 4))
    return full, tuple(other[-nd:])


def _binary(op: str, rng, shape1, shape2, activation, in1_scale, in1_zp, in2_scale, in2_zp, out_scale, out_zp):
    if shape1 is None and shape2 is None:
        shape1, shape2 = _broadcast_pair(rng)
    elif shape1 is None or shape2 is None:
        shape1 = shape2 = tuple(shape1 if shape1 is not None else shape2)
    shape1, shape2 = tuple(shape1), tuple(shape2)
    try:
        out_shape = tuple(np.broadcast_shapes(shape1, shape2))
    except ValueError:
        raise ValueError(f"{op}: shapes {shape1} and {shape2} do not broadcast") from None
    if len(out_shape) > 4 and shape1 != shape2:
        raise ValueError(f"{op}: TFLM broadcasts at most 4-D shapes, got {out_shape}")
    activation = pick(activation, lambda: rand_activation(rng))
    s1, z1 = draw_quant(rng, in1_scale, in1_zp)
    s2, z2 = draw_quant(rng, in2_scale, in2_zp, lambda r: s1 * log_uniform(r, 0.25, 4.0) if r.random() < 0.8 else s1)
    if op == "ADD":
        std = math.hypot(s1 * int8_dev(z1), s2 * int8_dev(z2))
        opt = schema.AddOptionsT()
    else:
        std = s1 * s2 * int8_dev(z1) * int8_dev(z2)
        opt = schema.MulOptionsT()
    out_scale, out_zp = out_quant(rng, activation, std, out_scale, out_zp)
    if op == "ADD" and 2 * max(s1, s2) / (2**20 * out_scale) >= 1.0:
        raise ValueError("ADD: TFLM requires out_scale > 2*max(in_scale)/2**20 (else it aborts in Prepare)")
    opt.fusedActivationFunction = activation_code(activation)
    tensors = [
        TensorSpec("input1", shape1, np.int8, s1, z1),
        TensorSpec("input2", shape2, np.int8, s2, z2),
        TensorSpec("output", out_shape, np.int8, out_scale, out_zp),
    ]
    params = dict(
        shape1=shape1,
        shape2=shape2,
        activation=activation,
        in1_scale=s1,
        in1_zp=z1,
        in2_scale=s2,
        in2_zp=z2,
        out_scale=out_scale,
        out_zp=out_zp,
    )
    return finish(op, params, tensors, [OpSpec(op, opt, [0, 1], [2])], [0, 1], [2])


def add(
    rng,
    *,
    shape1=None,
    shape2=None,
    activation=None,
    in1_scale=None,
    in1_zp=None,
    in2_scale=None,
    in2_zp=None,
    out_scale=None,
    out_zp=None,
) -> tuple[bytes, dict]:
    """ADD with numpy broadcasting (<= 4-D).  TFLM aborts (CHECK) in Prepare
    unless 2*max(in1_scale, in2_scale) / (2**20 * out_scale) < 1."""
    return _binary("ADD", rng, shape1, shape2, activation, in1_scale, in1_zp, in2_scale, in2_zp, out_scale, out_zp)


def mul(
    rng,
    *,
    shape1=None,
    shape2=None,
    activation=None,
    in1_scale=None,
    in1_zp=None,
    in2_scale=None,
    in2_zp=None,
    out_scale=None,
    out_zp=None,
) -> tuple[bytes, dict]:
    """MUL with numpy broadcasting (<= 4-D); any scales."""
    return _binary("MUL", rng, shape1, shape2, activation, in1_scale, in1_zp, in2_scale, in2_zp, out_scale, out_zp)


def _unary(op, shape, in_scale, in_zp, out_scale, out_zp, opt=None, **extra_params):
    tensors = [
        TensorSpec("input", shape, np.int8, in_scale, in_zp),
        TensorSpec("output", shape, np.int8, out_scale, out_zp),
    ]
    params = dict(shape=shape, in_scale=in_scale, in_zp=in_zp, out_scale=out_scale, out_zp=out_zp, **extra_params)
    return finish(op, params, tensors, [OpSpec(op, opt, [0], [1])], [0], [1])


def hard_swish(rng, *, shape=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None) -> tuple[bytes, dict]:
    """HARD_SWISH.  TFLM requires in_scale/(128*out_scale) < 1 (output
    multiplier exponent <= 0); the default output range covers
    [-0.375, max(x)]."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp, lambda r: log_uniform(r, 5e-3, 8e-2))
    _, hi = real_range(in_scale, in_zp)
    if out_scale is None or out_zp is None:
        out_scale, out_zp = covering_quant(rng, -0.375, hi * min(max(hi + 3, 0), 6) / 6, out_scale, out_zp)
    if in_scale / (128.0 * out_scale) >= 1.0:
        raise ValueError("HARD_SWISH: TFLM requires in_scale < 128*out_scale")
    return _unary("HARD_SWISH", shape, in_scale, in_zp, f32(out_scale), int(out_zp), schema.HardSwishOptionsT())


def logistic(rng, *, shape=None, in_scale=None, in_zp=None) -> tuple[bytes, dict]:
    """LOGISTIC; output fixed to scale 1/256, zp -128 (TFLM checks the zp and
    its int8 kernel assumes the scale)."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp, lambda r: log_uniform(r, 5e-3, 1e-1))
    return _unary("LOGISTIC", shape, in_scale, in_zp, 1.0 / 256, -128)


def relu(rng, *, shape=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None) -> tuple[bytes, dict]:
    """RELU; TFLM requantizes (in/out quantization may differ)."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp)
    _, hi = real_range(in_scale, in_zp)
    out_scale = f32(pick(out_scale, lambda: max(hi, in_scale) / 255.0 * log_uniform(rng, 0.6, 1.6)))
    out_zp = int(pick(out_zp, lambda: -128 if rng.random() < 0.6 else draw_zp(rng, -128, 0)))
    return _unary("RELU", shape, in_scale, in_zp, out_scale, out_zp)


def relu6(rng, *, shape=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """RELU6.  TFLM's int8 kernel only clamps to [q(0), q(6)] computed with the
    INPUT quantization and ignores the output's, so one ``scale``/``zp`` is
    used for both."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    scale, zp = draw_quant(rng, scale, zp, lambda r: log_uniform(r, 1e-2, 8e-2))
    return _unary("RELU6", shape, scale, zp, scale, zp)


def leaky_relu(
    rng, *, shape=None, alpha=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None
) -> tuple[bytes, dict]:
    """LEAKY_RELU (alpha in LeakyReluOptions); in/out quantization may differ."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    alpha = f32(pick(alpha, lambda: float(rng.choice([0.01, 0.1, 0.2, 0.3, 0.5]))))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp)
    lo, hi = real_range(in_scale, in_zp)
    ylo, yhi = min(alpha * lo, alpha * hi, lo if alpha > 1 else 0.0), max(hi, alpha * lo)
    out_scale, out_zp = covering_quant(rng, ylo, yhi, out_scale, out_zp)
    opt = schema.LeakyReluOptionsT()
    opt.alpha = alpha
    return _unary("LEAKY_RELU", shape, in_scale, in_zp, out_scale, out_zp, opt, alpha=alpha)


def softmax(rng, *, shape=None, beta=None, in_scale=None, in_zp=None) -> tuple[bytes, dict]:
    """SOFTMAX over the last axis; output fixed to scale 1/256, zp -128 (TFLM
    checks both).  Note: TFLM aborts the process for some input scales; run
    such models through :func:`tinyops_tflm.validation.oracle.run_tflm`."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    beta = f32(pick(beta, lambda: float(rng.choice([1.0, 1.0, 0.5, 2.0]))))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp, lambda r: log_uniform(r, 1e-2, 2e-1))
    opt = schema.SoftmaxOptionsT()
    opt.beta = beta
    return _unary("SOFTMAX", shape, in_scale, in_zp, 1.0 / 256, -128, opt, beta=beta)


def quantize(
    rng, *, shape=None, input_dtype=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None
) -> tuple[bytes, dict]:
    """QUANTIZE float32->int8 (``input_dtype="float32"``) or int8->int8
    requantization (``"int8"``).  Output is per-tensor (TFLM requires it).
    ``meta["float_range"]`` is the range :func:`random_inputs` draws floats from."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    input_dtype = np.dtype(pick(input_dtype, lambda: str(rng.choice(["float32", "int8"]))))
    out_scale, out_zp = draw_quant(rng, out_scale, out_zp)
    lo, hi = real_range(out_scale, out_zp)
    margin = 0.1 * (hi - lo)
    if input_dtype == np.float32:
        tensors = [TensorSpec("input", shape, np.float32), TensorSpec("output", shape, np.int8, out_scale, out_zp)]
        params = dict(shape=shape, input_dtype="float32", out_scale=out_scale, out_zp=out_zp)
    elif input_dtype == np.int8:
        in_scale, in_zp = draw_quant(rng, in_scale, in_zp, lambda r: out_scale * log_uniform(r, 0.3, 3.0))
        tensors = [
            TensorSpec("input", shape, np.int8, in_scale, in_zp),
            TensorSpec("output", shape, np.int8, out_scale, out_zp),
        ]
        params = dict(
            shape=shape, input_dtype="int8", in_scale=in_scale, in_zp=in_zp, out_scale=out_scale, out_zp=out_zp
        )
    else:
        raise ValueError(f"QUANTIZE: input_dtype must be float32 or int8, got {input_dtype}")
    return finish(
        "QUANTIZE",
        params,
        tensors,
        [OpSpec("QUANTIZE", None, [0], [1])],
        [0],
        [1],
        float_range=(lo - margin, hi + margin),
    )


def dequantize(rng, *, shape=None, in_scale=None, in_zp=None) -> tuple[bytes, dict]:
    """DEQUANTIZE int8 -> float32."""
    shape = tuple(pick(shape, lambda: rand_shape(rng)))
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp)
    tensors = [TensorSpec("input", shape, np.int8, in_scale, in_zp), TensorSpec("output", shape, np.float32)]
    params = dict(shape=shape, in_scale=in_scale, in_zp=in_zp)
    return finish("DEQUANTIZE", params, tensors, [OpSpec("DEQUANTIZE", None, [0], [1])], [0], [1])
