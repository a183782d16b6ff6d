"""Build single-operator int8 ``.tflite`` models directly as flatbuffers.

No TensorFlow is involved: models are written with the object API of the
flatbuffer schema shipped in the pinned ``tflite-micro`` wheel, so randomized
kernel tests can create thousands of models quickly, with exact control of
every quantization parameter.

Two layers:

* :func:`build_model` -- generic: a list of :class:`TensorSpec`, a list of
  :class:`OpSpec` (or plain tuples), and the graph's input/output indices.
* One convenience builder per operator (``conv2d``, ``depthwise_conv2d``,
  ``fully_connected``, ``add``, ``mul``, ``average_pool_2d``, ``max_pool_2d``,
  ``mean``, ``hard_swish``, ``logistic``, ``relu``, ``relu6``, ``leaky_relu``,
  ``pad``, ``padv2``, ``reshape``, ``squeeze``, ``concatenation``, ``softmax``,
  ``quantize``, ``dequantize``, ``strided_slice``, ``pack``, ``shape``).

Every convenience builder has the signature ``builder(rng, **params)`` and
returns ``(model_bytes, meta)``.  Any parameter left at ``None`` is drawn from
``rng`` (a ``numpy.random.Generator``), so ``conv2d(rng)`` is a random valid
convolution and ``conv2d(rng, kernel=(1, 1), stride=(1, 1))`` pins part of
it.  Quantization parameters that are not given are chosen so that the
output is not trivially saturated for uniformly random int8 inputs, and so
that TFLM's Prepare accepts the model (see the constraints noted at each
builder).  ``meta`` is a dict::

    {"op": "CONV_2D",               # builtin operator name
     "params": {...},               # every resolved parameter, incl. quantization
     "inputs": [TensorSpec, ...],   # the model's runtime inputs, in order
     "outputs": [TensorSpec, ...],  # the model's outputs, in order
     "tensors": [TensorSpec, ...]}  # all tensors (constants carry .data)

:func:`random_inputs` draws one input set for a ``meta``; :data:`BUILDERS`
maps operator names to builders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

__all__ = [
    "TensorSpec",
    "OpSpec",
    "build_model",
    "random_inputs",
    "BUILDERS",
    "ACTIVATIONS",
    "conv2d",
    "depthwise_conv2d",
    "fully_connected",
    "add",
    "mul",
    "average_pool_2d",
    "max_pool_2d",
    "mean",
    "hard_swish",
    "logistic",
    "relu",
    "relu6",
    "leaky_relu",
    "pad",
    "padv2",
    "reshape",
    "squeeze",
    "concatenation",
    "softmax",
    "quantize",
    "dequantize",
    "strided_slice",
    "pack",
    "shape",
]

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"

_NP_TO_TFL = {
    np.dtype(np.float32): schema.TensorType.FLOAT32,
    np.dtype(np.float16): schema.TensorType.FLOAT16,
    np.dtype(np.int32): schema.TensorType.INT32,
    np.dtype(np.uint8): schema.TensorType.UINT8,
    np.dtype(np.int64): schema.TensorType.INT64,
    np.dtype(np.bool_): schema.TensorType.BOOL,
    np.dtype(np.int16): schema.TensorType.INT16,
    np.dtype(np.int8): schema.TensorType.INT8,
    np.dtype(np.float64): schema.TensorType.FLOAT64,
}

#: Fused activation names accepted by the builders.
ACTIVATIONS = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": schema.ActivationFunctionType.RELU6,
}
_PADDINGS = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}

_OPCODE_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


# ----------------------------------------------------------------------------
# Generic model construction
# ----------------------------------------------------------------------------


@dataclass
class TensorSpec:
    """One tensor of a model.

    ``scale``/``zero_point`` are a scalar (per-tensor) or a sequence
    (per-axis along ``quantized_dimension``); ``scale=None`` means no
    quantization parameters (float tensors, int32 shape/axis tensors).
    ``data`` makes the tensor a constant stored in its own buffer (it is cast
    to ``dtype`` and must have ``shape``).
    """

    name: str
    shape: tuple[int, ...]
    dtype: Any = np.int8
    scale: Union[float, Sequence[float], None] = None
    zero_point: Union[int, Sequence[int], None] = None
    quantized_dimension: int = 0
    data: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        if self.data is not None:
            self.data = np.asarray(self.data).astype(self.dtype, copy=False)
            if self.data.shape != self.shape:
                raise ValueError(f"tensor {self.name!r}: data shape {self.data.shape} != shape {self.shape}")

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def scales(self) -> list[float] | None:
        if self.scale is None:
            return None
        return [float(s) for s in np.atleast_1d(np.asarray(self.scale, dtype=np.float64))]

    @property
    def zero_points(self) -> list[int] | None:
        if self.scale is None:
            return None
        zp = 0 if self.zero_point is None else self.zero_point
        zps = [int(z) for z in np.atleast_1d(np.asarray(zp, dtype=np.int64))]
        if len(zps) == 1 and len(self.scales) > 1:
            zps = zps * len(self.scales)
        return zps


@dataclass
class OpSpec:
    """One operator: builtin code (int or name such as ``"CONV_2D"``), an
    options object of the schema (e.g. ``schema.Conv2DOptionsT()``) or None,
    input tensor indices (-1 = omitted optional input) and output indices."""

    opcode: Union[int, str]
    options: Any = None
    inputs: Sequence[int] = ()
    outputs: Sequence[int] = ()
    version: int = 1


def _opcode_value(code: Union[int, str]) -> int:
    if isinstance(code, str):
        try:
            return int(getattr(schema.BuiltinOperator, code.upper()))
        except AttributeError:
            raise ValueError(f"unknown builtin operator {code!r}") from None
    return int(code)


def _options_type(options: Any) -> int:
    if options is None:
        return schema.BuiltinOptions.NONE
    cls = type(options).__name__
    base = cls[:-1] if cls.endswith("T") else cls
    try:
        return int(getattr(schema.BuiltinOptions, base))
    except AttributeError:
        raise ValueError(f"{cls} is not a BuiltinOptions table") from None


class _AlignedBufferT(schema.BufferT):
    """A buffer whose data vector starts on a 16-byte boundary (like the
    converter's output), so int32/float constants are naturally aligned."""

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self._payload = payload

    def Pack(self, builder):  # noqa: N802 (schema API name)
        n = len(self._payload)
        builder.StartVector(1, n, 16)
        builder.head = builder.head - n
        builder.Bytes[builder.head : builder.head + n] = self._payload
        data = builder.EndVector()  # StartVector recorded the element count
        schema.BufferStart(builder)
        schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


def _quantization(t: TensorSpec):
    if t.scale is None:
        return None
    q = schema.QuantizationParametersT()
    q.scale = t.scales
    q.zeroPoint = t.zero_points
    if len(q.scale) != len(q.zeroPoint):
        raise ValueError(f"tensor {t.name!r}: {len(q.scale)} scales but {len(q.zeroPoint)} zero points")
    if len(q.scale) > 1:
        if not 0 <= t.quantized_dimension < len(t.shape):
            raise ValueError(f"tensor {t.name!r}: quantized_dimension {t.quantized_dimension} out of range")
        if t.shape[t.quantized_dimension] != len(q.scale):
            raise ValueError(
                f"tensor {t.name!r}: {len(q.scale)} scales for dimension "
                f"{t.quantized_dimension} of size {t.shape[t.quantized_dimension]}"
            )
    q.quantizedDimension = int(t.quantized_dimension)
    return q


def build_model(
    tensors: Sequence[TensorSpec],
    ops: Sequence[Union[OpSpec, tuple]],
    inputs: Sequence[int],
    outputs: Sequence[int],
    *,
    description: str = "tinyops_tflm.testing.single_op",
) -> bytes:
    """Serialize a one-subgraph model to ``.tflite`` bytes.

    ``ops`` items are :class:`OpSpec` or tuples ``(opcode, options, inputs,
    outputs[, version])``.  Buffer 0 is the empty sentinel; each constant
    tensor gets its own 16-byte-aligned buffer; non-constant tensors use
    buffer 0.  Operator codes carry both ``deprecated_builtin_code``
    (``min(code, 127)``) and ``builtin_code``.
    """
    tensors = list(tensors)
    n = len(tensors)
    for i in list(inputs) + list(outputs):
        if not 0 <= i < n:
            raise ValueError(f"graph input/output index {i} out of range (have {n} tensors)")
    for i in inputs:
        if tensors[i].is_constant:
            raise ValueError(f"graph input {tensors[i].name!r} must not be constant")

    buffers: list[Any] = [schema.BufferT()]
    t_objs = []
    for t in tensors:
        if t.dtype not in _NP_TO_TFL:
            raise ValueError(f"tensor {t.name!r}: unsupported dtype {t.dtype}")
        to = schema.TensorT()
        to.shape = list(t.shape)
        to.type = _NP_TO_TFL[t.dtype]
        to.name = t.name.encode()
        to.quantization = _quantization(t)
        if t.is_constant:
            payload = np.ascontiguousarray(t.data).astype(t.data.dtype.newbyteorder("<")).tobytes()
            to.buffer = len(buffers)
            buffers.append(_AlignedBufferT(payload))
        else:
            to.buffer = 0
        t_objs.append(to)

    opcodes: list[tuple[int, int]] = []
    op_objs = []
    for spec in ops:
        if not isinstance(spec, OpSpec):
            spec = OpSpec(*spec)
        code = _opcode_value(spec.opcode)
        key = (code, int(spec.version))
        if key not in opcodes:
            opcodes.append(key)
        for i in list(spec.inputs):
            if i != -1 and not 0 <= i < n:
                raise ValueError(f"op {_OPCODE_NAMES.get(code, code)}: input index {i} out of range")
        for i in list(spec.outputs):
            if not 0 <= i < n:
                raise ValueError(f"op {_OPCODE_NAMES.get(code, code)}: output index {i} out of range")
        o = schema.OperatorT()
        o.opcodeIndex = opcodes.index(key)
        o.inputs = [int(i) for i in spec.inputs]
        o.outputs = [int(i) for i in spec.outputs]
        o.builtinOptionsType = _options_type(spec.options)
        o.builtinOptions = spec.options
        op_objs.append(o)

    sg = schema.SubGraphT()
    sg.tensors = t_objs
    sg.inputs = [int(i) for i in inputs]
    sg.outputs = [int(i) for i in outputs]
    sg.operators = op_objs
    sg.name = b"main"

    model = schema.ModelT()
    model.version = SCHEMA_VERSION
    model.description = description.encode()
    model.buffers = buffers
    model.subgraphs = [sg]
    codes = []
    for code, version in opcodes:
        oc = schema.OperatorCodeT()
        oc.builtinCode = code
        oc.deprecatedBuiltinCode = min(code, 127)
        oc.version = version
        codes.append(oc)
    model.operatorCodes = codes

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


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


# ----------------------------------------------------------------------------
# Helpers for the convenience builders
# ----------------------------------------------------------------------------


#: std of (x - zp) for x uniform over int8, for a given zp: sqrt(var + mean^2)
def _dev(zp: int) -> float:
    return math.sqrt(73.9**2 + (zp + 0.5) ** 2)


_W_STD = 73.6  # std of weights uniform over [-127, 127]
_TARGET_LSB = 40.0  # target std of outputs, in output LSBs


def _pick(v, default_fn):
    return default_fn() if v is None else v


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _f32(x) -> float:
    """Round to float32, as the scale is stored in the flatbuffer."""
    return float(np.float32(x))


def _in_scale(rng) -> float:
    return _f32(_log_uniform(rng, 2e-3, 1e-1))


def _zp(rng, lo=-128, hi=127) -> int:
    return int(rng.integers(lo, hi, endpoint=True))


def _act(name: str) -> int:
    try:
        return ACTIVATIONS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown fused activation {name!r}; expected one of {list(ACTIVATIONS)}") from None


def _pad(name: str) -> int:
    try:
        return _PADDINGS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown padding {name!r}; expected SAME or VALID") from None


def _pair(v) -> tuple[int, int]:
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


def _finish(op: str, params: dict, tensors, ops, inputs, outputs, **extra) -> tuple[bytes, dict]:
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


def _rand_shape4(rng, max_hw=10, max_c=16) -> tuple[int, int, int, int]:
    return (1, int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_c + 1)))


