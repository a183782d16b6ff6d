"""Graph IR: what the reader extracts from a .tflite flatbuffer.

The IR is plain data. Everything in it has been validated by
:func:`tinyops_tflm.frontend.reader.read_model`, so later stages (plan writer, planner)
may trust indices, shapes and buffer sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of a tensor: real = scale * (q - zero_point)."""

    scales: np.ndarray  # float32, shape (1,) per-tensor or (C,) per-channel
    zero_points: np.ndarray  # int64, same length as scales
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scales.size > 1


@dataclass
class Tensor:
    index: int
    name: str
    tflite_type: int  # schema TensorType value
    dtype: np.dtype
    shape: tuple[int, ...]
    quant: QuantParams | None
    data: bytes | None = None  # constant contents, exactly nbytes long
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def array(self) -> np.ndarray:
        """The constant contents as an array of the tensor's shape."""
        if self.data is None:
            raise ValueError(f"tensor {self.index} '{self.name}' is not constant")
        return np.frombuffer(self.data, dtype=self.dtype).reshape(self.shape)


@dataclass
class Operator:
    index: int
    opcode: int  # schema BuiltinOperator value
    name: str  # e.g. "CONV_2D"
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)  # builtin options, snake_case keys


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    version: int = 3
    description: str = ""

    def op_names(self) -> list[str]:
        return [op.name for op in self.operators]
