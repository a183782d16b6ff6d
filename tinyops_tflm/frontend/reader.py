""".tflite reader: flatbuffer bytes -> validated graph IR (:mod:`tinyops_tflm.frontend.ir`).

The flatbuffer is read through the accessor classes of the schema module that
ships with the pinned ``tflite-micro`` wheel (``Model.GetRootAs``; never the
slow object API). Python flatbuffers accessors do no bounds checking, so every
table, vtable, vector and string is verified by :class:`_Verifier` before an
accessor touches it; any remaining low-level failure (``struct.error``,
``IndexError``, ...) is converted to :class:`ModelError` with the location
being read. After :func:`read_model` returns, later stages may trust:

* every tensor index in operators / graph inputs / graph outputs is in range
  (operators may use -1 only for an omitted optional input);
* tensor dtypes are one of int8, uint8, int16, int32, int64, float32, bool;
  shapes are static, non-negative, rank <= 6, fewer than 2**31 elements;
* constant tensors carry ``data`` of exactly ``nbytes`` bytes; every operator
  input is a constant, a graph input, a variable, or produced by an *earlier*
  operator; no tensor is produced twice and no constant is overwritten;
* quantization parameters are consistent with the shape (per-channel count ==
  ``shape[quantized_dimension]``), scales finite (and > 0 for 8/16-bit ints),
  zero points inside the integer type's range;
* each supported operator has all its option keys (schema defaults filled in),
  enum values in range, strides/dilations/filter sizes/depth multipliers >= 1.
"""

from __future__ import annotations

import math
import os
import struct
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from ..errors import ModelError, UnsupportedOpError
from .ir import Graph, Operator, QuantParams, Tensor
from .ops import SUPPORTED_OPS

__all__ = ["read_model", "read_model_file"]

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
MAX_RANK = 6
MAX_ELEMENTS = 2**31  # exclusive

# --------------------------------------------------------------------------
# Schema enums
# --------------------------------------------------------------------------


def _enum_names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


_BUILTIN_NAMES = _enum_names(schema_fb.BuiltinOperator)
_OPTIONS_NAMES = _enum_names(schema_fb.BuiltinOptions)
_TYPE_NAMES = _enum_names(schema_fb.TensorType)
_ACT_NAMES = _enum_names(schema_fb.ActivationFunctionType)
_CUSTOM = schema_fb.BuiltinOperator.CUSTOM

_TT = schema_fb.TensorType
_DTYPES: dict[int, np.dtype] = {
    _TT.FLOAT32: np.dtype(np.float32),
    _TT.INT32: np.dtype(np.int32),
    _TT.UINT8: np.dtype(np.uint8),
    _TT.INT64: np.dtype(np.int64),
    _TT.BOOL: np.dtype(np.bool_),
    _TT.INT16: np.dtype(np.int16),
    _TT.INT8: np.dtype(np.int8),
}
# integer types whose zero point must fit the type and whose scale must be > 0
_ZP_RANGE: dict[int, tuple[int, int]] = {
    _TT.INT8: (-128, 127),
    _TT.UINT8: (0, 255),
    _TT.INT16: (-32768, 32767),
}

_ACT_SUPPORTED = {0, 1, 2, 3}  # NONE, RELU, RELU_N1_TO_1, RELU6
_PADDING_NAMES = {0: "SAME", 1: "VALID"}

# --------------------------------------------------------------------------
# Per-operator specification (supported operators only)
# --------------------------------------------------------------------------

# option kinds
_ACT, _PAD, _POS, _BOOL, _INT, _FLOAT, _INTS, _WFMT, _TTYPE = range(9)
# their flatbuffer storage: scalar byte size, or int32 vector
_KIND_SIZE: dict[int, Any] = {
    _ACT: 1,
    _PAD: 1,
    _POS: 4,
    _BOOL: 1,
    _INT: 4,
    _FLOAT: 4,
    _INTS: "vector<4>",
    _WFMT: 1,
    _TTYPE: 1,
}


class _OpSpec:
    __slots__ = ("options_type", "accessor", "fields", "verify_fields", "n_in", "n_out", "optional_inputs")

    def __init__(
        self,
        options: str | None,
        fields: tuple[tuple[str, str, int, int], ...] = (),
        n_in: tuple[int, int | None] = (1, 1),
        n_out: int = 1,
        optional_inputs: tuple[int, ...] = (),
    ) -> None:
        self.options_type = getattr(schema_fb.BuiltinOptions, options) if options else None
        self.accessor = getattr(schema_fb, options) if options else None
        self.fields = fields  # (snake_case key, accessor method, kind, vtable slot)
        # field list for _Verifier.table(): slot -> scalar size or vector kind
        self.verify_fields = {slot: _KIND_SIZE[kind] for _k, _a, kind, slot in fields}
        self.n_in = n_in  # (min, max or None for unbounded)
        self.n_out = n_out
        self.optional_inputs = frozenset(optional_inputs)


