"""The reader on models using what tinyops does not support (ops, fused
activations, tensor types, several subgraphs): UnsupportedOpError naming
each, listed together."""

from __future__ import annotations

import pytest
from support.reader_models import ACT, TT, conv_add_model, model_with_unsupported_ops, opcode_t, pack

from tinyops_tflm.errors import ModelError, UnsupportedOpError
from tinyops_tflm.frontend.ops import SUPPORTED_OPS
from tinyops_tflm.frontend.reader import read_model


def test_unsupported_ops_listed_together():
    with pytest.raises(UnsupportedOpError) as ei:
        read_model(pack(model_with_unsupported_ops()))
    msg = str(ei.value)
    assert "TANH (x2: ops 2, 4)" in msg
    assert "CUSTOM 'Foo' (x1: op 3)" in msg
    supported = msg.split("supported: ", 1)[1].split(", ")
    assert supported == sorted(SUPPORTED_OPS) and "ADD" in supported


def test_unknown_builtin_code_reported_by_number():
    m = conv_add_model()
    m.operatorCodes[1] = opcode_t(250)
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
