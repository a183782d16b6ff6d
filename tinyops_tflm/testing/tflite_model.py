"""Serialize a one-subgraph ``.tflite`` model from plain tensor and operator
specs, with the object API of the flatbuffer schema shipped in the pinned
``tflite-micro`` wheel (no TensorFlow): :class:`TensorSpec`, :class:`OpSpec`
and :func:`build_model`.  The single-op builders (:mod:`.single_op`) and the
tests that assemble small multi-op graphs both go through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

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

_OPCODE_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


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
