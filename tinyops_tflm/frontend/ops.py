"""The TFLite builtin operators the engine implements.

Names and codes follow the TFLite schema's ``BuiltinOperator`` enum; the C++
op registry (csrc/runtime/op_registry.cc) serves exactly these codes, which
a test checks.
"""
from __future__ import annotations

SUPPORTED_OPS: dict[str, int] = {
    "ADD": 0,
    "AVERAGE_POOL_2D": 1,
    "CONCATENATION": 2,
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 4,
    "DEQUANTIZE": 6,
    "FULLY_CONNECTED": 9,
    "LOGISTIC": 14,
    "MAX_POOL_2D": 17,
    "MUL": 18,
    "RELU": 19,
    "RELU6": 21,
    "RESHAPE": 22,
    "SOFTMAX": 25,
    "PAD": 34,
    "MEAN": 40,
    "SQUEEZE": 43,
    "STRIDED_SLICE": 45,
    "PADV2": 60,
    "PACK": 83,
    "LEAKY_RELU": 98,
    "QUANTIZE": 114,
    "HARD_SWISH": 117,
    "SHAPE": 77,
}

OP_NAMES: dict[int, str] = {code: name for name, code in SUPPORTED_OPS.items()}
