"""Bit-exact validation of the engine against the pinned tflite-micro interpreter."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..frontend.ir import Graph, Tensor
from ..frontend.reader import read_model


@dataclass
class OutputComparison:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    num_different: int
    max_abs_difference: int

    @property
    def equal(self) -> bool:
        return self.num_different == 0


@dataclass
class CaseResult:
    case: int
    outputs: list[OutputComparison]

    @property
    def equal(self) -> bool:
        return all(o.equal for o in self.outputs)


@dataclass
class ValidationReport:
    model: str
    seed: int
    oracle_version: str
    cases: list[CaseResult] = field(default_factory=list)
    oracle_error: str | None = None
    engine_seconds: float = 0.0
    oracle_seconds: float = 0.0
    num_inputs: int = 0
    stop_before: int | None = None  # validated the graph up to this op's input
    # Why the oracle failed: the op(s) TFLM cannot run (tinyops_tflm.validation.oracle_limits).
    oracle_limits: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.oracle_error is None and bool(self.cases) and all(c.equal for c in self.cases)

    @property
    def verdict(self) -> str:
        if self.oracle_error:
            return "NOT VALIDATED"
        return "BIT-EXACT" if self.ok else "MISMATCH"

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "oracle": f"tflite-micro {self.oracle_version}",
            "seed": self.seed,
            "num_inputs": self.num_inputs,
            "stop_before": self.stop_before,
            "ok": self.ok,
            "verdict": self.verdict,
            "oracle_error": self.oracle_error,
            "oracle_limits": [lim.to_dict() for lim in self.oracle_limits],
            "engine_seconds": self.engine_seconds,
            "oracle_seconds": self.oracle_seconds,
            "cases": [
                {
                    "case": c.case,
                    "equal": c.equal,
                    "outputs": [{**vars(o), "shape": list(o.shape), "equal": o.equal} for o in c.outputs],
                }
                for c in self.cases
            ],
        }

    def __str__(self) -> str:
        upto = "" if self.stop_before is None else f", graph up to op {self.stop_before}'s input"
        lines = [
            f"validation of {self.model} against tflite-micro {self.oracle_version} "
            f"({self.num_inputs or len(self.cases)} seeded inputs, seed {self.seed}{upto})"
        ]
        if self.oracle_error:
            lines.append(f"  oracle failed: {self.oracle_error}")
            for lim in self.oracle_limits:
                lines.append(f"  tflite-micro cannot run {lim}")
            first = min((lim.op for lim in self.oracle_limits), default=None)
            if first:
                lines.append(
                    f"  `--stop-before {first}` (validate(..., stop_before={first})) "
                    f"validates the model up to that op's input"
                )
        for c in self.cases:
            for o in c.outputs:
                verdict = (
                    "equal"
                    if o.equal
                    else (
                        f"DIFFERENT: {o.num_different} of {int(np.prod(o.shape))} values, "
                        f"max |diff| {o.max_abs_difference}"
                    )
                )
                lines.append(f"  input {c.case}: output {o.index} '{o.name}' {list(o.shape)} {o.dtype}: {verdict}")
        verdict = self.verdict + (" (the oracle failed)" if self.oracle_error else "")
        lines.append(f"  result: {verdict}")
        return "\n".join(lines)


def random_input(t: Tensor, rng: np.random.Generator) -> np.ndarray:
    """A seeded random value for input tensor `t` covering its whole range."""
    if t.dtype == np.int8:
        return rng.integers(-128, 128, size=t.shape, dtype=np.int8)
    if t.dtype == np.uint8:
        return rng.integers(0, 256, size=t.shape, dtype=np.uint8)
    if t.dtype == np.int16:
        return rng.integers(-32768, 32768, size=t.shape, dtype=np.int16)
    if t.dtype == np.float32:
        if t.quant is not None and t.quant.scales.size:
            span = 127.0 * float(t.quant.scales[0])
            return rng.uniform(-span, span, size=t.shape).astype(np.float32)
        return rng.uniform(-1.0, 1.0, size=t.shape).astype(np.float32)
    if t.dtype == np.int32:
        return rng.integers(-1000, 1000, size=t.shape, dtype=np.int32)
    raise ValueError(f"input '{t.name}': no random generator for dtype {t.dtype.name}")


def make_inputs(graph: Graph, num_inputs: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[random_input(graph.tensors[t], rng) for t in graph.inputs] for _ in range(num_inputs)]


def compare(index: int, name: str, ours: np.ndarray, theirs: np.ndarray) -> OutputComparison:
    theirs = np.asarray(theirs)
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        return OutputComparison(index, name, tuple(theirs.shape), str(theirs.dtype), max(ours.size, theirs.size), -1)
    a = ours.view(np.uint8).reshape(-1) if ours.dtype.kind == "f" else ours.astype(np.int64).reshape(-1)
    b = theirs.view(np.uint8).reshape(-1) if theirs.dtype.kind == "f" else theirs.astype(np.int64).reshape(-1)
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return OutputComparison(
        index,
        name,
        tuple(ours.shape),
        str(ours.dtype),
        int(np.count_nonzero(diff)),
        int(diff.max()) if diff.size else 0,
    )


def first_difference(ours: np.ndarray, theirs: np.ndarray) -> dict | None:
    """Where two arrays first differ (C order): flat index, multi-index and
    both values, plus how many values differ; None when their bytes are equal."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.dtype == theirs.dtype and ours.shape == theirs.shape:
        if ours.tobytes() == theirs.tobytes():
            return None
        # Bytes per element, so float outputs compare like integers (bit-exact).
        a = np.ascontiguousarray(ours).reshape(-1).view(np.uint8).reshape(ours.size, -1)
        b = np.ascontiguousarray(theirs).reshape(-1).view(np.uint8).reshape(theirs.size, -1)
        diff = np.flatnonzero((a != b).any(axis=1))
        k = int(diff[0])
        return {
            "index": k,
            "position": [int(i) for i in np.unravel_index(k, ours.shape)],
            "ours": ours.reshape(-1)[k].item(),
            "theirs": theirs.reshape(-1)[k].item(),
            "num_different": int(diff.size),
            "size": int(ours.size),
        }
    return {
        "index": None,
        "position": None,
        "ours": f"{list(ours.shape)} {ours.dtype}",
        "theirs": f"{list(theirs.shape)} {theirs.dtype}",
        "num_different": None,
        "size": int(theirs.size),
    }