def _weights(rng, shape) -> np.ndarray:
    return rng.integers(-127, 127, size=shape, endpoint=True).astype(np.int8)


def _weight_scales(rng, n: int, per_channel: bool) -> list[float]:
    base = _log_uniform(rng, 2e-3, 2e-2)
    if per_channel:
        return [_f32(base * rng.uniform(0.5, 2.0)) for _ in range(n)]
    return [_f32(base)]


def _bias(rng, n: int, acc_std: float) -> np.ndarray:
    lim = max(1, int(acc_std))
    return rng.integers(-lim, lim, size=(n,), endpoint=True).astype(np.int32)


def _bias_scales(in_scale: float, w_scales: list[float]) -> list[float]:
    # TFLM checks (per-tensor FC) |in*w - bias_scale| / out <= 0.02; use the exact product.
    return [_f32(float(np.float32(in_scale)) * float(np.float32(s))) for s in w_scales]


def _rand_act(rng) -> str:
    return str(rng.choice(list(ACTIVATIONS)))


def _out_quant(rng, activation: str, std: float, out_scale, out_zp) -> tuple[float, int]:
    """Output quantization for a value of standard deviation ``std`` (real
    units) followed by a fused ``activation``, like the converter would pick
    it: the int8 range covers roughly what survives the activation."""
    f = _log_uniform(rng, 0.6, 1.6)
    act = activation.upper()
    if act == "NONE":
        scale = std / _TARGET_LSB * f
        zp_fn = lambda: _zp(rng, -64, 64)  # noqa: E731
    elif act == "RELU":
        scale = 3.0 * std / 255.0 * f
        zp_fn = lambda: _zp(rng, -128, -100)  # noqa: E731
    elif act == "RELU6":
        scale = min(6.0, 3.0 * std) / 255.0 * f
        zp_fn = lambda: _zp(rng, -128, -100)  # noqa: E731
    else:  # RELU_N1_TO_1
        scale = min(2.0, 6.0 * std) / 255.0 * f
        zp_fn = lambda: int(np.clip(round(-128 + min(1.0, 3.0 * std) / out_scale_v), -128, 127))  # noqa: E731
    out_scale_v = _f32(out_scale if out_scale is not None else scale)
    out_zp_v = int(out_zp if out_zp is not None else zp_fn())
    return out_scale_v, out_zp_v


