"""Whole-graph checks of a parsed model, after every table was read: the
dataflow (execution order, single producers), option values against tensor
ranks, and that a model the engine is to run is int8-quantized."""

from __future__ import annotations

import numpy as np

from ..errors import ModelError, UnsupportedOpError
from .ir import Graph, Operator, Tensor
from .ops import SUPPORTED_OPS
from .tflite_schema import _OP_SPECS


def check_dataflow(
    tensors: list[Tensor],
    operators: list[Operator],
    inputs: tuple[int, ...],
    outputs: tuple[int, ...],
) -> None:
    """No tensor produced twice, no constant or graph input overwritten, every
    operator input available before the operator runs."""
    graph_inputs = set(inputs)
    producer: dict[int, int] = {}
    for op in operators:
        for t in op.outputs:
            tensor = tensors[t]
            if tensor.is_variable:
                continue
            if t in producer:
                raise ModelError(f"tensor {t} '{tensor.name}' is produced by both op {producer[t]} and op {op.index}")
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


def check_op_semantics(op: Operator, tensors: list[Tensor]) -> None:
    """Checks of option values against tensor ranks (supported ops only)."""
    o = op.options
    what = f"op {op.index} ({op.name})"
    if op.name not in _OP_SPECS or SUPPORTED_OPS[op.name] != op.opcode:
        return
    if op.name == "CONCATENATION":
        rank = len(tensors[op.outputs[0]].shape)
        if not -rank <= o["axis"] < max(rank, 1):
            raise ModelError(f"{what}: axis {o['axis']} out of range for output rank {rank}")
    elif op.name == "PACK":
        if o["values_count"] != len(op.inputs):
            raise ModelError(f"{what}: values_count {o['values_count']} does not match its {len(op.inputs)} inputs")
        rank = len(tensors[op.outputs[0]].shape)
        if not -rank <= o["axis"] < rank:
            raise ModelError(f"{what}: axis {o['axis']} out of range for output rank {rank}")
    elif op.name == "SQUEEZE":
        rank = len(tensors[op.inputs[0]].shape)
        for d in o["squeeze_dims"]:
            if not -rank <= d < max(rank, 1):
                raise ModelError(f"{what}: squeeze dim {d} out of range for input rank {rank}")


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


def check_quantized(graph: Graph) -> None:
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
