"""Single-op builders of the weighted ops: CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED (int8 input and output, int8 weights with per-channel or
per-tensor scales and zero point 0, optional int32 bias).  The three share
how they draw their quantization and lay out their tensors; the two
convolutions also share their window (kernel, stride, dilation, padding)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .draw import (
    activation_code,
    conv_output_size,
    draw_quant,
    f32,
    finish,
    int8_dev,
    log_uniform,
    out_quant,
    padding_code,
    pair,
    pick,
    rand_activation,
    rand_shape4,
)
from .tflite_model import OpSpec, TensorSpec

W_STD = 73.6  # std of weights uniform over [-127, 127]


def _weights(rng, shape) -> np.ndarray:
    return rng.integers(-127, 127, size=shape, endpoint=True).astype(np.int8)


def _weight_scales(rng, n: int, per_channel: bool) -> list[float]:
    base = log_uniform(rng, 2e-3, 2e-2)
    if per_channel:
        return [f32(base * rng.uniform(0.5, 2.0)) for _ in range(n)]
    return [f32(base)]


def _bias(rng, n: int, acc_std: float) -> np.ndarray:
    lim = max(1, int(acc_std))
    return rng.integers(-lim, lim, size=(n,), endpoint=True).astype(np.int32)


def _bias_scales(in_scale: float, w_scales: list[float]) -> list[float]:
    # TFLM checks (per-tensor FC) |in*w - bias_scale| / out <= 0.02; use the exact product.
    return [f32(float(np.float32(in_scale)) * float(np.float32(s))) for s in w_scales]


@dataclass
class _WeightQuant:
    """The quantization of a weighted op and the accumulator's spread it was
    chosen for (in input*filter LSBs; bounds the drawn bias)."""

    in_scale: float
    in_zp: int
    filter_scales: list[float]
    acc_std: float
    out_scale: float
    out_zp: int

    def params(self) -> dict:
        return dict(
            in_scale=self.in_scale,
            in_zp=self.in_zp,
            out_scale=self.out_scale,
            out_zp=self.out_zp,
            filter_scales=self.filter_scales,
        )


def _draw_weight_quant(rng, taps: int, n_out: int, per_channel, activation, in_scale, in_zp, out_scale, out_zp):
    """Quantization for ``taps`` products per output: the output covers the
    accumulator's spread for uniformly random int8 inputs and weights."""
    in_scale, in_zp = draw_quant(rng, in_scale, in_zp)
    w_scales = _weight_scales(rng, n_out, per_channel)
    acc_std = math.sqrt(taps) * W_STD * int8_dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale, out_zp = out_quant(rng, activation, acc_std * in_scale * gm, out_scale, out_zp)
    return _WeightQuant(in_scale, in_zp, w_scales, acc_std, out_scale, out_zp)


