"""Tests of the .tflite reader (tinyops_tflm.frontend.reader).

Models are built here with the schema object API; nothing is read from disk
except files the tests write themselves. Random cases are seeded.
"""

from __future__ import annotations

import inspect
import re
import struct

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from tinyops_tflm.errors import ModelError, UnsupportedOpError
from tinyops_tflm.frontend import reader
from tinyops_tflm.frontend.ir import Graph
from tinyops_tflm.frontend.ops import SUPPORTED_OPS
from tinyops_tflm.frontend.reader import read_model, read_model_file

BO = schema_fb.BuiltinOperator
TT = schema_fb.TensorType
OPT = schema_fb.BuiltinOptions
ACT = schema_fb.ActivationFunctionType

# --------------------------------------------------------------------------
# model construction helpers
# --------------------------------------------------------------------------

RNG_SEED = 20240611


def _quant(scales, zps, qdim=0):
    q = schema_fb.QuantizationParametersT()
    q.scale = [float(s) for s in scales]
    q.zeroPoint = [int(z) for z in zps]
    q.quantizedDimension = qdim
    return q


def _tensor(name, shape, ttype, buffer, quant=None, signature=None):
    t = schema_fb.TensorT()
    t.name = name
    t.shape = list(shape)
    t.type = ttype
    t.buffer = buffer
    t.quantization = quant
    if signature is not None:
        t.shapeSignature = list(signature)
    return t


def _buffer(data: bytes | None):
    b = schema_fb.BufferT()
    if data is not None:
        b.data = np.frombuffer(data, dtype=np.uint8).copy()
    return b


def _opcode(code, custom=None):
    oc = schema_fb.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    if custom is not None:
        oc.customCode = custom
    return oc


def _op(opcode_index, inputs, outputs, options_type=0, options=None):
    op = schema_fb.OperatorT()
    op.opcodeIndex = opcode_index
    op.inputs = list(inputs)
    op.outputs = list(outputs)
    op.builtinOptionsType = options_type
    op.builtinOptions = options
    return op


def _conv_options(padding=schema_fb.Padding.VALID, stride=(1, 1), act=ACT.RELU6, dilation=(1, 1)):
    o = schema_fb.Conv2DOptionsT()
    o.padding = padding
    o.strideW, o.strideH = stride
    o.fusedActivationFunction = act
    o.dilationWFactor, o.dilationHFactor = dilation
    return o


def _add_options(act=ACT.NONE):
    o = schema_fb.AddOptionsT()
    o.fusedActivationFunction = act
    return o


# Constant contents of the conv + add model (seeded).
_rng = np.random.default_rng(RNG_SEED)
W = _rng.integers(-127, 128, size=(3, 2, 2, 2), dtype=np.int8)  # OHWI
BIAS = _rng.integers(-1000, 1000, size=(3,), dtype=np.int32)
OTHER = _rng.integers(-128, 128, size=(1, 3, 3, 3), dtype=np.int8)
W_SCALES = [0.01, 0.02, 0.03]


SHAPE_1x27 = np.array([1, 27], dtype=np.int32)


