"""``run`` of both interpreters (the engine's and the one inside
tflite-micro): one call from the inputs to every output, over the
set_input / invoke / get_output each class has."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np


class RunAll:
    if TYPE_CHECKING:
        num_inputs: int
        num_outputs: int

        def set_input(self, value: np.ndarray, index: int) -> None: ...
        def invoke(self) -> Any: ...
        def get_output(self, index: int) -> np.ndarray: ...

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """set_input for each input, invoke, and return every output."""
        if len(inputs) != self.num_inputs:
            raise ValueError(f"the model takes {self.num_inputs} inputs, got {len(inputs)}")
        for i, x in enumerate(inputs):
            self.set_input(x, i)
        self.invoke()
        return [self.get_output(i) for i in range(self.num_outputs)]
