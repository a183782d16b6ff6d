"""Bit-exact validation of the engine against the pinned tflite-micro interpreter."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .ir import Graph, Tensor
from .reader import read_model


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

    @property
    def ok(self) -> bool:
        return self.oracle_error is None and bool(self.cases) and all(c.equal for c in self.cases)

    def __str__(self) -> str:
        lines = [f"validation of {self.model} against tflite-micro {self.oracle_version} "
                 f"({len(self.cases)} seeded inputs, seed {self.seed})"]
        if self.oracle_error:
            lines.append(f"  oracle failed: {self.oracle_error}")
        for c in self.cases:
            for o in c.outputs:
                verdict = "equal" if o.equal else (
                    f"DIFFERENT: {o.num_different} of {int(np.prod(o.shape))} values, "
                    f"max |diff| {o.max_abs_difference}")
                lines.append(f"  input {c.case}: output {o.index} '{o.name}' "
                             f"{list(o.shape)} {o.dtype}: {verdict}")
        if self.oracle_error:
            verdict = "NOT VALIDATED (the oracle failed)"
        else:
            verdict = "BIT-EXACT" if self.ok else "MISMATCH"
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
        return OutputComparison(index, name, tuple(theirs.shape), str(theirs.dtype),
                                max(ours.size, theirs.size), -1)
    a = ours.view(np.uint8).reshape(-1) if ours.dtype.kind == "f" else ours.astype(np.int64).reshape(-1)
    b = theirs.view(np.uint8).reshape(-1) if theirs.dtype.kind == "f" else theirs.astype(np.int64).reshape(-1)
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return OutputComparison(index, name, tuple(ours.shape), str(ours.dtype),
                            int(np.count_nonzero(diff)), int(diff.max()) if diff.size else 0)


def validate(model: str | os.PathLike | bytes, num_inputs: int = 8, seed: int = 0,
             interpreter_factory=None) -> ValidationReport:
    """Run `model` through this engine and the pinned tflite-micro interpreter
    (in a subprocess, so an abort there is reported, not fatal) on
    `num_inputs` seeded random inputs and compare every output byte."""
    from .interpreter import Interpreter
    from .oracle import OracleError, oracle_version, run_tflm

    if isinstance(model, (bytes, bytearray, memoryview)):
        data, label = bytes(model), f"<{len(model)} bytes>"
    else:
        with open(model, "rb") as f:
            data = f.read()
        label = os.fspath(model)
    graph = read_model(data)
    make = interpreter_factory or Interpreter
    interp = make(graph)
    inputs = make_inputs(graph, num_inputs, seed)
    report = ValidationReport(label, seed, oracle_version())

    ours = []
    t0 = time.perf_counter()
    for case in inputs:
        ours.append(interp.run(*case))
    report.engine_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    try:
        theirs = run_tflm(data, inputs)
    except OracleError as err:
        report.oracle_error = str(err)
        return report
    report.oracle_seconds = time.perf_counter() - t0

    for k, (o_list, t_list) in enumerate(zip(ours, theirs)):
        report.cases.append(CaseResult(k, [
            compare(i, graph.tensors[graph.outputs[i]].name, o, t)
            for i, (o, t) in enumerate(zip(o_list, t_list))]))
    return report