def conv_add_model() -> schema_fb.ModelT:
    """input[1,4,4,2] -> CONV_2D(3x2x2, VALID, RELU6) -> ADD(const) -> output[1,3,3,3]
    -> RESHAPE([1,27]) -> SOFTMAX -> probs[1,27] (the graph output)."""
    m = schema_fb.ModelT()
    m.version = 3
    m.description = "conv+add test model"
    m.buffers = [
        _buffer(None),  # 0: sentinel
        _buffer(None),  # 1: input
        _buffer(W.tobytes()),  # 2: weights
        _buffer(BIAS.tobytes()),  # 3: bias
        _buffer(None),  # 4: conv out
        _buffer(OTHER.tobytes()),  # 5: add constant
        _buffer(None),  # 6: output
        _buffer(SHAPE_1x27.tobytes()),  # 7: reshape shape
        _buffer(None),  # 8: reshaped
        _buffer(None),  # 9: probs
    ]
    sg = schema_fb.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        _tensor("input", (1, 4, 4, 2), TT.INT8, 1, _quant([0.5], [-1]), signature=(-1, 4, 4, 2)),
        _tensor("conv/weights", (3, 2, 2, 2), TT.INT8, 2, _quant(W_SCALES, [0, 0, 0], 0)),
        _tensor("conv/bias", (3,), TT.INT32, 3, _quant([0.5 * s for s in W_SCALES], [0, 0, 0], 0)),
        _tensor("conv/out", (1, 3, 3, 3), TT.INT8, 4, _quant([0.25], [3])),
        _tensor("add/const", (1, 3, 3, 3), TT.INT8, 5, _quant([0.125], [0])),
        _tensor("output", (1, 3, 3, 3), TT.INT8, 6, _quant([0.3], [-2])),
        _tensor("reshape/shape", (2,), TT.INT32, 7),
        _tensor("reshaped", (1, 27), TT.INT8, 8, _quant([0.3], [-2])),
        _tensor("probs", (1, 27), TT.INT8, 9, _quant([1 / 256], [-128])),
    ]
    sg.inputs = [0]
    sg.outputs = [8]
    reshape_options = schema_fb.ReshapeOptionsT()
    reshape_options.newShape = [1, 27]
    softmax_options = schema_fb.SoftmaxOptionsT()
    softmax_options.beta = 1.0
    sg.operators = [
        _op(0, [0, 1, 2], [3], OPT.Conv2DOptions, _conv_options()),
        _op(1, [3, 4], [5], OPT.AddOptions, _add_options()),
        _op(2, [5, 6], [7], OPT.ReshapeOptions, reshape_options),
        _op(3, [7], [8], OPT.SoftmaxOptions, softmax_options),
    ]
    m.subgraphs = [sg]
    m.operatorCodes = [_opcode(BO.CONV_2D), _opcode(BO.ADD), _opcode(BO.RESHAPE), _opcode(BO.SOFTMAX)]
    return m


def pack(model: schema_fb.ModelT, ident: bytes = b"TFL3") -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=ident)
    return bytes(b.Output())


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return pack(conv_add_model())


def check_invariants(g: Graph) -> None:
    """What later stages rely on; any Graph the reader returns must satisfy it."""
    nt = len(g.tensors)
    produced = {}
    for t in g.tensors:
        assert t.dtype in reader._DTYPES.values()
        assert len(t.shape) <= 6 and all(d >= 0 for d in t.shape)
        assert t.size < 2**31
        if t.data is not None:
            assert isinstance(t.data, bytes) and len(t.data) == t.nbytes
        if t.quant is not None:
            q = t.quant
            assert q.scales.dtype == np.float32 and q.zero_points.dtype == np.int64
            assert q.scales.shape == q.zero_points.shape and q.scales.size >= 1
            assert np.all(np.isfinite(q.scales))
            if q.per_channel:
                assert 0 <= q.quantized_dimension < len(t.shape)
                assert q.scales.size == t.shape[q.quantized_dimension]
    for t in g.inputs + g.outputs:
        assert 0 <= t < nt
    for op in g.operators:
        for t in op.inputs:
            assert t == -1 or 0 <= t < nt
            if t >= 0:
                tt = g.tensors[t]
                assert tt.data is not None or tt.is_variable or t in g.inputs or produced.get(t, 1 << 30) < op.index
        for t in op.outputs:
            assert 0 <= t < nt
            produced[t] = op.index


# --------------------------------------------------------------------------
# valid models
# --------------------------------------------------------------------------


