"""The reader on corrupt or inconsistent models: a ModelError naming the
tensor, op, buffer or field at fault."""

from __future__ import annotations

import pytest
from support.reader_models import OPT, W_SCALES, W, add_options, buffer_t, conv_add_model, pack, quant_params
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from tinyops_tflm.errors import ModelError
from tinyops_tflm.frontend.reader import read_model


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
    m.buffers[2] = buffer_t(W.tobytes()[:-1])
    _expect_model_error(
        m, r"tensor 1 'conv/weights': buffer 2 holds 23 bytes but shape \[3, 2, 2, 2\] of INT8 needs 24"
    )


def test_zero_size_weight_buffer():
    m = conv_add_model()
    m.buffers[2] = buffer_t(None)
    _expect_model_error(m, "tensor 1 'conv/weights' has no data and is not produced by any operator")


def test_per_channel_scale_count_mismatch():
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = quant_params([0.1, 0.2], [0, 0], 0)
    _expect_model_error(m, r"tensor 1 'conv/weights': 2 per-channel scales but shape\[0\] is 3")
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = quant_params(W_SCALES, [0, 0], 0)
    _expect_model_error(m, "3 scales but 2 zero points")
    m = conv_add_model()
    m.subgraphs[0].tensors[1].quantization = quant_params(W_SCALES, [0, 0, 0], 4)
    _expect_model_error(m, "quantized_dimension 4 out of range")


def test_bad_scales_and_zero_points():
    for scales, zps, pattern in (
        ([0.0], [0], "scale must be > 0"),
        ([float("nan")], [0], "not finite"),
        ([float("inf")], [0], "not finite"),
        ([0.1], [128], r"zero point outside \[-128, 127\]"),
    ):
        m = conv_add_model()
        m.subgraphs[0].tensors[3].quantization = quant_params(scales, zps)
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
    m.subgraphs[0].operators[0].builtinOptions = add_options()
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