_POOL_FIELDS = (
    ("padding", "Padding", _PAD, 4),
    ("stride_w", "StrideW", _POS, 6),
    ("stride_h", "StrideH", _POS, 8),
    ("filter_width", "FilterWidth", _POS, 10),
    ("filter_height", "FilterHeight", _POS, 12),
    ("fused_activation_function", "FusedActivationFunction", _ACT, 14),
)
_CONV_FIELDS = (
    ("padding", "Padding", _PAD, 4),
    ("stride_w", "StrideW", _POS, 6),
    ("stride_h", "StrideH", _POS, 8),
    ("fused_activation_function", "FusedActivationFunction", _ACT, 10),
    ("dilation_w_factor", "DilationWFactor", _POS, 12),
    ("dilation_h_factor", "DilationHFactor", _POS, 14),
)
_DW_FIELDS = (
    ("padding", "Padding", _PAD, 4),
    ("stride_w", "StrideW", _POS, 6),
    ("stride_h", "StrideH", _POS, 8),
    ("depth_multiplier", "DepthMultiplier", _POS, 10),
    ("fused_activation_function", "FusedActivationFunction", _ACT, 12),
    ("dilation_w_factor", "DilationWFactor", _POS, 14),
    ("dilation_h_factor", "DilationHFactor", _POS, 16),
)

_OP_SPECS: dict[str, _OpSpec] = {
    "ADD": _OpSpec(
        "AddOptions",
        (
            ("fused_activation_function", "FusedActivationFunction", _ACT, 4),
            ("pot_scale_int16", "PotScaleInt16", _BOOL, 6),
        ),
        n_in=(2, 2),
    ),
    "AVERAGE_POOL_2D": _OpSpec("Pool2DOptions", _POOL_FIELDS),
    "MAX_POOL_2D": _OpSpec("Pool2DOptions", _POOL_FIELDS),
    "CONCATENATION": _OpSpec(
        "ConcatenationOptions",
        (("axis", "Axis", _INT, 4), ("fused_activation_function", "FusedActivationFunction", _ACT, 6)),
        n_in=(1, None),
    ),
    "CONV_2D": _OpSpec("Conv2DOptions", _CONV_FIELDS, n_in=(2, 3), optional_inputs=(2,)),
    "DEPTHWISE_CONV_2D": _OpSpec("DepthwiseConv2DOptions", _DW_FIELDS, n_in=(2, 3), optional_inputs=(2,)),
    "DEQUANTIZE": _OpSpec("DequantizeOptions"),
    "FULLY_CONNECTED": _OpSpec(
        "FullyConnectedOptions",
        (
            ("fused_activation_function", "FusedActivationFunction", _ACT, 4),
            ("weights_format", "WeightsFormat", _WFMT, 6),
            ("keep_num_dims", "KeepNumDims", _BOOL, 8),
            ("asymmetric_quantize_inputs", "AsymmetricQuantizeInputs", _BOOL, 10),
        ),
        n_in=(2, 3),
        optional_inputs=(2,),
    ),
    "LOGISTIC": _OpSpec(None),
    "MUL": _OpSpec("MulOptions", (("fused_activation_function", "FusedActivationFunction", _ACT, 4),), n_in=(2, 2)),
    "RELU": _OpSpec(None),
    "RELU6": _OpSpec(None),
    "RESHAPE": _OpSpec("ReshapeOptions", (("new_shape", "NewShape", _INTS, 4),), n_in=(1, 2), optional_inputs=(1,)),
    "SOFTMAX": _OpSpec("SoftmaxOptions", (("beta", "Beta", _FLOAT, 4),)),
    "PAD": _OpSpec("PadOptions", n_in=(2, 3), optional_inputs=(2,)),
    "PADV2": _OpSpec("PadV2Options", n_in=(2, 3), optional_inputs=(2,)),
    "MEAN": _OpSpec("ReducerOptions", (("keep_dims", "KeepDims", _BOOL, 4),), n_in=(2, 2)),
    "SQUEEZE": _OpSpec("SqueezeOptions", (("squeeze_dims", "SqueezeDims", _INTS, 4),)),
    "STRIDED_SLICE": _OpSpec(
        "StridedSliceOptions",
        (
            ("begin_mask", "BeginMask", _INT, 4),
            ("end_mask", "EndMask", _INT, 6),
            ("ellipsis_mask", "EllipsisMask", _INT, 8),
            ("new_axis_mask", "NewAxisMask", _INT, 10),
            ("shrink_axis_mask", "ShrinkAxisMask", _INT, 12),
            ("offset", "Offset", _BOOL, 14),
        ),
        n_in=(4, 4),
    ),
    "PACK": _OpSpec(
        "PackOptions", (("values_count", "ValuesCount", _INT, 4), ("axis", "Axis", _INT, 6)), n_in=(1, None)
    ),
    "LEAKY_RELU": _OpSpec("LeakyReluOptions", (("alpha", "Alpha", _FLOAT, 4),)),
    "QUANTIZE": _OpSpec("QuantizeOptions"),
    "HARD_SWISH": _OpSpec("HardSwishOptions"),
    "SHAPE": _OpSpec("ShapeOptions", (("out_type", "OutType", _TTYPE, 4),)),
}


def _default_spec(name: str) -> _OpSpec:
    """A registered op listed above has options fields or several inputs; any
    other is one input, one output and the schema's field-less
    ``<Name>Options`` table (if the schema has one)."""
    options = "".join(part.capitalize() for part in name.split("_")) + "Options"
    return _OpSpec(options if hasattr(schema_fb.BuiltinOptions, options) else None)


for _name in SUPPORTED_OPS:
    _OP_SPECS.setdefault(_name, _default_spec(_name))