# ----------------------------------------------------------------------------
# Convolutions and fully connected
# ----------------------------------------------------------------------------


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
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape4(rng)))
    kh, kw = _pair(_pick(kernel, lambda: int(rng.choice([1, 1, 2, 3, 3, 5]))))
    sh, sw = _pair(_pick(stride, lambda: int(rng.choice([1, 1, 2]))))
    dh, dw = _pair(_pick(dilation, lambda: int(rng.choice([1, 1, 1, 2]))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    n, h, w, c = input_shape
    if padding.upper() == "VALID":
        # Make VALID convolutions produce at least one output element.
        if (kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w:
            if kernel is not None and dilation is not None:
                raise ValueError(f"CONV_2D: VALID kernel {kh}x{kw} dilation {dh}x{dw} larger than input {h}x{w}")
            padding = "SAME"
    oc = int(_pick(out_channels, lambda: int(rng.integers(1, 17))))
    activation = _pick(activation, lambda: _rand_act(rng))
    per_channel = bool(_pick(per_channel, lambda: bool(rng.random() < 0.8)))
    bias = bool(_pick(bias, lambda: bool(rng.random() < 0.85)))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    w_scales = _weight_scales(rng, oc, per_channel)
    k = kh * kw * c
    acc_std = math.sqrt(k) * _W_STD * _dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale, out_zp = _out_quant(rng, activation, acc_std * in_scale * gm, out_scale, out_zp)
    oh = conv_output_size(h, kh, sh, dh, padding)
    ow = conv_output_size(w, kw, sw, dw, padding)

    tensors = [
        TensorSpec("input", input_shape, np.int8, in_scale, in_zp),
        TensorSpec(
            "filter", (oc, kh, kw, c), np.int8, w_scales, [0] * len(w_scales), 0, _weights(rng, (oc, kh, kw, c))
        ),
    ]
    if bias:
        tensors.append(
            TensorSpec(
                "bias",
                (oc,),
                np.int32,
                _bias_scales(in_scale, w_scales) * (oc if not per_channel else 1),
                [0] * oc,
                0,
                _bias(rng, oc, acc_std),
            )
        )
    tensors.append(TensorSpec("output", (n, oh, ow, oc), np.int8, out_scale, out_zp))
    opt = schema.Conv2DOptionsT()
    opt.padding = _pad(padding)
    opt.strideH, opt.strideW = sh, sw
    opt.dilationHFactor, opt.dilationWFactor = dh, dw
    opt.fusedActivationFunction = _act(activation)
    out_idx = len(tensors) - 1
    # Without bias the op gets 2 inputs (LiteRT's CONV_2D rejects a -1 bias).
    op = OpSpec("CONV_2D", opt, [0, 1, 2] if bias else [0, 1], [out_idx])
    params = dict(
        input_shape=input_shape,
        out_channels=oc,
        kernel=(kh, kw),
        stride=(sh, sw),
        dilation=(dh, dw),
        padding=padding,
        activation=activation,
        per_channel=per_channel,
        bias=bias,
        in_scale=in_scale,
        in_zp=in_zp,
        out_scale=out_scale,
        out_zp=out_zp,
        filter_scales=w_scales,
    )
    return _finish("CONV_2D", params, tensors, [op], [0], [out_idx])


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
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape4(rng)))
    dm = int(_pick(depth_multiplier, lambda: int(rng.choice([1, 1, 1, 2, 3]))))
    if dm < 1:
        raise ValueError("DEPTHWISE_CONV_2D: depth_multiplier must be >= 1")
    kh, kw = _pair(_pick(kernel, lambda: int(rng.choice([1, 3, 3, 5]))))
    sh, sw = _pair(_pick(stride, lambda: int(rng.choice([1, 1, 2]))))
    dh, dw = _pair(_pick(dilation, lambda: int(rng.choice([1, 1, 1, 2]))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    n, h, w, c = input_shape
    if padding.upper() == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        if kernel is not None and dilation is not None:
            raise ValueError(f"DEPTHWISE_CONV_2D: VALID kernel {kh}x{kw} larger than input {h}x{w}")
        padding = "SAME"
    oc = c * dm
    activation = _pick(activation, lambda: _rand_act(rng))
    per_channel = bool(_pick(per_channel, lambda: bool(rng.random() < 0.8)))
    bias = bool(_pick(bias, lambda: bool(rng.random() < 0.85)))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    w_scales = _weight_scales(rng, oc, per_channel)
    acc_std = math.sqrt(kh * kw) * _W_STD * _dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale, out_zp = _out_quant(rng, activation, acc_std * in_scale * gm, out_scale, out_zp)
    oh = conv_output_size(h, kh, sh, dh, padding)
    ow = conv_output_size(w, kw, sw, dw, padding)
    tensors = [
        TensorSpec("input", input_shape, np.int8, in_scale, in_zp),
        TensorSpec(
            "filter", (1, kh, kw, oc), np.int8, w_scales, [0] * len(w_scales), 3, _weights(rng, (1, kh, kw, oc))
        ),
    ]
    if bias:
        bs = _bias_scales(in_scale, w_scales)
        if not per_channel:
            bs = bs * oc
        tensors.append(TensorSpec("bias", (oc,), np.int32, bs, [0] * oc, 0, _bias(rng, oc, acc_std)))
    tensors.append(TensorSpec("output", (n, oh, ow, oc), np.int8, out_scale, out_zp))
    opt = schema.DepthwiseConv2DOptionsT()
    opt.padding = _pad(padding)
    opt.strideH, opt.strideW = sh, sw
    opt.dilationHFactor, opt.dilationWFactor = dh, dw
    opt.depthMultiplier = dm
    opt.fusedActivationFunction = _act(activation)
    out_idx = len(tensors) - 1
    # Without bias the op gets 2 inputs: TFLM's depthwise Prepare dereferences
    # a null bias when given 3 inputs with bias index -1 (segfault).
    op = OpSpec("DEPTHWISE_CONV_2D", opt, [0, 1, 2] if bias else [0, 1], [out_idx])
    params = dict(
        input_shape=input_shape,
        depth_multiplier=dm,
        kernel=(kh, kw),
        stride=(sh, sw),
        dilation=(dh, dw),
        padding=padding,
        activation=activation,
        per_channel=per_channel,
        bias=bias,
        in_scale=in_scale,
        in_zp=in_zp,
        out_scale=out_scale,
        out_zp=out_zp,
        filter_scales=w_scales,
    )
    return _finish("DEPTHWISE_CONV_2D", params, tensors, [op], [0], [out_idx])


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
    units = int(_pick(units, lambda: int(rng.integers(1, 33))))
    keep_num_dims = bool(_pick(keep_num_dims, lambda: bool(rng.random() < 0.3)))
    per_channel = bool(_pick(per_channel, lambda: bool(rng.random() < 0.5)))
    bias = bool(_pick(bias, lambda: bool(rng.random() < 0.8)))
    activation = _pick(activation, lambda: _rand_act(rng))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    w_scales = _weight_scales(rng, units, per_channel)
    acc_std = math.sqrt(k) * _W_STD * _dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale, out_zp = _out_quant(rng, activation, acc_std * in_scale * gm, out_scale, out_zp)
    if keep_num_dims:
        out_shape = input_shape[:-1] + (units,)
    else:
        out_shape = (int(np.prod(input_shape[:-1], dtype=np.int64)), units)
    tensors = [
        TensorSpec("input", input_shape, np.int8, in_scale, in_zp),
        TensorSpec("weights", (units, k), np.int8, w_scales, [0] * len(w_scales), 0, _weights(rng, (units, k))),
    ]
    if bias:
        bs = _bias_scales(in_scale, w_scales)
        tensors.append(TensorSpec("bias", (units,), np.int32, bs, [0] * len(bs), 0, _bias(rng, units, acc_std)))
    tensors.append(TensorSpec("output", out_shape, np.int8, out_scale, out_zp))
    opt = schema.FullyConnectedOptionsT()
    opt.fusedActivationFunction = _act(activation)
    opt.keepNumDims = keep_num_dims
    out_idx = len(tensors) - 1
    op = OpSpec("FULLY_CONNECTED", opt, [0, 1, 2 if bias else -1], [out_idx])
    params = dict(
        input_shape=input_shape,
        units=units,
        keep_num_dims=keep_num_dims,
        per_channel=per_channel,
        bias=bias,
        activation=activation,
        in_scale=in_scale,
        in_zp=in_zp,
        out_scale=out_scale,
        out_zp=out_zp,
        filter_scales=w_scales,
    )
    return _finish("FULLY_CONNECTED", params, tensors, [op], [0], [out_idx])


# ----------------------------------------------------------------------------
# Elementwise binary
# ----------------------------------------------------------------------------


def _broadcast_pair(rng) -> tuple[tuple[int, ...], tuple[int, ...]]:
    full = _rand_shape4(rng, max_hw=6, max_c=12)
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
    activation = _pick(activation, lambda: _rand_act(rng))
    s1 = _f32(_pick(in1_scale, lambda: _in_scale(rng)))
    z1 = int(_pick(in1_zp, lambda: _zp(rng)))
    s2 = _f32(_pick(in2_scale, lambda: s1 * _log_uniform(rng, 0.25, 4.0) if rng.random() < 0.8 else s1))
    z2 = int(_pick(in2_zp, lambda: _zp(rng)))
    if op == "ADD":
        std = math.hypot(s1 * _dev(z1), s2 * _dev(z2))
        opt = schema.AddOptionsT()
    else:
        std = s1 * s2 * _dev(z1) * _dev(z2)
        opt = schema.MulOptionsT()
    out_scale, out_zp = _out_quant(rng, activation, std, out_scale, out_zp)
    if op == "ADD" and 2 * max(s1, s2) / (2**20 * out_scale) >= 1.0:
        raise ValueError("ADD: TFLM requires out_scale > 2*max(in_scale)/2**20 (else it aborts in Prepare)")
    opt.fusedActivationFunction = _act(activation)
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
    return _finish(op, params, tensors, [OpSpec(op, opt, [0, 1], [2])], [0, 1], [2])


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


# ----------------------------------------------------------------------------
# Pooling and reductions
# ----------------------------------------------------------------------------


def _pool(op, rng, input_shape, filter, stride, padding, activation, scale, zp):
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape4(rng, max_hw=12)))
    n, h, w, c = input_shape
    fh, fw = _pair(_pick(filter, lambda: (int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1)))))
    sh, sw = _pair(_pick(stride, lambda: int(rng.choice([1, 2, 2, 3]))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    if padding.upper() == "VALID" and (fh > h or fw > w):
        raise ValueError(f"{op}: VALID filter {fh}x{fw} larger than input {h}x{w}")
    activation = _pick(activation, lambda: _rand_act(rng) if rng.random() < 0.3 else "NONE")
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    oh = conv_output_size(h, fh, sh, 1, padding)
    ow = conv_output_size(w, fw, sw, 1, padding)
    opt = schema.Pool2DOptionsT()
    opt.padding = _pad(padding)
    opt.strideH, opt.strideW = sh, sw
    opt.filterHeight, opt.filterWidth = fh, fw
    opt.fusedActivationFunction = _act(activation)
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
    return _finish(op, params, tensors, [OpSpec(op, opt, [0], [1])], [0], [1])


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
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape4(rng, max_hw=8)))
    nd = len(input_shape)
    if axes is None:
        if nd == 4 and rng.random() < 0.6:
            axes = [1, 2]
        else:
            k = int(rng.integers(1, nd + 1))
            axes = sorted(int(a) for a in rng.choice(nd, size=k, replace=False))
    axes = [int(a) for a in axes]
    keep_dims = bool(_pick(keep_dims, lambda: bool(rng.random() < 0.6)))
    red = {a % nd for a in axes}
    if keep_dims:
        out_shape = tuple(1 if i in red else d for i, d in enumerate(input_shape))
    else:
        out_shape = tuple(d for i, d in enumerate(input_shape) if i not in red)
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    cnt = int(np.prod([input_shape[a] for a in red]))
    # The mean of cnt uniform int8 values is about -0.5 +- 74/sqrt(cnt) input
    # LSBs; like the converter, cover that range and zero.
    centre = in_scale * (-0.5 - in_zp)
    spread = in_scale * 74.0 / math.sqrt(cnt)
    q_scale, q_zp = _range_quant(centre - 2.5 * spread, centre + 2.5 * spread)
    f = _log_uniform(rng, 0.7, 1.4)
    out_scale = _f32(_pick(out_scale, lambda: q_scale * f))
    out_zp = int(_pick(out_zp, lambda: int(np.clip(round(q_zp + (-128 - q_zp) * (1 - 1 / f)), -128, 127))))
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
    return _finish("MEAN", params, tensors, [OpSpec("MEAN", opt, [0, 1], [2])], [0], [2])


