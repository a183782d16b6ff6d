"""Single-op builders of the pooling and reduction ops: AVERAGE_POOL_2D,
MAX_POOL_2D and MEAN."""

from __future__ import annotations

import math

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .draw import (
    activation_code,
    conv_output_size,
    draw_quant,
    f32,
    finish,
    log_uniform,
    padding_code,
    pair,
    pick,
    rand_activation,
    rand_shape4,
    range_quant,
)
from .tflite_model import OpSpec, TensorSpec


def _pool(op, rng, input_shape, filter, stride, padding, activation, scale, zp):
    input_shape = tuple(pick(input_shape, lambda: rand_shape4(rng, max_hw=12)))
    n, h, w, c = input_shape
    fh, fw = pair(pick(filter, lambda: (int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1)))))
    sh, sw = pair(pick(stride, lambda: int(rng.choice([1, 2, 2, 3]))))
    padding = pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    if padding.upper() == "VALID" and (fh > h or fw > w):
        raise ValueError(f"{op}: VALID filter {fh}x{fw} larger than input {h}x{w}")
    activation = pick(activation, lambda: rand_activation(rng) if rng.random() < 0.3 else "NONE")
    scale, zp = draw_quant(rng, scale, zp)
    oh = conv_output_size(h, fh, sh, 1, padding)
    ow = conv_output_size(w, fw, sw, 1, padding)
    opt = schema.Pool2DOptionsT()
    opt.padding = padding_code(padding)
    opt.strideH, opt.strideW = sh, sw
    opt.filterHeight, opt.filterWidth = fh, fw
    opt.fusedActivationFunction = activation_code(activation)
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("output", (n, oh, ow, c), np.int8, scale, zp),
    ]
    params = dict(
        input_shape=input_shape,
        filter=(fh, fw),
        stride=(sh, sw),
        padding=padding,
        activation=activation,
        scale=scale,
        zp=zp,
    )
    return finish(op, params, tensors, [OpSpec(op, opt, [0], [1])], [0], [1])


def average_pool_2d(
    rng, *, input_shape=None, filter=None, stride=None, padding=None, activation=None, scale=None, zp=None
) -> tuple[bytes, dict]:
    """AVERAGE_POOL_2D; TFLM requires identical input/output scale (within
    1e-6) and zero point, so there is one ``scale``/``zp``."""
    return _pool("AVERAGE_POOL_2D", rng, input_shape, filter, stride, padding, activation, scale, zp)


def max_pool_2d(
    rng, *, input_shape=None, filter=None, stride=None, padding=None, activation=None, scale=None, zp=None
) -> tuple[bytes, dict]:
    """MAX_POOL_2D; same equal-quantization constraint as average pooling."""
    return _pool("MAX_POOL_2D", rng, input_shape, filter, stride, padding, activation, scale, zp)


def mean(
    rng, *, input_shape=None, axes=None, keep_dims=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None
) -> tuple[bytes, dict]:
    """MEAN over constant int32 ``axes`` (shape [len(axes)]); in/out
    quantization may differ (requantized)."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape4(rng, max_hw=8)))
    nd = len(input_shape)
    if axes is None:
        if nd == 4 and rng.random() < 0.6:
            axes = [1, 2]
        else:
            k = int(rng.integers(1, nd + 1))
            axes = sorted(int(a) for a in rng.choice(nd, size=k, replace=False))
    axes = [int(a) for a in axes]
    keep_dims = bool(pick(keep_dims, lambda: bool(rng.random() < 0.6)))
    red = {a % nd for a in axes}
    if keep_dims:
        out_shape = tuple(1 if i in red else d for i, d in enumerate(input_shape))
    else:
        out_shape = tuple(d for i, d in enumerate(input_shape) if i not in red)
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp)
    cnt = int(np.prod([input_shape[a] for a in red]))
    # The mean of cnt uniform int8 values is about -0.5 +- 74/sqrt(cnt) input
    # LSBs; like the converter, cover that range and zero.
    centre = in_scale * (-0.5 - in_zp)
    spread = in_scale * 74.0 / math.sqrt(cnt)
    q_scale, q_zp = range_quant(centre - 2.5 * spread, centre + 2.5 * spread)
    f = log_uniform(rng, 0.7, 1.4)
    out_scale = f32(pick(out_scale, lambda: q_scale * f))
    out_zp = int(pick(out_zp, lambda: int(np.clip(round(q_zp + (-128 - q_zp) * (1 - 1 / f)), -128, 127))))
    tensors = [
        TensorSpec("input", input_shape, np.int8, in_scale, in_zp),
        TensorSpec("axes", (len(axes),), np.int32, data=np.array(axes, np.int32)),
        TensorSpec("output", out_shape, np.int8, out_scale, out_zp),
    ]
    opt = schema.ReducerOptionsT()
    opt.keepDims = keep_dims
    params = dict(
        input_shape=input_shape,
        axes=axes,
        keep_dims=keep_dims,
        in_scale=in_scale,
        in_zp=in_zp,
        out_scale=out_scale,
        out_zp=out_zp,
    )
    return finish("MEAN", params, tensors, [OpSpec("MEAN", opt, [0, 1], [2])], [0], [2])