assert set(_OP_SPECS) == set(SUPPORTED_OPS), "reader op specs name an op the engine does not register"


def _camel_to_snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _schema_defaults(options_name: str) -> dict[str, Any]:
    """Field defaults of an options table, from the schema's object-API class."""
    obj = getattr(schema_fb, options_name + "T")()
    return {_camel_to_snake(k): v for k, v in vars(obj).items()}


_OPTION_DEFAULTS: dict[str, dict[str, Any]] = {}
for _name, _spec in _OP_SPECS.items():
    if _spec.accessor is not None:
        _d = _schema_defaults(_spec.accessor.__name__)
        _OPTION_DEFAULTS[_name] = {key: ([] if kind == _INTS else _d[key]) for key, _acc, kind, _slot in _spec.fields}
    else:
        _OPTION_DEFAULTS[_name] = {}

# --------------------------------------------------------------------------
# Flatbuffer verification
# --------------------------------------------------------------------------

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_VTHDR = struct.Struct("<HH")

# field kinds for _Verifier.table(): scalar byte sizes 1/2/4/8, or:
_STR = "string"
_TAB = "table"  # offset to a sub-table or union member (verified when visited)
_VTAB = "vector of tables"  # elements verified when visited
_V1, _V4, _V8 = "vector<1>", "vector<4>", "vector<8>"
_VEC_ELEM = {_V1: 1, _V4: 4, _V8: 8, _VTAB: 4, _STR: 1}

# Fields of each table that the reader touches, by vtable slot.
_MODEL_FIELDS = {4: 4, 6: _VTAB, 8: _VTAB, 10: _STR, 12: _VTAB}
_OPCODE_FIELDS = {4: 1, 6: _STR, 8: 4, 10: 4}
_BUFFER_FIELDS = {4: _V1, 6: 8, 8: 8}
_SUBGRAPH_FIELDS = {4: _VTAB, 6: _V4, 8: _V4, 10: _VTAB}
_TENSOR_FIELDS = {4: _V4, 6: 1, 8: 4, 10: _STR, 12: _TAB, 14: 1, 16: _TAB, 18: _V4, 24: 4}
_QUANT_FIELDS = {8: _V4, 10: _V8, 12: 1, 14: _TAB, 16: 4}
_OPERATOR_FIELDS = {4: 4, 6: _V4, 8: _V4, 10: 1, 12: _TAB, 14: _V1, 22: 8, 24: 8, 26: 1}