# ----------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------


def _rand_shape_any(rng) -> tuple[int, ...]:
    nd = int(rng.integers(1, 5))
    return tuple(int(rng.integers(1, 9)) for _ in range(nd))


def _real_range(scale: float, zp: int) -> tuple[float, float]:
    return (-128 - zp) * scale, (127 - zp) * scale


def _unary(op, shape, in_scale, in_zp, out_scale, out_zp, opt=None, **extra_params):
    tensors = [
        TensorSpec("input", shape, np.int8, in_scale, in_zp),
        TensorSpec("output", shape, np.int8, out_scale, out_zp),
    ]
    params = dict(shape=shape, in_scale=in_scale, in_zp=in_zp, out_scale=out_scale, out_zp=out_zp, **extra_params)
    return _finish(op, params, tensors, [OpSpec(op, opt, [0], [1])], [0], [1])


def _range_quant(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 quantization covering [lo, hi] (lo <= 0 <= hi)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = _f32(max(hi - lo, 1e-6) / 255.0)
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zp


def hard_swish(rng, *, shape=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None) -> tuple[bytes, dict]:
    """HARD_SWISH.  TFLM requires in_scale/(128*out_scale) < 1 (output
    multiplier exponent <= 0); the default output range covers
    [-0.375, max(x)]."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    in_scale = _f32(_pick(in_scale, lambda: _log_uniform(rng, 5e-3, 8e-2)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    lo, hi = _real_range(in_scale, in_zp)
    if out_scale is None or out_zp is None:
        hs_hi = hi * min(max(hi + 3, 0), 6) / 6
        s, z = _range_quant(-0.375, hs_hi)
        f = _log_uniform(rng, 0.7, 1.4)
        out_scale = _f32(_pick(out_scale, lambda: s * f))
        out_zp = int(_pick(out_zp, lambda: int(np.clip(round(-128 + 0.375 / out_scale), -128, 127))))
    if in_scale / (128.0 * out_scale) >= 1.0:
        raise ValueError("HARD_SWISH: TFLM requires in_scale < 128*out_scale")
    return _unary("HARD_SWISH", shape, in_scale, in_zp, _f32(out_scale), int(out_zp), schema.HardSwishOptionsT())


def logistic(rng, *, shape=None, in_scale=None, in_zp=None) -> tuple[bytes, dict]:
    """LOGISTIC; output fixed to scale 1/256, zp -128 (TFLM checks the zp and
    its int8 kernel assumes the scale)."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    in_scale = _f32(_pick(in_scale, lambda: _log_uniform(rng, 5e-3, 1e-1)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    return _unary("LOGISTIC", shape, in_scale, in_zp, 1.0 / 256, -128)


def relu(rng, *, shape=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None) -> tuple[bytes, dict]:
    """RELU; TFLM requantizes (in/out quantization may differ)."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    _, hi = _real_range(in_scale, in_zp)
    out_scale = _f32(_pick(out_scale, lambda: max(hi, in_scale) / 255.0 * _log_uniform(rng, 0.6, 1.6)))
    out_zp = int(_pick(out_zp, lambda: -128 if rng.random() < 0.6 else _zp(rng, -128, 0)))
    return _unary("RELU", shape, in_scale, in_zp, out_scale, out_zp)


def relu6(rng, *, shape=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """RELU6.  TFLM's int8 kernel only clamps to [q(0), q(6)] computed with the
    INPUT quantization and ignores the output's, so one ``scale``/``zp`` is
    used for both."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    scale = _f32(_pick(scale, lambda: _log_uniform(rng, 1e-2, 8e-2)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    return _unary("RELU6", shape, scale, zp, scale, zp)


def leaky_relu(
    rng, *, shape=None, alpha=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None
) -> tuple[bytes, dict]:
    """LEAKY_RELU (alpha in LeakyReluOptions); in/out quantization may differ."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    alpha = _f32(_pick(alpha, lambda: float(rng.choice([0.01, 0.1, 0.2, 0.3, 0.5]))))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    lo, hi = _real_range(in_scale, in_zp)
    ylo, yhi = min(alpha * lo, alpha * hi, lo if alpha > 1 else 0.0), max(hi, alpha * lo)
    s, z = _range_quant(ylo, yhi)
    f = _log_uniform(rng, 0.7, 1.4)
    out_scale = _f32(_pick(out_scale, lambda: s * f))
    out_zp = int(_pick(out_zp, lambda: int(np.clip(round(-128 - min(ylo, 0) / out_scale), -128, 127))))
    opt = schema.LeakyReluOptionsT()
    opt.alpha = alpha
    return _unary("LEAKY_RELU", shape, in_scale, in_zp, out_scale, out_zp, opt, alpha=alpha)


def softmax(rng, *, shape=None, beta=None, in_scale=None, in_zp=None) -> tuple[bytes, dict]:
    """SOFTMAX over the last axis; output fixed to scale 1/256, zp -128 (TFLM
    checks both).  Note: TFLM aborts the process for some input scales; run
    such models through :func:`tinyops_tflm.validation.oracle.run_tflm`."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    beta = _f32(_pick(beta, lambda: float(rng.choice([1.0, 1.0, 0.5, 2.0]))))
    in_scale = _f32(_pick(in_scale, lambda: _log_uniform(rng, 1e-2, 2e-1)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    opt = schema.SoftmaxOptionsT()
    opt.beta = beta
    return _unary("SOFTMAX", shape, in_scale, in_zp, 1.0 / 256, -128, opt, beta=beta)


# ----------------------------------------------------------------------------
# Quantize / dequantize
# ----------------------------------------------------------------------------


def quantize(
    rng, *, shape=None, input_dtype=None, in_scale=None, in_zp=None, out_scale=None, out_zp=None
) -> tuple[bytes, dict]:
    """QUANTIZE float32->int8 (``input_dtype="float32"``) or int8->int8
    requantization (``"int8"``).  Output is per-tensor (TFLM requires it).
    ``meta["float_range"]`` is the range :func:`random_inputs` draws floats from."""
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    input_dtype = np.dtype(_pick(input_dtype, lambda: str(rng.choice(["float32", "int8"]))))
    out_scale = _f32(_pick(out_scale, lambda: _in_scale(rng)))
    out_zp = int(_pick(out_zp, lambda: _zp(rng)))
    lo, hi = _real_range(out_scale, out_zp)
    margin = 0.1 * (hi - lo)
    if input_dtype == np.float32:
        tensors = [TensorSpec("input", shape, np.float32), TensorSpec("output", shape, np.int8, out_scale, out_zp)]
        params = dict(shape=shape, input_dtype="float32", out_scale=out_scale, out_zp=out_zp)
    elif input_dtype == np.int8:
        in_scale = _f32(_pick(in_scale, lambda: out_scale * _log_uniform(rng, 0.3, 3.0)))
        in_zp = int(_pick(in_zp, lambda: _zp(rng)))
        tensors = [
            TensorSpec("input", shape, np.int8, in_scale, in_zp),
            TensorSpec("output", shape, np.int8, out_scale, out_zp),
        ]
        params = dict(
            shape=shape, input_dtype="int8", in_scale=in_scale, in_zp=in_zp, out_scale=out_scale, out_zp=out_zp
        )
    else:
        raise ValueError(f"QUANTIZE: input_dtype must be float32 or int8, got {input_dtype}")
    return _finish(
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
    shape = tuple(_pick(shape, lambda: _rand_shape_any(rng)))
    in_scale = _f32(_pick(in_scale, lambda: _in_scale(rng)))
    in_zp = int(_pick(in_zp, lambda: _zp(rng)))
    tensors = [TensorSpec("input", shape, np.int8, in_scale, in_zp), TensorSpec("output", shape, np.float32)]
    params = dict(shape=shape, in_scale=in_scale, in_zp=in_zp)
    return _finish("DEQUANTIZE", params, tensors, [OpSpec("DEQUANTIZE", None, [0], [1])], [0], [1])


# ----------------------------------------------------------------------------
# Data movement
# ----------------------------------------------------------------------------


def _rand_pads(rng, nd: int) -> list[list[int]]:
    return [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(nd)]


def _pad_common(op, rng, input_shape, paddings, scale, zp, constant=None):
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape_any(rng)))
    nd = len(input_shape)
    if nd > 5:
        raise ValueError(f"{op}: TFLM pads at most 5-D tensors")
    paddings = np.asarray(_pick(paddings, lambda: _rand_pads(rng, nd)), dtype=np.int32).reshape(nd, 2)
    if (paddings < 0).any():
        raise ValueError(f"{op}: paddings must be >= 0")
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    out_shape = tuple(int(d + p[0] + p[1]) for d, p in zip(input_shape, paddings))
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("paddings", (nd, 2), np.int32, data=paddings),
    ]
    params = dict(input_shape=input_shape, paddings=paddings.tolist(), scale=scale, zp=zp)
    ins = [0, 1]
    if op == "PADV2":
        constant = int(_pick(constant, lambda: _zp(rng)))
        tensors.append(TensorSpec("constant_value", (), np.int8, scale, zp, data=np.array(constant, np.int8)))
        params["constant"] = constant
        ins.append(2)
        opt = schema.PadV2OptionsT()
    else:
        opt = schema.PadOptionsT()
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    out_idx = len(tensors) - 1
    return _finish(op, params, tensors, [OpSpec(op, opt, ins, [out_idx])], [0], [out_idx])


def pad(rng, *, input_shape=None, paddings=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PAD with constant int32 paddings [n, 2]; pads with the output zero
    point; TFLM does not requantize, so in/out quantization is identical."""
    return _pad_common("PAD", rng, input_shape, paddings, scale, zp)


def padv2(rng, *, input_shape=None, paddings=None, constant=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PADV2 with a constant int8 scalar pad value ``constant`` (quantized
    value; TFLM requires its scale/zp to equal the output's)."""
    return _pad_common("PADV2", rng, input_shape, paddings, scale, zp, constant)


def _rand_factor_shape(rng, total: int) -> tuple[int, ...]:
    dims = []
    rem = total
    nd = int(rng.integers(1, 5))
    for _ in range(nd - 1):
        divs = [d for d in range(1, rem + 1) if rem % d == 0]
        d = int(rng.choice(divs))
        dims.append(d)
        rem //= d
    dims.append(rem)
    return tuple(int(x) for x in rng.permutation(dims))


def reshape(rng, *, input_shape=None, new_shape=None, shape_tensor=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """RESHAPE; with ``shape_tensor`` the target shape is a constant int32
    input, otherwise only ReshapeOptions.new_shape carries it.  ``new_shape``
    may contain one -1 (then the output tensor gets the resolved shape)."""
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape_any(rng)))
    total = int(np.prod(input_shape, dtype=np.int64))
    new_shape = tuple(int(d) for d in _pick(new_shape, lambda: _rand_factor_shape(rng, total)))
    shape_tensor = bool(_pick(shape_tensor, lambda: bool(rng.random() < 0.6)))
    known = int(np.prod([d for d in new_shape if d != -1], dtype=np.int64))
    out_shape = tuple(total // known if d == -1 else d for d in new_shape)
    if int(np.prod(out_shape, dtype=np.int64)) != total:
        raise ValueError(f"RESHAPE: cannot reshape {input_shape} to {new_shape}")
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    tensors = [TensorSpec("input", input_shape, np.int8, scale, zp)]
    opt = schema.ReshapeOptionsT()
    opt.newShape = list(new_shape)
    ins = [0]
    if shape_tensor:
        tensors.append(TensorSpec("shape", (len(new_shape),), np.int32, data=np.array(new_shape, np.int32)))
        ins.append(1)
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    out_idx = len(tensors) - 1
    params = dict(input_shape=input_shape, new_shape=new_shape, shape_tensor=shape_tensor, scale=scale, zp=zp)
    return _finish("RESHAPE", params, tensors, [OpSpec("RESHAPE", opt, ins, [out_idx])], [0], [out_idx])


def squeeze(rng, *, input_shape=None, squeeze_dims=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """SQUEEZE of size-1 dims ``squeeze_dims`` (empty/None-drawn [] = all)."""
    if input_shape is None:
        nd = int(rng.integers(2, 6))
        input_shape = tuple(1 if rng.random() < 0.5 else int(rng.integers(1, 6)) for _ in range(nd))
        if 1 not in input_shape:
            input_shape = input_shape[:-1] + (1,)
    input_shape = tuple(input_shape)
    nd = len(input_shape)
    ones = [i for i, d in enumerate(input_shape) if d == 1]
    if squeeze_dims is None:
        if rng.random() < 0.3 or not ones:
            squeeze_dims = []
        else:
            k = int(rng.integers(1, len(ones) + 1))
            squeeze_dims = [int(i) - (nd if rng.random() < 0.3 else 0) for i in rng.choice(ones, size=k, replace=False)]
    squeeze_dims = [int(d) for d in squeeze_dims]
    sq = {d % nd for d in squeeze_dims} if squeeze_dims else set(ones)
    for d in sq:
        if input_shape[d] != 1:
            raise ValueError(f"SQUEEZE: dim {d} of {input_shape} is not 1")
    out_shape = tuple(d for i, d in enumerate(input_shape) if i not in sq)
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    opt = schema.SqueezeOptionsT()
    opt.squeezeDims = squeeze_dims
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("output", out_shape, np.int8, scale, zp),
    ]
    params = dict(input_shape=input_shape, squeeze_dims=squeeze_dims, scale=scale, zp=zp)
    return _finish("SQUEEZE", params, tensors, [OpSpec("SQUEEZE", opt, [0], [1])], [0], [1])


def concatenation(rng, *, shapes=None, axis=None, activation="NONE", scale=None, zp=None) -> tuple[bytes, dict]:
    """CONCATENATION of runtime inputs along ``axis`` (negative allowed).
    TFLM requires every int8 input to have exactly the output's scale and zp
    (no requantization), fused activation NONE (others fail Prepare), and at
    most 10 inputs."""
    if activation is None:
        activation = "NONE"
    if activation.upper() != "NONE":
        raise ValueError("CONCATENATION: TFLM supports only fused activation NONE")
    if shapes is None:
        base = list(_rand_shape_any(rng))
        nd = len(base)
        axis = int(_pick(axis, lambda: int(rng.integers(-nd, nd))))
        k = int(rng.integers(1, 5))
        shapes = []
        for _ in range(k):
            s = list(base)
            s[axis % nd] = int(rng.integers(1, 6))
            shapes.append(tuple(s))
    shapes = [tuple(s) for s in shapes]
    nd = len(shapes[0])
    axis = int(_pick(axis, lambda: int(rng.integers(-nd, nd))))
    a = axis % nd
    if len(shapes) > 10:
        raise ValueError("CONCATENATION: TFLM supports at most 10 inputs")
    for s in shapes:
        if len(s) != nd or any(s[i] != shapes[0][i] for i in range(nd) if i != a):
            raise ValueError(f"CONCATENATION: incompatible shapes {shapes} for axis {axis}")
    out_shape = list(shapes[0])
    out_shape[a] = sum(s[a] for s in shapes)
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    tensors = [TensorSpec(f"input{i}", s, np.int8, scale, zp) for i, s in enumerate(shapes)]
    tensors.append(TensorSpec("output", tuple(out_shape), np.int8, scale, zp))
    opt = schema.ConcatenationOptionsT()
    opt.axis = axis
    opt.fusedActivationFunction = _act("NONE")
    ins = list(range(len(shapes)))
    out_idx = len(shapes)
    params = dict(shapes=shapes, axis=axis, activation="NONE", scale=scale, zp=zp)
    return _finish("CONCATENATION", params, tensors, [OpSpec("CONCATENATION", opt, ins, [out_idx])], ins, [out_idx])


def strided_slice(
    rng,
    *,
    input_shape=None,
    begin=None,
    end=None,
    strides=None,
    begin_mask=None,
    end_mask=None,
    shrink_axis_mask=None,
    scale=None,
    zp=None,
) -> tuple[bytes, dict]:
    """STRIDED_SLICE (1-4-D) with constant int32 begin/end/strides and
    begin/end/shrink-axis masks (TFLM ignores ellipsis/new-axis masks).
    Drawn parameters stay in range; the output shape follows TF semantics."""
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape_any(rng)))
    nd = len(input_shape)
    if nd > 4:
        raise ValueError("STRIDED_SLICE: TFLM supports at most 4-D inputs")
    if begin is None or end is None or strides is None:
        b, e, st = [], [], []
        bm = em = sm = 0
        for i, d in enumerate(input_shape):
            s = int(rng.choice([1, 1, 2, 3, -1, -2]))
            if rng.random() < 0.15:
                sm |= 1 << i
                s = 1
                bi = int(rng.integers(0, d))
                if rng.random() < 0.3:
                    bi -= d  # negative index
                b.append(bi)
                e.append(bi + 1 if bi != -1 else 0)
                st.append(1)
                continue
            if s > 0:
                bi = int(rng.integers(0, d))
                ei = int(rng.integers(bi + 1, d + 1))
            else:
                bi = int(rng.integers(0, d))
                ei = int(rng.integers(-1, bi)) if bi > 0 else -1
                if ei == -1:
                    em |= 1 << i  # run to the start: expressed with end_mask
                    ei = 0
            if rng.random() < 0.15:
                bm |= 1 << i
            if rng.random() < 0.15:
                em |= 1 << i
            b.append(bi)
            e.append(ei)
            st.append(s)
        begin = _pick(begin, lambda: b)
        end = _pick(end, lambda: e)
        strides = _pick(strides, lambda: st)
        begin_mask = _pick(begin_mask, lambda: bm)
        end_mask = _pick(end_mask, lambda: em)
        shrink_axis_mask = _pick(shrink_axis_mask, lambda: sm)
    begin = [int(x) for x in begin]
    end = [int(x) for x in end]
    strides = [int(x) for x in strides]
    begin_mask = int(begin_mask or 0)
    end_mask = int(end_mask or 0)
    shrink_axis_mask = int(shrink_axis_mask or 0)
    if not len(begin) == len(end) == len(strides) == nd:
        raise ValueError("STRIDED_SLICE: begin/end/strides must have one entry per input dimension")
    out_shape = []
    for i, d in enumerate(input_shape):
        if strides[i] == 0:
            raise ValueError("STRIDED_SLICE: stride must be non-zero")
        if shrink_axis_mask & (1 << i):
            continue
        sl = slice(None if begin_mask & (1 << i) else begin[i], None if end_mask & (1 << i) else end[i], strides[i])
        out_shape.append(len(range(*sl.indices(d))))
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    opt = schema.StridedSliceOptionsT()
    opt.beginMask, opt.endMask, opt.shrinkAxisMask = begin_mask, end_mask, shrink_axis_mask
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("begin", (nd,), np.int32, data=np.array(begin, np.int32)),
        TensorSpec("end", (nd,), np.int32, data=np.array(end, np.int32)),
        TensorSpec("strides", (nd,), np.int32, data=np.array(strides, np.int32)),
        TensorSpec("output", tuple(out_shape), np.int8, scale, zp),
    ]
    params = dict(
        input_shape=input_shape,
        begin=begin,
        end=end,
        strides=strides,
        begin_mask=begin_mask,
        end_mask=end_mask,
        shrink_axis_mask=shrink_axis_mask,
        scale=scale,
        zp=zp,
    )
    return _finish("STRIDED_SLICE", params, tensors, [OpSpec("STRIDED_SLICE", opt, [0, 1, 2, 3], [4])], [0], [4])