def test_conv_add_ir(model_bytes):
    g = read_model(model_bytes)
    check_invariants(g)
    assert g.version == 3
    assert g.description == "conv+add test model"
    assert g.inputs == (0,) and g.outputs == (8,)
    assert [t.name for t in g.tensors] == [
        "input",
        "conv/weights",
        "conv/bias",
        "conv/out",
        "add/const",
        "output",
        "reshape/shape",
        "reshaped",
        "probs",
    ]
    assert [t.shape for t in g.tensors] == [
        (1, 4, 4, 2),
        (3, 2, 2, 2),
        (3,),
        (1, 3, 3, 3),
        (1, 3, 3, 3),
        (1, 3, 3, 3),
        (2,),
        (1, 27),
        (1, 27),
    ]
    i8, i32 = np.dtype(np.int8), np.dtype(np.int32)
    assert [t.dtype for t in g.tensors] == [i8, i8, i32, i8, i8, i8, i32, i8, i8]
    assert [t.tflite_type for t in g.tensors] == [TT.INT8, TT.INT8, TT.INT32] + [TT.INT8] * 3 + [TT.INT32] + [
        TT.INT8
    ] * 2

    # constant data, bytes for bytes
    assert [t.is_constant for t in g.tensors] == [False, True, True, False, True, False, True, False, False]
    assert g.tensors[6].data == SHAPE_1x27.tobytes()
    assert g.tensors[6].quant is None
    assert g.tensors[1].data == W.tobytes()
    assert g.tensors[2].data == BIAS.tobytes()
    assert g.tensors[4].data == OTHER.tobytes()
    assert type(g.tensors[1].data) is bytes
    np.testing.assert_array_equal(g.tensors[1].array(), W)
    np.testing.assert_array_equal(g.tensors[2].array(), BIAS)

    # quantization
    qi = g.tensors[0].quant
    assert qi.scales.dtype == np.float32 and qi.zero_points.dtype == np.int64
    assert qi.scales.tolist() == [0.5] and qi.zero_points.tolist() == [-1] and not qi.per_channel
    qw = g.tensors[1].quant
    assert qw.per_channel and qw.quantized_dimension == 0
    assert qw.scales.tobytes() == np.array(W_SCALES, dtype=np.float32).tobytes()
    assert qw.zero_points.tolist() == [0, 0, 0]
    assert g.tensors[5].quant.zero_points.tolist() == [-2]

    # operators and options
    conv, add, reshape, softmax = g.operators
    assert (conv.index, conv.opcode, conv.name, conv.inputs, conv.outputs) == (0, 3, "CONV_2D", (0, 1, 2), (3,))
    assert conv.options == {
        "padding": schema_fb.Padding.VALID,
        "stride_w": 1,
        "stride_h": 1,
        "fused_activation_function": ACT.RELU6,
        "dilation_w_factor": 1,
        "dilation_h_factor": 1,
    }
    assert (add.opcode, add.name, add.inputs, add.outputs) == (0, "ADD", (3, 4), (5,))
    assert add.options == {"fused_activation_function": 0, "pot_scale_int16": True}  # schema default is true
    assert (reshape.name, reshape.inputs, reshape.outputs, reshape.options) == (
        "RESHAPE",
        (5, 6),
        (7,),
        {"new_shape": [1, 27]},
    )
    assert (softmax.name, softmax.options) == ("SOFTMAX", {"beta": 1.0})
    assert g.op_names() == ["CONV_2D", "ADD", "RESHAPE", "SOFTMAX"]


def test_bytes_like_inputs_and_file(model_bytes, tmp_path):
    ref = read_model(model_bytes)
    for data in (bytearray(model_bytes), memoryview(model_bytes)):
        g = read_model(data)
        assert [t.data for t in g.tensors] == [t.data for t in ref.tensors]
    p = tmp_path / "m.tflite"
    p.write_bytes(model_bytes)
    g = read_model_file(p)
    assert g.op_names() == ["CONV_2D", "ADD", "RESHAPE", "SOFTMAX"]
    assert read_model_file(str(p)).tensors[1].data == W.tobytes()
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "missing.tflite")
    with pytest.raises(ModelError, match=re.escape(str(tmp_path))):
        read_model_file(tmp_path)  # a directory: unreadable
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(model_bytes[:100])
    with pytest.raises(ModelError, match="bad.tflite"):
        read_model_file(bad)
    with pytest.raises(TypeError):
        read_model("not bytes")  # type: ignore[arg-type]


def test_missing_options_get_schema_defaults():
    m = conv_add_model()
    # ADD without options: defaults filled in
    m.subgraphs[0].operators[1].builtinOptionsType = 0
    m.subgraphs[0].operators[1].builtinOptions = None
    g = read_model(pack(m))
    assert g.operators[1].options == {"fused_activation_function": 0, "pot_scale_int16": True}
    # CONV_2D without options: schema default stride is 0 -> invalid
    m.subgraphs[0].operators[0].builtinOptionsType = 0
    m.subgraphs[0].operators[0].builtinOptions = None
    with pytest.raises(ModelError, match=r"op 0 \(CONV_2D\): stride_w must be >= 1"):
        read_model(pack(m))
    # RESHAPE / SOFTMAX without options: new_shape [] and beta 0.0 (schema defaults)
    m = conv_add_model()
    for op in m.subgraphs[0].operators[2:]:
        op.builtinOptionsType, op.builtinOptions = 0, None
    g = read_model(pack(m))
    assert g.operators[2].options == {"new_shape": []} and g.operators[3].options == {"beta": 0.0}
    assert g.operators[2].options["new_shape"] is not read_model(pack(m)).operators[2].options["new_shape"]