class _Verifier:
    """Bounds checks for flatbuffer objects (a subset of the C++ Verifier)."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)

    def _fail(self, what: str, msg: str) -> ModelError:
        return ModelError(f"{what}: {msg} (file is {self.n} bytes; truncated or corrupt flatbuffer)")

    def uoffset(self, pos: int, what: str) -> int:
        """Follow the uoffset stored at ``pos``; returns the absolute target."""
        if pos < 0 or pos + 4 > self.n:
            raise self._fail(what, f"offset field at {pos} is outside the buffer")
        target = pos + _U32.unpack_from(self.buf, pos)[0]
        if target + 4 > self.n:
            raise self._fail(what, f"offset at {pos} points outside the buffer (to {target})")
        return target

    def table(self, pos: int, fields: dict[int, Any], what: str) -> None:
        """Verify the table at ``pos``: its vtable and the listed fields."""
        buf, n = self.buf, self.n
        if pos < 0 or pos + 4 > n:
            raise self._fail(what, f"table at {pos} is outside the buffer")
        vt = pos - _I32.unpack_from(buf, pos)[0]
        if vt < 0 or vt + 4 > n:
            raise self._fail(what, f"vtable of table at {pos} is outside the buffer (at {vt})")
        vsize, tsize = _VTHDR.unpack_from(buf, vt)
        if vsize < 4 or vsize & 1 or vt + vsize > n:
            raise self._fail(what, f"invalid vtable size {vsize} at {vt}")
        if tsize < 4 or pos + tsize > n:
            raise self._fail(what, f"table at {pos} of size {tsize} extends past the end")
        for slot, kind in fields.items():
            if slot + 2 > vsize:
                continue
            off = _U16.unpack_from(buf, vt + slot)[0]
            if off == 0:
                continue
            p = pos + off
            if isinstance(kind, int):
                if off + kind > tsize:
                    raise self._fail(what, f"field at vtable slot {slot} lies outside its table")
                continue
            if off + 4 > tsize:
                raise self._fail(what, f"field at vtable slot {slot} lies outside its table")
            target = self.uoffset(p, what)
            if kind == _TAB:
                continue  # sub-tables are verified with their own field list when visited
            length = _U32.unpack_from(buf, target)[0]
            end = target + 4 + length * _VEC_ELEM[kind] + (1 if kind == _STR else 0)
            if end > n:
                raise self._fail(what, f"{kind} at {target} with {length} elements (slot {slot}) extends past the end")

    def vector_span(self, pos: int, slot: int, elem: int, what: str) -> tuple[int, int] | None:
        """(start, length) of the (already verified) vector in ``slot`` of table ``pos``."""
        buf = self.buf
        vt = pos - _I32.unpack_from(buf, pos)[0]
        vsize = _U16.unpack_from(buf, vt)[0]
        if slot + 2 > vsize:
            return None
        off = _U16.unpack_from(buf, vt + slot)[0]
        if off == 0:
            return None
        target = self.uoffset(pos + off, what)
        length = _U32.unpack_from(buf, target)[0]
        if target + 4 + length * elem > self.n:
            raise self._fail(what, f"vector at {target} extends past the end")
        return target + 4, length

    def element(self, vec_start: int, index: int, what: str) -> int:
        """Absolute position of table ``index`` of a (verified) vector of tables."""
        return self.uoffset(vec_start + 4 * index, what)


def _ints(arr: Any) -> list[int]:
    """Accessor ``XAsNumpy()`` result (0 when absent) -> list of Python ints."""
    if isinstance(arr, int):
        return []
    return arr.tolist()


def _decode(b: bytes | None) -> str:
    return b.decode("utf-8", errors="replace") if b else ""


# --------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------


class _Parser:
    def __init__(self, buf: bytes, check_supported: bool) -> None:
        self.buf = buf
        self.n = len(buf)
        self.v = _Verifier(buf)
        self.check_supported = check_supported
        self.where = "file header"
        # unsupported findings: key -> list of op indices
        self.unsupported: dict[str, list[int]] = {}

    # ---- entry ----------------------------------------------------------

    def parse(self) -> Graph:
        try:
            return self._parse()
        except (ModelError, UnsupportedOpError):
            raise
        except Exception as e:  # noqa: BLE001 - any low-level failure is a malformed model
            kind = type(e).__qualname__
            if type(e).__module__ not in ("builtins", None):
                kind = f"{type(e).__module__}.{kind}"
            raise ModelError(f"malformed flatbuffer while reading {self.where}: {kind}: {e}") from e

    def _parse(self) -> Graph:
        buf, n, v = self.buf, self.n, self.v
        if n < 8:
            raise ModelError(f"not a TFLite flatbuffer: only {n} bytes (need at least 8)")
        ident = bytes(buf[4:8])
        if ident != FILE_IDENTIFIER:
            raise ModelError(
                f"not a TFLite flatbuffer: file identifier {ident!r} at bytes 4..8, expected {FILE_IDENTIFIER!r}"
            )
        root = _U32.unpack_from(buf, 0)[0]
        if root < 8 or root + 4 > n:
            raise ModelError(f"root table offset {root} is outside the {n}-byte buffer")

        self.where = "model table"
        v.table(root, _MODEL_FIELDS, "model")
        model = schema_fb.Model.GetRootAs(buf, 0)
        version = model.Version()
        if version != SCHEMA_VERSION:
            raise ModelError(f"model schema version is {version}, expected {SCHEMA_VERSION}")
        description = _decode(model.Description())

        n_sub = model.SubgraphsLength()
        if n_sub == 0:
            raise ModelError("model has no subgraphs")
        if n_sub > 1:
            raise UnsupportedOpError(
                f"model has {n_sub} subgraphs; only single-subgraph models are supported "
                "(control flow such as IF/WHILE/CALL_ONCE is not)"
            )

        opcodes = self._read_opcodes(model)
        buffers = self._read_buffers(model)

        self.where = "subgraph 0"
        sub_pos = v.element(v.vector_span(root, 8, 4, "model.subgraphs")[0], 0, "subgraph 0")
        v.table(sub_pos, _SUBGRAPH_FIELDS, "subgraph 0")
        sub = model.Subgraphs(0)

        tensors = self._read_tensors(sub, buffers)
        operators = self._read_operators(sub, opcodes, tensors)

        self.where = "subgraph 0 inputs/outputs"
        nt = len(tensors)
        inputs = tuple(_ints(sub.InputsAsNumpy()))
        outputs = tuple(_ints(sub.OutputsAsNumpy()))
        for kind, idxs in (("input", inputs), ("output", outputs)):
            for k, t in enumerate(idxs):
                if not 0 <= t < nt:
                    raise ModelError(f"subgraph {kind} {k}: tensor index {t} out of range (model has {nt} tensors)")

        self._check_dataflow(tensors, operators, inputs, outputs)
        self._check_op_semantics(tensors, operators)

        if self.check_supported and self.unsupported:
            raise UnsupportedOpError(self._unsupported_message())

        return Graph(
            tensors=tensors,
            operators=operators,
            inputs=inputs,
            outputs=outputs,
            version=version,
            description=description,
        )

    # ---- operator codes -----------------------------------------------

    def _read_opcodes(self, model: Any) -> list[tuple[int, str, str | None]]:
        """-> per opcode index: (builtin code, op name, custom code)."""
        v = self.v
        span = v.vector_span(model._tab.Pos, 6, 4, "model.operator_codes")
        if span is None:
            return []
        start, count = span
        result = []
        for i in range(count):
            what = f"operator_codes[{i}]"
            self.where = what
            v.table(v.element(start, i, what), _OPCODE_FIELDS, what)
            oc = model.OperatorCodes(i)
            code = max(int(oc.DeprecatedBuiltinCode()), int(oc.BuiltinCode()))
            if code < 0:
                raise ModelError(f"{what}: invalid builtin code {code}")
            custom = None
            if code == _CUSTOM:
                custom = _decode(oc.CustomCode())
                if not custom:
                    raise ModelError(f"{what}: CUSTOM operator without a custom_code")
                name = "CUSTOM"
            else:
                name = _BUILTIN_NAMES.get(code, f"UNKNOWN_BUILTIN_{code}")
            result.append((code, name, custom))
        return result

    # ---- buffers ----------------------------------------------------------

    def _read_buffers(self, model: Any) -> list[tuple[int, int]]:
        """-> per buffer: (start, size) of its bytes in the file; size 0 when empty."""
        v, n = self.v, self.n
        span = v.vector_span(model._tab.Pos, 12, 4, "model.buffers")
        if span is None:
            return []
        start, count = span
        result = []
        for i in range(count):
            what = f"buffers[{i}]"
            self.where = what
            pos = v.element(start, i, what)
            v.table(pos, _BUFFER_FIELDS, what)
            data = v.vector_span(pos, 4, 1, what)
            b = model.Buffers(i)
            offset, size = b.Offset(), b.Size()
            if offset > 1:  # TFLite: offset/size only valid when offset > 1
                if data is not None and data[1] > 0:
                    raise ModelError(f"{what}: has both inline data and an external offset")
                if offset + size > n:
                    raise ModelError(
                        f"{what}: external data at offset {offset} with size {size} extends past the "
                        f"end of the {n}-byte file"
                    )
                result.append((offset, size))
            elif data is not None:
                result.append(data)
            else:
                result.append((0, 0))
        return result

    # ---- tensors ------------------------------------------------------

    def _read_tensors(self, sub: Any, buffers: list[tuple[int, int]]) -> list[Tensor]:
        v = self.v
        span = v.vector_span(sub._tab.Pos, 4, 4, "subgraph 0 tensors")
        if span is None:
            return []
        start, count = span
        tensors = []
        for i in range(count):
            self.where = f"tensor {i}"
            pos = v.element(start, i, f"tensor {i}")
            v.table(pos, _TENSOR_FIELDS, f"tensor {i}")
            tensors.append(self._read_tensor(i, sub.Tensors(i), buffers))
        return tensors

    def _read_tensor(self, i: int, t: Any, buffers: list[tuple[int, int]]) -> Tensor:
        name = _decode(t.Name())
        what = f"tensor {i} '{name}'"
        self.where = what

        ttype = t.Type()
        if ttype not in _DTYPES:
            if ttype in _TYPE_NAMES:
                raise UnsupportedOpError(
                    f"{what} has type {_TYPE_NAMES[ttype]}; supported tensor types are "
                    "INT8, UINT8, INT16, INT32, INT64, FLOAT32, BOOL"
                )
            raise ModelError(f"{what}: invalid tensor type value {ttype}")
        dtype = _DTYPES[ttype]

        shape = tuple(_ints(t.ShapeAsNumpy()))
        if len(shape) > MAX_RANK:
            raise ModelError(f"{what}: rank {len(shape)} exceeds the maximum of {MAX_RANK}")
        if any(d < 0 for d in shape):
            raise ModelError(f"{what}: negative dimension in shape {list(shape)}")
        elements = 1
        for d in shape:
            elements *= d
        if elements >= MAX_ELEMENTS:
            raise ModelError(f"{what}: shape {list(shape)} has {elements} elements (limit 2**31 - 1)")

        if not t.ShapeSignatureIsNone():
            sig = _ints(t.ShapeSignatureAsNumpy())
            if len(sig) != len(shape):
                raise ModelError(f"{what}: shape_signature {sig} does not match the rank of shape {list(shape)}")
            for k, (s, d) in enumerate(zip(sig, shape)):
                if s == d:
                    continue
                if s == -1:
                    if k == 0 and d == 1:
                        continue  # dynamic batch, fixed to 1 in shape: the normal converter output
                    raise UnsupportedOpError(
                        f"{what}: dynamic shapes are unsupported (shape_signature {sig}, shape {list(shape)})"
                    )
                raise ModelError(f"{what}: shape_signature {sig} is inconsistent with shape {list(shape)}")

        if t.Sparsity() is not None:
            raise UnsupportedOpError(f"{what}: sparse tensors are unsupported")
        if t.ExternalBuffer() != 0:
            raise UnsupportedOpError(f"{what}: tensors in external buffer files are unsupported")

        quant = self._read_quant(t, what, ttype, shape)

        b = t.Buffer()
        if b >= len(buffers):
            raise ModelError(f"{what}: buffer index {b} out of range (model has {len(buffers)} buffers)")
        data = None
        bstart, bsize = buffers[b]
        if bsize:
            nbytes = elements * dtype.itemsize
            if bsize != nbytes:
                raise ModelError(
                    f"{what}: buffer {b} holds {bsize} bytes but shape {list(shape)} of "
                    f"{_TYPE_NAMES[ttype]} needs {nbytes}"
                )
            data = self.buf[bstart : bstart + bsize]

        return Tensor(
            index=i,
            name=name,
            tflite_type=ttype,
            dtype=dtype,
            shape=shape,
            quant=quant,
            data=data,
            is_variable=bool(t.IsVariable()),
        )

    def _read_quant(self, t: Any, what: str, ttype: int, shape: tuple[int, ...]) -> QuantParams | None:
        v = self.v
        # locate the quantization table through the verified offset
        tpos = t._tab.Pos
        off = t._tab.Offset(12)
        if off == 0:
            return None
        qpos = v.uoffset(tpos + off, f"{what} quantization")
        v.table(qpos, _QUANT_FIELDS, f"{what} quantization")
        q = t.Quantization()
        if q.DetailsType() != 0:
            raise UnsupportedOpError(f"{what}: custom/blockwise quantization details are unsupported")
        scales = q.ScaleAsNumpy()
        if isinstance(scales, int) or scales.size == 0:
            return None  # no (affine) quantization, e.g. min/max only
        zps = q.ZeroPointAsNumpy()
        if isinstance(zps, int) or zps.size == 0:
            raise ModelError(f"{what}: quantization has {scales.size} scales but no zero_point")
        scales = np.array(scales, dtype=np.float32)
        zps = np.array(zps, dtype=np.int64)
        if zps.size != scales.size:
            if zps.size != 1:
                raise ModelError(f"{what}: quantization has {scales.size} scales but {zps.size} zero points")
            # TFLM's space-saving convention: one zero point shared by all channels
            zps = np.full(scales.shape, zps[0], dtype=np.int64)
        qdim = int(q.QuantizedDimension())
        if scales.size > 1 or qdim != 0:
            if not 0 <= qdim < len(shape):
                raise ModelError(f"{what}: quantized_dimension {qdim} out of range for shape {list(shape)}")
        if scales.size > 1 and scales.size != shape[qdim]:
            raise ModelError(
                f"{what}: {scales.size} per-channel scales but shape[{qdim}] is {shape[qdim]} (shape {list(shape)})"
            )
        if not np.all(np.isfinite(scales)):
            raise ModelError(f"{what}: quantization scale is not finite")
        if ttype in _ZP_RANGE:
            if not np.all(scales > 0):
                raise ModelError(f"{what}: quantization scale must be > 0, got {scales[scales <= 0][0]}")
            lo, hi = _ZP_RANGE[ttype]
            if zps.min() < lo or zps.max() > hi:
                raise ModelError(f"{what}: zero point outside [{lo}, {hi}] for {_TYPE_NAMES[ttype]}")
        elif not np.all(scales >= 0):
            raise ModelError(f"{what}: quantization scale must be >= 0")
        if zps.min() < -(2**31) or zps.max() >= 2**31:
            # TFLM keeps zero points as int32
            raise ModelError(f"{what}: zero point does not fit int32")
        return QuantParams(scales=scales, zero_points=zps, quantized_dimension=qdim)

    # ---- operators ----------------------------------------------------

    def _read_operators(
        self, sub: Any, opcodes: list[tuple[int, str, str | None]], tensors: list[Tensor]
    ) -> list[Operator]:
        v = self.v
        span = v.vector_span(sub._tab.Pos, 10, 4, "subgraph 0 operators")
        if span is None:
            return []
        start, count = span
        ops = []
        for i in range(count):
            what = f"op {i}"
            self.where = what
            v.table(v.element(start, i, what), _OPERATOR_FIELDS, what)
            ops.append(self._read_operator(i, sub.Operators(i), opcodes, len(tensors)))
        return ops

    def _note_unsupported(self, key: str, op_index: int) -> None:
        self.unsupported.setdefault(key, []).append(op_index)

    def _read_operator(self, i: int, op: Any, opcodes: list[tuple[int, str, str | None]], nt: int) -> Operator:
        oi = op.OpcodeIndex()
        if oi >= len(opcodes):
            raise ModelError(f"op {i}: opcode index {oi} out of range (model has {len(opcodes)} operator codes)")
        code, name, custom = opcodes[oi]
        what = f"op {i} ({name if custom is None else 'CUSTOM ' + repr(custom)})"
        self.where = what
        spec = _OP_SPECS.get(name) if code == SUPPORTED_OPS.get(name) else None

        inputs = tuple(_ints(op.InputsAsNumpy()))
        outputs = tuple(_ints(op.OutputsAsNumpy()))
        for k, t in enumerate(inputs):
            if t == -1 and (spec is None or k in spec.optional_inputs):
                continue
            if not 0 <= t < nt:
                raise ModelError(f"{what}: input {k} tensor index {t} out of range (model has {nt} tensors)")
        for k, t in enumerate(outputs):
            if not 0 <= t < nt:
                raise ModelError(f"{what}: output {k} tensor index {t} out of range (model has {nt} tensors)")

        if spec is None:
            # unsupported: recorded (and reported) but options are not interpreted
            if custom is not None:
                key = f"CUSTOM {custom!r}"
                options: dict[str, Any] = {"custom_code": custom}
                span = self.v.vector_span(op._tab.Pos, 14, 1, f"{what} custom_options")
                if span is not None:
                    options["custom_options"] = self.buf[span[0] : span[0] + span[1]]
                else:
                    lo, ls = op.LargeCustomOptionsOffset(), op.LargeCustomOptionsSize()
                    if lo > 1:
                        if lo + ls > self.n:
                            raise ModelError(f"{what}: large custom options extend past the end of the file")
                        options["custom_options"] = self.buf[lo : lo + ls]
            elif code in _BUILTIN_NAMES:
                key, options = name, {}
            else:
                key, options = f"unknown builtin code {code}", {}
            self._note_unsupported(key, i)
            return Operator(index=i, opcode=code, name=name, inputs=inputs, outputs=outputs, options=options)

        lo_in, hi_in = spec.n_in
        if len(inputs) < lo_in or (hi_in is not None and len(inputs) > hi_in):
            want = f"{lo_in}" if lo_in == hi_in else f"{lo_in}..{hi_in if hi_in is not None else ''}"
            raise ModelError(f"{what}: has {len(inputs)} inputs, expected {want}")
        if len(outputs) != spec.n_out:
            raise ModelError(f"{what}: has {len(outputs)} outputs, expected {spec.n_out}")
        if op.BuiltinOptions2Type() != 0:
            raise ModelError(f"{what}: unexpected builtin_options_2 for this operator")

        options = self._read_options(i, op, name, spec, what)
        return Operator(index=i, opcode=code, name=name, inputs=inputs, outputs=outputs, options=options)

    def _read_options(self, i: int, op: Any, name: str, spec: _OpSpec, what: str) -> dict[str, Any]:
        otype = op.BuiltinOptionsType()
        options = {k: (list(d) if isinstance(d, list) else d) for k, d in _OPTION_DEFAULTS[name].items()}
        table = None
        if otype != 0:
            if otype != spec.options_type:
                got = _OPTIONS_NAMES.get(otype, f"unknown options type {otype}")
                want = _OPTIONS_NAMES[spec.options_type] if spec.options_type is not None else "no options"
                raise ModelError(f"{what}: builtin options are {got}, expected {want}")
            off = op._tab.Offset(12)
            if off != 0:
                pos = self.v.uoffset(op._tab.Pos + off, f"{what} builtin options")
                self.v.table(pos, spec.verify_fields, f"{what} builtin options")
                raw = op.BuiltinOptions()
                table = spec.accessor()
                table.Init(raw.Bytes, raw.Pos)
        if table is not None:
            for key, acc, kind, _slot in spec.fields:
                if kind == _INTS:
                    if not getattr(table, acc + "IsNone")():
                        options[key] = _ints(getattr(table, acc + "AsNumpy")())
                else:
                    options[key] = getattr(table, acc)()
        self._validate_options(i, name, options, what)
        return options

    def _validate_options(self, i: int, name: str, options: dict[str, Any], what: str) -> None:
        for key, _acc, kind, _slot in _OP_SPECS[name].fields:
            val = options[key]
            if kind == _ACT:
                if val not in _ACT_NAMES:
                    raise ModelError(f"{what}: invalid fused_activation_function value {val}")
                if val not in _ACT_SUPPORTED:
                    self._note_unsupported(f"{name} with fused activation {_ACT_NAMES[val]}", i)
            elif kind == _PAD:
                if val not in _PADDING_NAMES:
                    raise ModelError(f"{what}: invalid padding value {val} (expected SAME=0 or VALID=1)")
            elif kind == _POS:
                if val < 1:
                    raise ModelError(f"{what}: {key} must be >= 1, got {val}")
            elif kind == _FLOAT:
                if not math.isfinite(val):
                    raise ModelError(f"{what}: {key} must be finite, got {val}")
            elif kind == _WFMT:
                if val not in (0, 1):
                    raise ModelError(f"{what}: invalid weights_format value {val}")
                if val != 0:
                    self._note_unsupported(f"{name} with shuffled weights format", i)
            elif kind == _TTYPE:
                if val not in _TYPE_NAMES:
                    raise ModelError(f"{what}: invalid {key} value {val}")
            elif kind == _BOOL:
                options[key] = bool(val)
        if name == "STRIDED_SLICE":
            if options["ellipsis_mask"] != 0:
                self._note_unsupported("STRIDED_SLICE with ellipsis_mask", i)
            if options["new_axis_mask"] != 0:
                self._note_unsupported("STRIDED_SLICE with new_axis_mask", i)

    # ---- whole-graph checks ------------------------------------------------

    def _check_dataflow(
        self,
        tensors: list[Tensor],
        operators: list[Operator],
        inputs: tuple[int, ...],
        outputs: tuple[int, ...],
    ) -> None:
        self.where = "graph dataflow"
        graph_inputs = set(inputs)
        producer: dict[int, int] = {}
        for op in operators:
            for t in op.outputs:
                tensor = tensors[t]
                if tensor.is_variable:
                    continue
                if t in producer:
                    raise ModelError(
                        f"tensor {t} '{tensor.name}' is produced by both op {producer[t]} and op {op.index}"
                    )
                if tensor.data is not None:
                    raise ModelError(f"tensor {t} '{tensor.name}' has constant data but is written by op {op.index}")
                if t in graph_inputs:
                    raise ModelError(f"tensor {t} '{tensor.name}' is a graph input but is written by op {op.index}")
                producer[t] = op.index
        for t in inputs:
            if tensors[t].data is not None:
                raise ModelError(f"graph input tensor {t} '{tensors[t].name}' has constant data")

        def available(t: int, before_op: int | None) -> bool:
            tensor = tensors[t]
            if tensor.data is not None or tensor.is_variable or t in graph_inputs:
                return True
            p = producer.get(t)
            if p is None:
                if tensor.size == 0:
                    tensor.data = b""  # empty constant (e.g. an empty shape vector)
                    return True
                raise ModelError(f"tensor {t} '{tensor.name}' has no data and is not produced by any operator")
            if before_op is not None and p >= before_op:
                raise ModelError(
                    f"op {before_op} ({operators[before_op].name}) reads tensor {t} '{tensor.name}' "
                    f"before op {p} produces it (operators are not in execution order)"
                )
            return True

        for op in operators:
            for t in op.inputs:
                if t != -1:
                    available(t, op.index)
        for t in outputs:
            available(t, None)

    def _check_op_semantics(self, tensors: list[Tensor], operators: list[Operator]) -> None:
        """Checks of option values against tensor ranks (supported ops only)."""
        for op in operators:
            o = op.options
            what = f"op {op.index} ({op.name})"
            self.where = what
            if op.name not in _OP_SPECS or SUPPORTED_OPS[op.name] != op.opcode:
                continue
            if op.name == "CONCATENATION":
                rank = len(tensors[op.outputs[0]].shape)
                if not -rank <= o["axis"] < max(rank, 1):
                    raise ModelError(f"{what}: axis {o['axis']} out of range for output rank {rank}")
            elif op.name == "PACK":
                if o["values_count"] != len(op.inputs):
                    raise ModelError(
                        f"{what}: values_count {o['values_count']} does not match its {len(op.inputs)} inputs"
                    )
                rank = len(tensors[op.outputs[0]].shape)
                if not -rank <= o["axis"] < rank:
                    raise ModelError(f"{what}: axis {o['axis']} out of range for output rank {rank}")
            elif op.name == "SQUEEZE":
                rank = len(tensors[op.inputs[0]].shape)
                for d in o["squeeze_dims"]:
                    if not -rank <= d < max(rank, 1):
                        raise ModelError(f"{what}: squeeze dim {d} out of range for input rank {rank}")

    # ---- unsupported report -------------------------------------------

    def _unsupported_message(self) -> str:
        parts = []
        for key, idxs in self.unsupported.items():
            ops = ", ".join(str(k) for k in idxs)
            parts.append(f"{key} (x{len(idxs)}: op{'s' if len(idxs) > 1 else ''} {ops})")
        supported = ", ".join(sorted(SUPPORTED_OPS))
        return f"unsupported operators: {'; '.join(parts)}; supported: {supported}"


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def read_model(data: bytes | bytearray | memoryview, *, check_supported: bool = True) -> Graph:
    """Parse and validate a .tflite flatbuffer into a :class:`~tinyops_tflm.frontend.ir.Graph`.

    Raises :class:`ModelError` for malformed, truncated or inconsistent bytes and
    :class:`UnsupportedOpError` for valid models using features the engine lacks
    (with ``check_supported=True``, every unsupported operator is listed at once;
    with ``False`` such operators are kept in the graph, options uninterpreted).
    """
    if isinstance(data, str):
        raise TypeError("read_model expects bytes, not str (use read_model_file for paths)")
    if not isinstance(data, bytes):
        try:
            data = memoryview(data).tobytes()
        except TypeError:
            raise TypeError(f"read_model expects bytes-like data, got {type(data).__name__}") from None
    graph = _Parser(data, check_supported).parse()
    if check_supported:
        _check_quantized(graph)
    return graph


# Ops that legitimately touch float32 in an int8 model (its float interface),
# and the pure data-movement ops the engine runs for any element type.
_FLOAT_INTERFACE_OPS = {
    "QUANTIZE",
    "DEQUANTIZE",
    "SHAPE",
    "PAD",
    "PADV2",
    "RESHAPE",
    "SQUEEZE",
    "CONCATENATION",
    "STRIDED_SLICE",
    "PACK",
}


def _check_quantized(graph: Graph) -> None:
    """A float (or dynamic-range) model would otherwise fail deep in a kernel
    with a dtype message; say what it is and how to convert it."""
    floats = []
    for op in graph.operators:
        if op.name in _FLOAT_INTERFACE_OPS:
            continue
        ts = [graph.tensors[i] for i in (*op.inputs, *op.outputs) if i >= 0]
        if any(t.dtype == np.float32 for t in ts):
            floats.append(f"{op.name} (op {op.index})")
    if not floats:
        return
    shown = ", ".join(floats[:5]) + (f" and {len(floats) - 5} more" if len(floats) > 5 else "")
    raise UnsupportedOpError(
        f"the model is not quantized to int8: {len(floats)} of {len(graph.operators)} ops compute "
        f"in float32 ({shown}). tinyops runs full-integer int8 models; convert with TensorFlow: "
        "converter = tf.lite.TFLiteConverter.from_keras_model(model); "
        "converter.optimizations = [tf.lite.Optimize.DEFAULT]; "
        "converter.representative_dataset = <function yielding [input_batch] lists>; "
        "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; "
        "converter.inference_input_type = converter.inference_output_type = tf.int8; "
        "open('model_int8.tflite', 'wb').write(converter.convert())"
    )


def read_model_file(path: str | os.PathLike[str], *, check_supported: bool = True) -> Graph:
    """Read a .tflite file; errors name the path."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ModelError(f"cannot read model file {os.fspath(path)!r}: {e}") from e
    try:
        return read_model(data, check_supported=check_supported)
    except ModelError as e:
        raise ModelError(f"{os.fspath(path)}: {e}") from e
    except UnsupportedOpError as e:
        raise UnsupportedOpError(f"{os.fspath(path)}: {e}") from e
