"""``from_file`` of both interpreters (the engine's and the one inside
tflite-micro): the file's bytes through the class's own ``from_bytes``, so
reading a file is written once and each class keeps how it takes bytes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..planning.boards import Board

_T = TypeVar("_T", bound="FromFile")


class FromFile:
    if TYPE_CHECKING:

        @classmethod
        def from_bytes(
            cls: type[_T],
            data: bytes | bytearray | memoryview,
            board: str | Board | None = None,
            sram_budget: int | str | None = None,
            **kwargs: Any,
        ) -> _T: ...

    @classmethod
    def from_file(
        cls: type[_T],
        path: str | os.PathLike,
        board: str | Board | None = None,
        sram_budget: int | str | None = None,
        **kwargs: Any,
    ) -> _T:
        from ..frontend.model_bytes import read_model_bytes

        data = read_model_bytes(path)
        return cls.from_bytes(data, board=board, sram_budget=sram_budget, **kwargs)