def test_fully_connected_optional_bias_and_defaults():
    m = conv_add_model()
    sg = m.subgraphs[0]
    # replace SOFTMAX by FULLY_CONNECTED without bias (-1) and without options
    sg.tensors.append(_tensor("fc/w", (4, 27), TT.INT8, len(m.buffers), _quant([0.1], [0])))
    m.buffers.append(_buffer(bytes(108)))
    sg.tensors[8].shape = [1, 4]
    sg.operators[3] = _op(3, [7, 9, -1], [8])
    m.operatorCodes[3] = _opcode(BO.FULLY_CONNECTED)
    g = read_model(pack(m))
    fc = g.operators[3]
    assert fc.name == "FULLY_CONNECTED" and fc.inputs == (7, 9, -1)
    assert fc.options == {
        "fused_activation_function": 0,
        "weights_format": 0,
        "keep_num_dims": False,
        "asymmetric_quantize_inputs": False,
    }
    # -1 is not allowed for a required input
    sg.operators[3].inputs = [7, -1, -1]
    with pytest.raises(ModelError, match=r"op 3 \(FULLY_CONNECTED\): input 1 tensor index -1"):
        read_model(pack(m))


def test_option_slots_match_schema():
    """The reader's hard-coded vtable slots agree with the schema's accessors."""
    for name, spec in reader._OP_SPECS.items():
        for key, acc, kind, slot in spec.fields:
            src = inspect.getsource(getattr(spec.accessor, acc))
            assert f"self._tab.Offset({slot})" in src, (name, key)
            assert reader._camel_to_snake(acc) == key
    assert set(reader._OP_SPECS) == set(SUPPORTED_OPS)


def test_dynamic_batch_signature_is_fine_but_other_dims_are_not():
    m = conv_add_model()
    read_model(pack(m))  # input has shape_signature [-1, 4, 4, 2]
    m.subgraphs[0].tensors[0].shapeSignature = [1, -1, 4, 2]
    with pytest.raises(UnsupportedOpError, match=r"tensor 0 'input'.*dynamic shapes are unsupported"):
        read_model(pack(m))
    m.subgraphs[0].tensors[0].shapeSignature = [1, 5, 4, 2]
    with pytest.raises(ModelError, match="inconsistent with shape"):
        read_model(pack(m))


def test_zero_point_broadcast_like_tflm():
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization.zeroPoint = [0]
    g = read_model(pack(m))
    assert g.tensors[1].quant.zero_points.tolist() == [0, 0, 0]


def test_external_offset_buffers():
    m = conv_add_model()
    fb = pack(m)
    # move the weights out of the flatbuffer: data appended after it, 16-aligned
    m.buffers[2] = schema_fb.BufferT()
    m.buffers[2].offset = 1 << 40  # placeholder of the final width (uint64 either way)
    m.buffers[2].size = W.nbytes
    fb = pack(m)
    start = (len(fb) + 15) // 16 * 16
    m.buffers[2].offset = start
    fb = pack(m)
    assert (len(fb) + 15) // 16 * 16 == start
    blob = fb + bytes(start - len(fb)) + W.tobytes()
    g = read_model(blob)
    assert g.tensors[1].data == W.tobytes()
    with pytest.raises(ModelError, match=r"buffers\[2\].*extends past the end"):
        read_model(blob[:-1])
    m.buffers[2].size = W.nbytes - 1
    fb = pack(m)
    with pytest.raises(ModelError, match="holds 23 bytes but shape"):
        read_model(fb + bytes(start - len(fb)) + W.tobytes())


def test_check_supported_false_keeps_unsupported_ops():
    m = _model_with_unsupported_ops()
    g = read_model(pack(m), check_supported=False)
    assert g.op_names() == ["CONV_2D", "ADD", "TANH", "CUSTOM", "TANH"]
    assert g.operators[3].options["custom_code"] == "Foo"
    assert g.operators[3].options["custom_options"] == b"\x01\x02"
    assert g.operators[2].options == {} and g.operators[2].opcode == BO.TANH
    check_invariants(g)


