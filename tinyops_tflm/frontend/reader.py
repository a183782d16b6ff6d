""".tflite reader: flatbuffer bytes -> validated graph IR (:mod:`tinyops_tflm.frontend.ir`).

The flatbuffer is read through the accessor classes of the schema module that
ships with the pinned ``tflite-micro`` wheel (``Model.GetRootAs``; never the
slow object API). Python flatbuffers accessors do no bounds checking, so every
table, vtable, vector and string is verified by :class:`_Verifier`
(:mod:`.flatbuffer`) before an accessor touches it; any remaining low-level failure (``struct.error``,
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
from typing import Any, Iterator

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from ..errors import ModelError, UnsupportedOpError
from .flatbuffer import (
    _BUFFER_FIELDS,
    _MODEL_FIELDS,
    _OPCODE_FIELDS,
    _OPERATOR_FIELDS,
    _QUANT_FIELDS,
    _SUBGRAPH_FIELDS,
    _TENSOR_FIELDS,
    _U32,
    _decode,
    _ints,
    _Verifier,
)
from .graph_checks import check_dataflow, check_op_semantics, check_quantized
from .ir import Graph, Operator, QuantParams, Tensor
from .model_bytes import read_model_bytes
from .ops import SUPPORTED_OPS

# Schema facts and op specs live in .tflite_schema; the reader's tests reach
# _DTYPES, _OP_SPECS and _camel_to_snake through this module.
from .tflite_schema import (
    _ACT,
    _ACT_NAMES,
    _ACT_SUPPORTED,
    _BOOL,
    _BUILTIN_NAMES,
    _CUSTOM,
    _DTYPES,
    _FLOAT,
    _INTS,
    _OP_SPECS,
    _OPTION_DEFAULTS,
    _OPTIONS_NAMES,
    _PAD,
    _PADDING_NAMES,
    _POS,
    _TTYPE,
    _TYPE_NAMES,
    _WFMT,
    _ZP_RANGE,
    _camel_to_snake,  # noqa: F401
    _OpSpec,
)

__all__ = ["read_model", "read_model_file"]

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
MAX_RANK = 6
MAX_ELEMENTS = 2**31  # exclusive

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

        self.where = "graph dataflow"
        check_dataflow(tensors, operators, inputs, outputs)
        for op in operators:
            self.where = f"op {op.index} ({op.name})"
            check_op_semantics(op, tensors)

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

    def _tables(
        self, pos: int, slot: int, vector: str, item: str, fields: dict[int, Any]
    ) -> Iterator[tuple[int, str, int]]:
        """(index, name, position) of each table of the vector of tables in
        `slot` of table `pos`, each verified with `fields` before it is read;
        `item` formats a table's name from its index (errors name it)."""
        v = self.v
        span = v.vector_span(pos, slot, 4, vector)
        if span is None:
            return
        start, count = span
        for i in range(count):
            what = item.format(i)
            self.where = what
            table = v.element(start, i, what)
            v.table(table, fields, what)
            yield i, what, table

    # ---- operator codes -----------------------------------------------

    def _read_opcodes(self, model: Any) -> list[tuple[int, str, str | None]]:
        """-> per opcode index: (builtin code, op name, custom code)."""
        result = []
        for i, what, _pos in self._tables(
            model._tab.Pos, 6, "model.operator_codes", "operator_codes[{}]", _OPCODE_FIELDS
        ):
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
        result = []
        for i, what, pos in self._tables(model._tab.Pos, 12, "model.buffers", "buffers[{}]", _BUFFER_FIELDS):
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
        tables = self._tables(sub._tab.Pos, 4, "subgraph 0 tensors", "tensor {}", _TENSOR_FIELDS)
        return [self._read_tensor(i, sub.Tensors(i), buffers) for i, _what, _pos in tables]

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
        tables = self._tables(sub._tab.Pos, 10, "subgraph 0 operators", "op {}", _OPERATOR_FIELDS)
        return [self._read_operator(i, sub.Operators(i), opcodes, len(tensors)) for i, _what, _pos in tables]

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
        check_quantized(graph)
    return graph


def read_model_file(path: str | os.PathLike[str], *, check_supported: bool = True) -> Graph:
    """Read a .tflite file; errors name the path."""
    data = read_model_bytes(path)
    try:
        return read_model(data, check_supported=check_supported)
    except ModelError as e:
        raise ModelError(f"{os.fspath(path)}: {e}") from e
    except UnsupportedOpError as e:
        raise UnsupportedOpError(f"{os.fspath(path)}: {e}") from e
