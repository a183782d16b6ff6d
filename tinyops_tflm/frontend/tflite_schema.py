"""What the reader knows of the TFLite schema besides the flatbuffer layout:
enum names, the tensor types the engine accepts, and for each supported
operator its input/output counts and option fields (kind, accessor, vtable
slot) with the schema's defaults. Schema facts come from the accessor module
of the pinned ``tflite-micro`` wheel, so a renumbered enum cannot drift."""

from __future__ import annotations

from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from .ops import SUPPORTED_OPS

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