# --------------------------------------------------------------------------
# unsupported features
# --------------------------------------------------------------------------


def _model_with_unsupported_ops() -> schema_fb.ModelT:
    m = conv_add_model()
    sg = m.subgraphs[0]
    tanh, foo = len(m.operatorCodes), len(m.operatorCodes) + 1
    m.operatorCodes += [_opcode(BO.TANH), _opcode(BO.CUSTOM, "Foo")]
    t = len(sg.tensors)
    for name in ("t1", "c1", "t2"):
        sg.tensors.append(_tensor(name, (1, 3, 3, 3), TT.INT8, 0, _quant([0.1], [0])))
    custom = _op(foo, [t], [t + 1])
    custom.customOptions = [1, 2]
    sg.operators[2:] = [_op(tanh, [5], [t]), custom, _op(tanh, [t + 1], [t + 2])]
    sg.outputs = [t + 2]
    return m


def test_unsupported_ops_listed_together():
    with pytest.raises(UnsupportedOpError) as ei:
        read_model(pack(_model_with_unsupported_ops()))
    msg = str(ei.value)
    assert "TANH (x2: ops 2, 4)" in msg
    assert "CUSTOM 'Foo' (x1: op 3)" in msg
    supported = msg.split("supported: ", 1)[1].split(", ")
    assert supported == sorted(SUPPORTED_OPS) and "ADD" in supported


def test_unknown_builtin_code_reported_by_number():
    m = conv_add_model()
    m.operatorCodes[1] = _opcode(250)
    with pytest.raises(UnsupportedOpError, match=r"unknown builtin code 250 \(x1: op 1\)"):
        read_model(pack(m))


def test_unsupported_fused_activation_names_op():
    m = conv_add_model()
    m.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = ACT.TANH
    with pytest.raises(UnsupportedOpError, match=r"CONV_2D with fused activation TANH \(x1: op 0\)"):
        read_model(pack(m))
    m.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = 9
    with pytest.raises(ModelError, match="invalid fused_activation_function value 9"):
        read_model(pack(m))


def test_unsupported_tensor_type_and_multiple_subgraphs():
    m = conv_add_model()
    m.subgraphs[0].tensors[3].type = TT.FLOAT16
    with pytest.raises(UnsupportedOpError, match=r"tensor 3 'conv/out' has type FLOAT16"):
        read_model(pack(m))
    m = conv_add_model()
    m.subgraphs.append(conv_add_model().subgraphs[0])
    with pytest.raises(UnsupportedOpError, match="2 subgraphs"):
        read_model(pack(m))


# --------------------------------------------------------------------------
# corrupt or inconsistent models
# --------------------------------------------------------------------------


def _expect_model_error(m: schema_fb.ModelT, pattern: str) -> None:
    with pytest.raises(ModelError, match=pattern):
        read_model(pack(m))


def test_wrong_magic_and_short_input(model_bytes):
    bad = model_bytes[:4] + b"TFL2" + model_bytes[8:]
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        read_model(bad)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        read_model(b"")
    with pytest.raises(ModelError, match="root table offset"):
        read_model(b"\xff\xff\xff\x7fTFL3" + bytes(8))


def test_schema_version():
    m = conv_add_model()
    m.version = 2
    _expect_model_error(m, "schema version is 2, expected 3")


def test_tensor_index_out_of_range_in_op():
    m = conv_add_model()
    m.subgraphs[0].operators[1].inputs = [3, 99]
    _expect_model_error(m, r"op 1 \(ADD\): input 1 tensor index 99 out of range")
    m = conv_add_model()
    m.subgraphs[0].operators[0].outputs = [-1]
    _expect_model_error(m, r"op 0 \(CONV_2D\): output 0 tensor index -1 out of range")
    m = conv_add_model()
    m.subgraphs[0].outputs = [9]
    _expect_model_error(m, "subgraph output 0: tensor index 9 out of range")


def test_buffer_index_out_of_range():
    m = conv_add_model()
    m.subgraphs[0].tensors[1].buffer = 99
    _expect_model_error(m, r"tensor 1 'conv/weights': buffer index 99 out of range")