def describe_difference(d: dict, ours: str = "ours", theirs: str = "theirs") -> str:
    if d["index"] is None:
        return f"shape/dtype differ: {ours} {d['ours']}, {theirs} {d['theirs']}"
    return (
        f"first differing index {d['index']} (position {d['position']}): {ours} {d['ours']}, "
        f"{theirs} {d['theirs']}; {d['num_different']} of {d['size']} values differ"
    )


def validate(
    model: str | os.PathLike | bytes,
    num_inputs: int = 8,
    seed: int = 0,
    interpreter_factory=None,
    *,
    stop_before: int | None = None,
    explain: bool = True,
) -> ValidationReport:
    """Run `model` through this engine and the pinned tflite-micro interpreter
    (in a subprocess, so an abort there is reported, not fatal) on
    `num_inputs` seeded random inputs and compare every output byte.

    `stop_before=k` validates the graph up to op k's input instead (ops
    0..k-1, whose outputs become op k's activation inputs). When the oracle
    fails, `explain` names the op(s) it cannot run and why
    (report.oracle_limits, see tinyops_tflm.validation.oracle_limits)."""
    from ..cli import progress
    from ..runtime.interpreter import Interpreter
    from .oracle import OracleError, oracle_version, run_tflm
    from .oracle_limits import OracleLimit, cut_before, known_limits, locate_failing_op

    if isinstance(model, (bytes, bytearray, memoryview)):
        data, label = bytes(model), f"<{len(model)} bytes>"
    else:
        with open(model, "rb") as f:
            data = f.read()
        label = os.fspath(model)
    graph = read_model(data)
    if stop_before is not None:
        data = cut_before(data, graph, int(stop_before))
        graph = read_model(data)
    make = interpreter_factory or Interpreter
    interp = make(graph)
    inputs = make_inputs(graph, num_inputs, seed)
    report = ValidationReport(label, seed, oracle_version(), num_inputs=num_inputs, stop_before=stop_before)

    ours = []
    with progress.bar(len(inputs), "engine", unit="input") as bar:
        for case in inputs:
            t0 = time.perf_counter()  # the engine only, not the bar
            ours.append(interp.run(*case))
            report.engine_seconds += time.perf_counter() - t0
            bar.update()

    t0 = time.perf_counter()
    try:
        with progress.ticking(f"tflite-micro on {len(inputs)} inputs"):
            theirs = run_tflm(data, inputs)
    except OracleError as err:
        report.oracle_error = str(err)
        if explain:
            report.oracle_limits = known_limits(graph)
            if not report.oracle_limits and inputs and "timed out" not in str(err):
                with progress.ticking("locating the op tflite-micro fails on"):
                    op, why = locate_failing_op(data, graph, inputs[0])
                report.oracle_limits = [
                    OracleLimit(
                        op,
                        graph.operators[op].name,
                        "tflite-micro fails here (the first op of truncated models it cannot run)"
                        + (f": {why.splitlines()[0]}" if why else ""),
                        "aborted" in why,
                    )
                ]
        return report
    report.oracle_seconds = time.perf_counter() - t0

    for k, (o_list, t_list) in enumerate(zip(ours, theirs)):
        report.cases.append(
            CaseResult(
                k,
                [
                    compare(i, graph.tensors[graph.outputs[i]].name, o, t)
                    for i, (o, t) in enumerate(zip(o_list, t_list))
                ],
            )
        )
    return report
