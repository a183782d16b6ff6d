"""Why the tflite-micro oracle cannot run a model, and which op it is.

When the pinned tflite-micro interpreter aborts or refuses a model, `validate`
explains it with:

* :func:`known_limits`: preconditions of TFLM's kernels checked on the graph
  (each cites the TFLM source it mirrors), so the op and the offending numbers
  are named without running anything;
* :func:`locate_failing_op`: for anything else, a bisection over truncated
  models (:func:`cut_before`) finds the first op TFLM fails on;
* :func:`cut_before`: the model up to an op's input, which is what
  ``tinyops validate --stop-before OP_INDEX`` validates instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..errors import ModelError
from ..frontend.ir import Graph

__all__ = ["OracleLimit", "known_limits", "cut_before", "locate_failing_op"]

# TFLM's int8 SOFTMAX works on input differences in Q5.26
# (kScaledDiffIntegerBits = 5 in tensorflow/lite/micro/kernels/softmax_common.cc).
_SOFTMAX_DIFF_INTEGER_BITS = 5
SOFTMAX_MIN_INPUT_SCALE_X_BETA = 2.0 ** -(31 - _SOFTMAX_DIFF_INTEGER_BITS)


@dataclass
class OracleLimit:
    op: int
    name: str
    reason: str
    aborts: bool  # True: TFLM aborts the process; False: it refuses the model (Prepare fails)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"op {self.op} ({self.name}): {self.reason}"


def _scale(t) -> float | None:
    if t.quant is None or not t.quant.scales.size:
        return None
    return float(t.quant.scales[0])


def _softmax_limits(graph: Graph, i: int) -> list[OracleLimit]:
    op = graph.operators[i]
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if x.dtype != np.int8:
        return []
    out: list[OracleLimit] = []
    # softmax_common.cc CalculateSoftmaxParams -> PreprocessSoftmaxScaling
    # (tensorflow/lite/kernels/internal/quantization_util.cc): the multiplier
    # beta * input_scale * 2^26 (doubles from the float32 fields), capped at
    # 2^31 - 1, goes to QuantizeMultiplierGreaterThanOne, whose
    # TFLITE_CHECK_GT(multiplier, 1.) aborts the process when it is <= 1.
    beta = float(np.float32(op.options.get("beta", 1.0)))
    scale = _scale(x)
    if scale is not None:
        product = beta * scale
        if min(product * 2.0 ** (31 - _SOFTMAX_DIFF_INTEGER_BITS), 2.0**31 - 1) <= 1.0:
            out.append(
                OracleLimit(
                    i,
                    op.name,
                    (
                        f"int8 input scale {scale:.4g} x beta {beta:g} = {product:.4g} is not above "
                        f"2^-26 = {SOFTMAX_MIN_INPUT_SCALE_X_BETA:.4g}: TFLM's PreprocessSoftmaxScaling "
                        "fails TFLITE_CHECK_GT(multiplier, 1) in QuantizeMultiplierGreaterThanOne and "
                        "aborts (typical of untrained classifiers whose logits have a tiny range; "
                        "the engine computes a defined result, see csrc/kernels/softmax.cc)"
                    ),
                    True,
                )
            )
    # Same function, int8 output: TF_LITE_ENSURE zero point -128 and scale
    # exactly 1/256 (Prepare fails, no abort).
    if y.dtype == np.int8:
        yscale = _scale(y)
        yzp = int(y.quant.zero_points[0]) if y.quant is not None and y.quant.zero_points.size else 0
        if yzp != -128 or yscale is None or np.float32(yscale) != np.float32(1.0 / 256):
            out.append(
                OracleLimit(
                    i,
                    op.name,
                    (
                        f"int8 output quantization is scale {yscale} zero point {yzp}; TFLM's "
                        "CalculateSoftmaxParams requires scale 1/256 and zero point -128 (Prepare fails)"
                    ),
                    False,
                )
            )
    return out


_CHECKS = {"SOFTMAX": _softmax_limits}


def known_limits(graph: Graph) -> list[OracleLimit]:
    """Ops of `graph` that break a known precondition of the pinned TFLM's kernels."""
    found: list[OracleLimit] = []
    for i, op in enumerate(graph.operators):
        check = _CHECKS.get(op.name)
        if check is not None:
            found.extend(check(graph, i))
    return found


def cut_before(data: bytes, graph: Graph, op_index: int) -> bytes:
    """The model with ops 0 .. op_index-1 only, whose outputs are the
    activation inputs of op `op_index` (constants are not outputs)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    n = len(graph.operators)
    if not 0 < op_index < n:
        raise ModelError(
            f"--stop-before {op_index}: choose an op index between 1 and {n - 1} "
            f"(the model has {n} ops; op 0 has nothing before it)"
        )
    op = graph.operators[op_index]
    wanted = [t for t in op.inputs if t >= 0 and not graph.tensors[t].is_constant]
    if not wanted:
        raise ModelError(f"op {op_index} ({op.name}) has no activation input to stop at")
    model = schema.ModelT.InitFromPackedBuf(bytes(data), 0)
    sg = model.subgraphs[0]
    sg.operators = sg.operators[:op_index]
    # Unique, in the op's input order (e.g. ADD of a tensor with itself).
    sg.outputs = list(dict.fromkeys(wanted))
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def locate_failing_op(data: bytes, graph: Graph, inputs: Sequence[np.ndarray], timeout: float = 600) -> tuple[int, str]:
    """The first op at which the tflite-micro oracle fails on `graph` with
    `inputs` (one input set) and the oracle's error there ("" when only the
    whole model reproduced it: then the last op is named). Bisection: about
    log2(ops) oracle runs, each in its own subprocess."""
    from .oracle import OracleError, run_tflm

    def fails(k: int) -> str | None:  # the model cut before op k
        try:
            run_tflm(cut_before(data, graph, k), [list(inputs)], timeout=timeout)
        except OracleError as err:
            return str(err)
        return None

    # f(k): the model cut before op k (ops 0..k-1) fails. f(0) is false (no
    # ops), f(n) true (the whole model failed); the first failing op is the
    # smallest k with f(k), minus one.
    lo, hi = 0, len(graph.operators)
    last_error = ""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        err = fails(mid)
        if err is None:
            lo = mid
        else:
            hi, last_error = mid, err
    return hi - 1, last_error
