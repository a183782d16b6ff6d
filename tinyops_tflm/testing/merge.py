"""Model surgery for kernel tests and benchmarks: operators of several
``.tflite`` models side by side in one model, or chosen operators of a model
each as its own little model.

One model of many independent operators needs one firmware build and one
emulated run, and each operator's per-op instruction count stays its own
(the emulator counts per op). Only subgraph 0 is used; every operator keeps
its own input and output tensors (graph inputs / outputs of the result, in
order).
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["merge_models", "extract_ops"]


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _pack(model) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def merge_models(models: Sequence[bytes]) -> bytes:
    """One model holding the operators of ``models`` side by side."""
    schema = _schema()
    out = schema.ModelT()
    out.version = 3
    out.description = b"tinyops_tflm.testing.merge"
    out.buffers = [schema.BufferT()]
    out.operatorCodes = []
    sg = schema.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = [], [], [], [], b"main"
    keys: list[tuple[int, int]] = []
    for k, data in enumerate(models):
        m = schema.ModelT.InitFromPackedBuf(bytes(data), 0)
        s = m.subgraphs[0]
        base = len(sg.tensors)
        for t in s.tensors:
            if t.buffer:
                out.buffers.append(m.buffers[t.buffer])
                t.buffer = len(out.buffers) - 1
            t.name = (t.name or b"t") + f"_{k}".encode()
            sg.tensors.append(t)
        for op in s.operators:
            code = m.operatorCodes[op.opcodeIndex]
            key = (max(code.builtinCode, code.deprecatedBuiltinCode), code.version)
            if key not in keys:
                keys.append(key)
                out.operatorCodes.append(code)
            op.opcodeIndex = keys.index(key)
            op.inputs = [i + base if i >= 0 else i for i in op.inputs]
            op.outputs = [i + base for i in op.outputs]
            sg.operators.append(op)
        sg.inputs += [i + base for i in s.inputs]
        sg.outputs += [i + base for i in s.outputs]
    out.subgraphs = [sg]
    return _pack(out)


def extract_ops(model: bytes, op_indices: Sequence[int]) -> list[bytes]:
    """Operators ``op_indices`` of ``model`` (subgraph 0), each as a model of
    its own: its constant inputs keep their data, the others become graph
    inputs; its outputs are the graph outputs."""
    schema = _schema()
    result = []
    for index in op_indices:
        m = schema.ModelT.InitFromPackedBuf(bytes(model), 0)
        s = m.subgraphs[0]
        op = s.operators[index]
        out = schema.ModelT()
        out.version = m.version
        out.description = f"op {index} of a model".encode()
        out.buffers = [schema.BufferT()]
        code = m.operatorCodes[op.opcodeIndex]
        out.operatorCodes = [code]
        sg = schema.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.name = [], [], [], b"main"
        remap: dict[int, int] = {}

        def take(i: int) -> int:
            if i < 0:
                return i
            if i not in remap:
                t = s.tensors[i]
                data = m.buffers[t.buffer].data if t.buffer else None
                if data is not None and len(data):
                    out.buffers.append(m.buffers[t.buffer])
                    t.buffer = len(out.buffers) - 1
                else:
                    t.buffer = 0
                remap[i] = len(sg.tensors)
                sg.tensors.append(t)
            return remap[i]

        new = schema.OperatorT()
        new.opcodeIndex = 0
        new.builtinOptionsType = op.builtinOptionsType
        new.builtinOptions = op.builtinOptions
        new.inputs = [take(i) for i in op.inputs]
        new.outputs = [take(i) for i in op.outputs]
        sg.inputs = [remap[i] for i in op.inputs if i >= 0 and sg.tensors[remap[i]].buffer == 0]
        sg.outputs = list(new.outputs)
        sg.operators = [new]
        out.subgraphs = [sg]
        result.append(_pack(out))
    return result