def test_opcode_index_out_of_range():
    m = conv_add_model()
    m.subgraphs[0].operators[1].opcodeIndex = 4
    _expect_model_error(m, "op 1: opcode index 4 out of range")


def test_shape_buffer_size_mismatch():
    m = conv_add_model()
    m.buffers[2] = _buffer(W.tobytes()[:-1])
    _expect_model_error(
        m, r"tensor 1 'conv/weights': buffer 2 holds 23 bytes but shape \[3, 2, 2, 2\] of INT8 needs 24"
    )


def test_zero_size_weight_buffer():
    m = conv_add_model()
    m.buffers[2] = _buffer(None)
    _expect_model_error(m, "tensor 1 'conv/weights' has no data and is not produced by any operator")


def test_per_channel_scale_count_mismatch():
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = _quant([0.1, 0.2], [0, 0], 0)
    _expect_model_error(m, r"tensor 1 'conv/weights': 2 per-channel scales but shape\[0\] is 3")
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = _quant(W_SCALES, [0, 0], 0)
    _expect_model_error(m, "3 scales but 2 zero points")
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = _quant(W_SCALES, [0, 0, 0], 4)
    _expect_model_error(m, "quantized_dimension 4 out of range")


def test_bad_scales_and_zero_points():
    for scales, zps, pattern in (
        ([0.0], [0], "scale must be > 0"),
        ([float("nan")], [0], "not finite"),
        ([float("inf")], [0], "not finite"),
        ([0.1], [128], r"zero point outside \[-128, 127\]"),
    ):
        m = conv_add_model()
        m.subgraphs[0].tensors[3].quantization = _quant(scales, zps)
        _expect_model_error(m, pattern)


def test_negative_dims_rank_and_size():
    m = conv_add_model()
    m.subgraphs[0].tensors[3].shape = [1, -3, 3, 3]
    m.subgraphs[0].tensors[3].shapeSignature = None
    _expect_model_error(m, r"tensor 3 'conv/out': negative dimension")
    m = conv_add_model()
    m.subgraphs[0].tensors[3].shape = [1] * 7
    _expect_model_error(m, "rank 7 exceeds")
    m = conv_add_model()
    m.subgraphs[0].tensors[3].shape = [65536, 65536, 1, 3]
    _expect_model_error(m, "elements")


def test_option_values_validated():
    m = conv_add_model()
    m.subgraphs[0].operators[0].builtinOptions.padding = 5
    _expect_model_error(m, "invalid padding value 5")
    m = conv_add_model()
    m.subgraphs[0].operators[0].builtinOptions.dilationHFactor = 0
    _expect_model_error(m, "dilation_h_factor must be >= 1")
    m = conv_add_model()
    m.subgraphs[0].operators[0].builtinOptionsType = OPT.AddOptions
    m.subgraphs[0].operators[0].builtinOptions = _add_options()
    _expect_model_error(m, r"op 0 \(CONV_2D\): builtin options are AddOptions, expected Conv2DOptions")


def test_dataflow_errors():
    m = conv_add_model()
    sg = m.subgraphs[0]
    sg.operators[0], sg.operators[1] = sg.operators[1], sg.operators[0]  # ADD before CONV_2D
    _expect_model_error(m, r"op 0 \(ADD\) reads tensor 3 'conv/out' before op 1 produces it")
    m = conv_add_model()
    m.subgraphs[0].operators[1].outputs = [3]
    _expect_model_error(m, "produced by both op 0 and op 1")
    m = conv_add_model()
    m.subgraphs[0].operators[1].outputs = [4]
    _expect_model_error(m, "has constant data but is written by op 1")
    m = conv_add_model()
    m.subgraphs[0].operators.pop()  # graph output tensor 8 no longer produced
    _expect_model_error(m, "tensor 8 'probs' has no data and is not produced by any operator")
    m = conv_add_model()
    m.subgraphs[0].operators[0].outputs = [0]  # CONV_2D writes the graph input
    _expect_model_error(m, "is a graph input but is written by op 0")


def test_wrong_arity():
    m = conv_add_model()
    m.subgraphs[0].operators[1].inputs = [3]
    _expect_model_error(m, r"op 1 \(ADD\): has 1 inputs, expected 2")