def pack(rng, *, shape=None, count=None, axis=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PACK ``count`` runtime inputs of equal ``shape`` along new ``axis``
    (in [-(n+1), n]); equal quantization everywhere (TFLM copies bytes)."""
    shape = tuple(_pick(shape, lambda: tuple(int(rng.integers(1, 6)) for _ in range(int(rng.integers(1, 4))))))
    count = int(_pick(count, lambda: int(rng.integers(1, 5))))
    nd = len(shape)
    axis = int(_pick(axis, lambda: int(rng.integers(-(nd + 1), nd + 1))))
    a = axis % (nd + 1)
    out_shape = shape[:a] + (count,) + shape[a:]
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    tensors = [TensorSpec(f"input{i}", shape, np.int8, scale, zp) for i in range(count)]
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    opt = schema.PackOptionsT()
    opt.valuesCount = count
    opt.axis = axis
    ins = list(range(count))
    params = dict(shape=shape, count=count, axis=axis, scale=scale, zp=zp)
    return _finish("PACK", params, tensors, [OpSpec("PACK", opt, ins, [count])], ins, [count])


def shape(rng, *, input_shape=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """SHAPE of an int8 tensor, output int32 [ndims]."""
    input_shape = tuple(_pick(input_shape, lambda: _rand_shape_any(rng)))
    scale = _f32(_pick(scale, lambda: _in_scale(rng)))
    zp = int(_pick(zp, lambda: _zp(rng)))
    opt = schema.ShapeOptionsT()
    opt.outType = schema.TensorType.INT32
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("output", (len(input_shape),), np.int32),
    ]
    params = dict(input_shape=input_shape, scale=scale, zp=zp)
    return _finish("SHAPE", params, tensors, [OpSpec("SHAPE", opt, [0], [1])], [0], [1])


#: Operator name (lower-case builder name) -> builder.
BUILDERS: dict[str, Callable[..., tuple[bytes, dict]]] = {
    f.__name__: f
    for f in (
        conv2d,
        depthwise_conv2d,
        fully_connected,
        add,
        mul,
        average_pool_2d,
        max_pool_2d,
        mean,
        hard_swish,
        logistic,
        relu,
        relu6,
        leaky_relu,
        pad,
        padv2,
        reshape,
        squeeze,
        concatenation,
        softmax,
        quantize,
        dequantize,
        strided_slice,
        pack,
        shape,
    )
}