def _weighted_finish(
    op: str,
    rng,
    q: _WeightQuant,
    params: dict,
    opt,
    *,
    input_shape,
    filter_name: str,
    filter_shape: tuple[int, ...],
    filter_axis: int,
    bias: bool,
    bias_scale_per_output: bool,
    out_shape,
    no_bias_inputs: list[int],
) -> tuple[bytes, dict]:
    """Input, filter (weights drawn now), optional bias and output, in that
    order; ``bias_scale_per_output`` repeats a per-tensor bias scale once per
    output channel, else the bias has as many scales as the filter."""
    n_out = filter_shape[filter_axis]
    tensors = [
        TensorSpec("input", input_shape, np.int8, q.in_scale, q.in_zp),
        TensorSpec(
            filter_name,
            filter_shape,
            np.int8,
            q.filter_scales,
            [0] * len(q.filter_scales),
            filter_axis,
            _weights(rng, filter_shape),
        ),
    ]
    if bias:
        bs = _bias_scales(q.in_scale, q.filter_scales)
        if bias_scale_per_output:
            bs = bs * (n_out // len(bs))
        tensors.append(TensorSpec("bias", (n_out,), np.int32, bs, [0] * len(bs), 0, _bias(rng, n_out, q.acc_std)))
    tensors.append(TensorSpec("output", out_shape, np.int8, q.out_scale, q.out_zp))
    out_idx = len(tensors) - 1
    inputs = [0, 1, 2] if bias else no_bias_inputs
    return finish(op, params, tensors, [OpSpec(op, opt, inputs, [out_idx])], [0], [out_idx])


@dataclass
class _Window:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: str

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return conv_output_size(h, kh, sh, dh, self.padding), conv_output_size(w, kw, sw, dw, self.padding)

    def options(self, opt, activation: str):
        opt.padding = padding_code(self.padding)
        opt.strideH, opt.strideW = self.stride
        opt.dilationHFactor, opt.dilationWFactor = self.dilation
        opt.fusedActivationFunction = activation_code(activation)
        return opt

    def params(self) -> dict:
        return dict(kernel=self.kernel, stride=self.stride, dilation=self.dilation, padding=self.padding)


def _draw_window(op: str, rng, input_shape, kernel, stride, dilation, padding, kernels: list[int]) -> _Window:
    kh, kw = pair(pick(kernel, lambda: int(rng.choice(kernels))))
    sh, sw = pair(pick(stride, lambda: int(rng.choice([1, 1, 2]))))
    dh, dw = pair(pick(dilation, lambda: int(rng.choice([1, 1, 1, 2]))))
    padding = pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    _, h, w, _ = input_shape
    if padding.upper() == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        # Make VALID convolutions produce at least one output element.
        if kernel is not None and dilation is not None:
            raise ValueError(f"{op}: VALID kernel {kh}x{kw} dilation {dh}x{dw} larger than input {h}x{w}")
        padding = "SAME"
    return _Window((kh, kw), (sh, sw), (dh, dw), padding)


def _conv_finish(
    op: str, rng, input_shape, win: _Window, head: dict, opt, filter_shape, filter_axis, taps, flags, quant
):
    """A convolution once its window and filter are drawn: ``flags``
    (activation, per_channel, bias) and ``quant`` (in_scale, in_zp,
    out_scale, out_zp) as given or drawn, then the tensors.  Without bias the
    op gets 2 inputs: LiteRT's CONV_2D rejects a -1 bias and TFLM's depthwise
    Prepare dereferences a null bias given 3 inputs with bias index -1
    (segfault)."""
    activation, per_channel, bias = flags
    in_scale, in_zp, out_scale, out_zp = quant
    n, h, w, _ = input_shape
    oc = filter_shape[filter_axis]
    activation = pick(activation, lambda: rand_activation(rng))
    per_channel = bool(pick(per_channel, lambda: bool(rng.random() < 0.8)))
    bias = bool(pick(bias, lambda: bool(rng.random() < 0.85)))
    q = _draw_weight_quant(rng, taps, oc, per_channel, activation, in_scale, in_zp, out_scale, out_zp)
    params = dict(
        input_shape=input_shape,
        **head,
        **win.params(),
        activation=activation,
        per_channel=per_channel,
        bias=bias,
        **q.params(),
    )
    return _weighted_finish(
        op,
        rng,
        q,
        params,
        win.options(opt, activation),
        input_shape=input_shape,
        filter_name="filter",
        filter_shape=filter_shape,
        filter_axis=filter_axis,
        bias=bias,
        bias_scale_per_output=True,
        out_shape=(n, *win.out_hw(h, w), oc),
        no_bias_inputs=[0, 1],
    )


def conv2d(
    rng: np.random.Generator,
    *,
    input_shape: Sequence[int] | None = None,
    out_channels: int | None = None,
    kernel: Union[int, tuple[int, int], None] = None,
    stride: Union[int, tuple[int, int], None] = None,
    dilation: Union[int, tuple[int, int], None] = None,
    padding: str | None = None,
    activation: str | None = None,
    per_channel: bool | None = None,
    bias: bool | None = None,
    in_scale: float | None = None,
    in_zp: int | None = None,
    out_scale: float | None = None,
    out_zp: int | None = None,
) -> tuple[bytes, dict]:
    """CONV_2D, input NHWC int8, filter OHWI int8 (per-channel scales on dim 0
    or one scale, zp 0), optional int32 bias (scale in_scale*filter_scale[c],
    zp 0), output int8."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape4(rng)))
    win = _draw_window("CONV_2D", rng, input_shape, kernel, stride, dilation, padding, [1, 1, 2, 3, 3, 5])
    oc = int(pick(out_channels, lambda: int(rng.integers(1, 17))))
    (kh, kw), c = win.kernel, input_shape[3]
    return _conv_finish(
        "CONV_2D",
        rng,
        input_shape,
        win,
        dict(out_channels=oc),
        schema.Conv2DOptionsT(),
        filter_shape=(oc, kh, kw, c),
        filter_axis=0,
        taps=kh * kw * c,
        flags=(activation, per_channel, bias),
        quant=(in_scale, in_zp, out_scale, out_zp),
    )


def depthwise_conv2d(
    rng: np.random.Generator,
    *,
    input_shape: Sequence[int] | None = None,
    depth_multiplier: int | None = None,
    kernel: Union[int, tuple[int, int], None] = None,
    stride: Union[int, tuple[int, int], None] = None,
    dilation: Union[int, tuple[int, int], None] = None,
    padding: str | None = None,
    activation: str | None = None,
    per_channel: bool | None = None,
    bias: bool | None = None,
    in_scale: float | None = None,
    in_zp: int | None = None,
    out_scale: float | None = None,
    out_zp: int | None = None,
) -> tuple[bytes, dict]:
    """DEPTHWISE_CONV_2D, filter [1, kh, kw, C*depth_multiplier] int8 with
    per-channel scales on dim 3 (quantized_dimension 3) or one scale."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape4(rng)))
    dm = int(pick(depth_multiplier, lambda: int(rng.choice([1, 1, 1, 2, 3]))))
    if dm < 1:
        raise ValueError("DEPTHWISE_CONV_2D: depth_multiplier must be >= 1")
    win = _draw_window("DEPTHWISE_CONV_2D", rng, input_shape, kernel, stride, dilation, padding, [1, 3, 3, 5])
    opt = schema.DepthwiseConv2DOptionsT()
    opt.depthMultiplier = dm
    (kh, kw), c = win.kernel, input_shape[3]
    return _conv_finish(
        "DEPTHWISE_CONV_2D",
        rng,
        input_shape,
        win,
        dict(depth_multiplier=dm),
        opt,
        filter_shape=(1, kh, kw, c * dm),
        filter_axis=3,
        taps=kh * kw,
        flags=(activation, per_channel, bias),
        quant=(in_scale, in_zp, out_scale, out_zp),
    )


def fully_connected(
    rng: np.random.Generator,
    *,
    input_shape: Sequence[int] | None = None,
    units: int | None = None,
    keep_num_dims: bool | None = None,
    per_channel: bool | None = None,
    bias: bool | None = None,
    activation: str | None = None,
    in_scale: float | None = None,
    in_zp: int | None = None,
    out_scale: float | None = None,
    out_zp: int | None = None,
) -> tuple[bytes, dict]:
    """FULLY_CONNECTED, weights [units, in_features] int8 (per-channel on dim 0
    or per-tensor), optional int32 bias.  Output shape is
    ``input_shape[:-1] + (units,)`` with keep_num_dims, else
    ``(prod(input_shape[:-1]), units)``."""
    if input_shape is None:
        nd = int(rng.choice([2, 2, 3, 4]))
        input_shape = tuple(int(rng.integers(1, 4)) for _ in range(nd - 1)) + (int(rng.integers(1, 65)),)
    input_shape = tuple(input_shape)
    k = input_shape[-1]
    units = int(pick(units, lambda: int(rng.integers(1, 33))))
    keep_num_dims = bool(pick(keep_num_dims, lambda: bool(rng.random() < 0.3)))
    per_channel = bool(pick(per_channel, lambda: bool(rng.random() < 0.5)))
    bias = bool(pick(bias, lambda: bool(rng.random() < 0.8)))
    activation = pick(activation, lambda: rand_activation(rng))
    q = _draw_weight_quant(rng, k, units, per_channel, activation, in_scale, in_zp, out_scale, out_zp)
    if keep_num_dims:
        out_shape = input_shape[:-1] + (units,)
    else:
        out_shape = (int(np.prod(input_shape[:-1], dtype=np.int64)), units)
    opt = schema.FullyConnectedOptionsT()
    opt.fusedActivationFunction = activation_code(activation)
    opt.keepNumDims = keep_num_dims
    params = dict(
        input_shape=input_shape,
        units=units,
        keep_num_dims=keep_num_dims,
        per_channel=per_channel,
        bias=bias,
        activation=activation,
        **q.params(),
    )
    return _weighted_finish(
        "FULLY_CONNECTED",
        rng,
        q,
        params,
        opt,
        input_shape=input_shape,
        filter_name="weights",
        filter_shape=(units, k),
        filter_axis=0,
        bias=bias,
        bias_scale_per_output=False,
        out_shape=out_shape,
        no_bias_inputs=[0, 1, -1],
    )