# --------------------------------------------------------------------------
# robustness: truncation and random corruption
# --------------------------------------------------------------------------


# prefix of the message of a low-level exception converted by the reader's backstop
BACKSTOP = "malformed flatbuffer while reading"


def test_every_truncation_raises_model_error(model_bytes):
    assert 1500 < len(model_bytes) < 4000
    for n in range(len(model_bytes)):
        try:
            read_model(model_bytes[:n])
        except ModelError as e:
            # found by the reader's own bounds checks, not by its catch-all backstop
            assert not str(e).startswith(BACKSTOP), (n, str(e))
            continue
        except Exception as e:  # pragma: no cover - the failure path of this test
            pytest.fail(f"prefix of {n} bytes raised {type(e).__name__}: {e}")
        pytest.fail(f"prefix of {n} bytes of {len(model_bytes)} was accepted")


def test_random_byte_flips_never_raise_anything_else(model_bytes):
    rng = np.random.default_rng(RNG_SEED)
    ref = read_model(model_bytes)
    outcomes = {"graph": 0, "model": 0, "unsupported": 0}
    n = len(model_bytes)
    for case in range(2000):
        data = bytearray(model_bytes)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, n))
            data[pos] ^= int(rng.integers(1, 256))
        try:
            g = read_model(bytes(data))
        except ModelError as e:
            outcomes["model"] += 1
            assert not str(e).startswith(BACKSTOP), (case, str(e))
            continue
        except UnsupportedOpError:
            outcomes["unsupported"] += 1
            continue
        except Exception as e:  # pragma: no cover - the failure path of this test
            pytest.fail(f"case {case}: {type(e).__name__}: {e}")
        outcomes["graph"] += 1
        check_invariants(g)
        assert len(g.tensors) <= n and len(g.operators) <= n
    # both outcomes must occur, or the test is not exercising the reader
    assert outcomes["graph"] > 50 and outcomes["model"] > 500, outcomes
    assert ref.op_names() == ["CONV_2D", "ADD", "RESHAPE", "SOFTMAX"]


def test_corrupted_offsets_are_model_errors(model_bytes):
    """Point the root table and vtables outside the buffer explicitly."""
    n = len(model_bytes)
    root = struct.unpack_from("<I", model_bytes, 0)[0]
    for soff in (n + 10, -(n + 10), root + 1, -(2**31)):
        data = bytearray(model_bytes)
        struct.pack_into("<i", data, root, soff)
        with pytest.raises(ModelError, match="model: vtable of table"):
            read_model(bytes(data))
    for bad_root in (n, n - 2, 2**32 - 1, 4):
        data = bytearray(model_bytes)
        struct.pack_into("<I", data, 0, bad_root)
        with pytest.raises(ModelError, match="root table offset"):
            read_model(bytes(data))
    # vtable claiming more fields than the buffer holds
    vt = root - struct.unpack_from("<i", model_bytes, root)[0]
    data = bytearray(model_bytes)
    struct.pack_into("<H", data, vt, 0xFFFE)
    with pytest.raises(ModelError, match="invalid vtable size"):
        read_model(bytes(data))
    # table size past the end
    data = bytearray(model_bytes)
    struct.pack_into("<H", data, vt + 2, 0xFFFC)
    with pytest.raises(ModelError, match="extends past the end"):
        read_model(bytes(data))
    # subgraphs vector length beyond the buffer
    sub_field = root + struct.unpack_from("<H", model_bytes, vt + 8)[0]
    vec = sub_field + struct.unpack_from("<I", model_bytes, sub_field)[0]
    data = bytearray(model_bytes)
    struct.pack_into("<I", data, vec, 1 << 28)
    with pytest.raises(ModelError, match="vector of tables.*extends past the end"):
        read_model(bytes(data))


def test_backstop_converts_low_level_errors(model_bytes, monkeypatch):
    """Any low-level exception escaping the bounds checks still becomes a ModelError."""

    def boom(self, model):
        struct.unpack_from("<I", b"", 0)  # struct.error, as a raw flatbuffers read would raise

    monkeypatch.setattr(reader._Parser, "_read_buffers", boom)
    with pytest.raises(ModelError, match=r"malformed flatbuffer while reading .*struct\.error") as ei:
        read_model(model_bytes)
    assert isinstance(ei.value.__cause__, struct.error)
