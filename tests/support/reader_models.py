"""The reader tests' models (tests/test_reader*.py): a conv + add + reshape +
softmax model built with the schema object API (seeded constants), the
schema-object helpers to vary it, and the invariants every Graph the reader
returns must satisfy."""

from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

from tinyops_tflm.frontend import reader
from tinyops_tflm.frontend.ir import Graph

BO = schema_fb.BuiltinOperator
TT = schema_fb.TensorType
OPT = schema_fb.BuiltinOptions
ACT = schema_fb.ActivationFunctionType

RNG_SEED = 20240611


def quant_params(scales, zps, qdim=0):
    q = schema_fb.QuantizationParametersT()
    q.scale = [float(s) for s in scales]
    q.zeroPoint = [int(z) for z in zps]
    q.quantizedDimension = qdim
    return q


def tensor_t(name, shape, ttype, buffer, quant=None, signature=None):
    t = schema_fb.TensorT()
    t.name = name
    t.shape = list(shape)
    t.type = ttype
    t.buffer = buffer
    t.quantization = quant
    if signature is not None:
        t.shapeSignature = list(signature)
    return t


def buffer_t(data: bytes | None):
    b = schema_fb.BufferT()
    if data is not None:
        b.data = np.frombuffer(data, dtype=np.uint8).copy()
    return b


def opcode_t(code, custom=None):
    oc = schema_fb.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    if custom is not None:
        oc.customCode = custom
    return oc


def operator_t(opcode_index, inputs, outputs, options_type=0, options=None):
    op = schema_fb.OperatorT()
    op.opcodeIndex = opcode_index
    op.inputs = list(inputs)
    op.outputs = list(outputs)
    op.builtinOptionsType = options_type
    op.builtinOptions = options
    return op


def conv_options(padding=schema_fb.Padding.VALID, stride=(1, 1), act=ACT.RELU6, dilation=(1, 1)):
    o = schema_fb.Conv2DOptionsT()
    o.padding = padding
    o.strideW, o.strideH = stride
    o.fusedActivationFunction = act
    o.dilationWFactor, o.dilationHFactor = dilation
    return o


def add_options(act=ACT.NONE):
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
        buffer_t(None),  # 0: sentinel
        buffer_t(None),  # 1: input
        buffer_t(W.tobytes()),  # 2: weights
        buffer_t(BIAS.tobytes()),  # 3: bias
        buffer_t(None),  # 4: conv out
        buffer_t(OTHER.tobytes()),  # 5: add constant
        buffer_t(None),  # 6: output
        buffer_t(SHAPE_1x27.tobytes()),  # 7: reshape shape
        buffer_t(None),  # 8: reshaped
        buffer_t(None),  # 9: probs
    ]
    sg = schema_fb.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        tensor_t("input", (1, 4, 4, 2), TT.INT8, 1, quant_params([0.5], [-1]), signature=(-1, 4, 4, 2)),
        tensor_t("conv/weights", (3, 2, 2, 2), TT.INT8, 2, quant_params(W_SCALES, [0, 0, 0], 0)),
        tensor_t("conv/bias", (3,), TT.INT32, 3, quant_params([0.5 * s for s in W_SCALES], [0, 0, 0], 0)),
        tensor_t("conv/out", (1, 3, 3, 3), TT.INT8, 4, quant_params([0.25], [3])),
        tensor_t("add/const", (1, 3, 3, 3), TT.INT8, 5, quant_params([0.125], [0])),
        tensor_t("output", (1, 3, 3, 3), TT.INT8, 6, quant_params([0.3], [-2])),
        tensor_t("reshape/shape", (2,), TT.INT32, 7),
        tensor_t("reshaped", (1, 27), TT.INT8, 8, quant_params([0.3], [-2])),
        tensor_t("probs", (1, 27), TT.INT8, 9, quant_params([1 / 256], [-128])),
    ]
    sg.inputs = [0]
    sg.outputs = [8]
    reshape_options = schema_fb.ReshapeOptionsT()
    reshape_options.newShape = [1, 27]
    softmax_options = schema_fb.SoftmaxOptionsT()
    softmax_options.beta = 1.0
    sg.operators = [
        operator_t(0, [0, 1, 2], [3], OPT.Conv2DOptions, conv_options()),
        operator_t(1, [3, 4], [5], OPT.AddOptions, add_options()),
        operator_t(2, [5, 6], [7], OPT.ReshapeOptions, reshape_options),
        operator_t(3, [7], [8], OPT.SoftmaxOptions, softmax_options),
    ]
    m.subgraphs = [sg]
    m.operatorCodes = [opcode_t(BO.CONV_2D), opcode_t(BO.ADD), opcode_t(BO.RESHAPE), opcode_t(BO.SOFTMAX)]
    return m


def pack(model: schema_fb.ModelT, ident: bytes = b"TFL3") -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=ident)
    return bytes(b.Output())


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


def model_with_unsupported_ops() -> schema_fb.ModelT:
    m = conv_add_model()
    sg = m.subgraphs[0]
    tanh, foo = len(m.operatorCodes), len(m.operatorCodes) + 1
    m.operatorCodes += [opcode_t(BO.TANH), opcode_t(BO.CUSTOM, "Foo")]
    t = len(sg.tensors)
    for name in ("t1", "c1", "t2"):
        sg.tensors.append(tensor_t(name, (1, 3, 3, 3), TT.INT8, 0, quant_params([0.1], [0])))
    custom = operator_t(foo, [t], [t + 1])
    custom.customOptions = [1, 2]
    sg.operators[2:] = [operator_t(tanh, [5], [t]), custom, operator_t(tanh, [t + 1], [t + 2])]
    sg.outputs = [t + 2]
    return m
