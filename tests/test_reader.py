"""Tests of the .tflite reader (tinyops_tflm.frontend.reader) on valid models:
the IR it builds, options and their schema defaults, external buffers.
Unsupported features: test_reader_unsupported.py; corrupt models:
test_reader_errors.py; truncation and random corruption:
test_reader_robustness.py. Models are built with the schema object API
(tests/support/reader_models.py); nothing is read from disk except files the
tests write themselves. Random cases are seeded.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from support.reader_models import (
    ACT,
    BIAS,
    BO,
    OTHER,
    TT,
    W_SCALES,
    SHAPE_1x27,
    W,
    buffer_t,
    check_invariants,
    conv_add_model,
    model_with_unsupported_ops,
    opcode_t,
    operator_t,
    pack,
    quant_params,
    tensor_t,
)
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from tinyops_tflm.errors import ModelError, ModelFileError, ModelFileNotFound, UnsupportedOpError
from tinyops_tflm.frontend import reader
from tinyops_tflm.frontend.ops import SUPPORTED_OPS
from tinyops_tflm.frontend.reader import read_model, read_model_file


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
    with pytest.raises(ModelFileNotFound, match="missing.tflite"):
        read_model_file(tmp_path / "missing.tflite")
    with pytest.raises(ModelFileError, match=re.escape(str(tmp_path)) + ".* is a directory"):
        read_model_file(tmp_path)
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
    sg.tensors.append(tensor_t("fc/w", (4, 27), TT.INT8, len(m.buffers), quant_params([0.1], [0])))
    m.buffers.append(buffer_t(bytes(108)))
    sg.tensors[8].shape = [1, 4]
    sg.operators[3] = operator_t(3, [7, 9, -1], [8])
    m.operatorCodes[3] = opcode_t(BO.FULLY_CONNECTED)
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
    m = model_with_unsupported_ops()
    g = read_model(pack(m), check_supported=False)
    assert g.op_names() == ["CONV_2D", "ADD", "TANH", "CUSTOM", "TANH"]
    assert g.operators[3].options["custom_code"] == "Foo"
    assert g.operators[3].options["custom_options"] == b"\x01\x02"
    assert g.operators[2].options == {} and g.operators[2].opcode == BO.TANH
    check_invariants(g)
