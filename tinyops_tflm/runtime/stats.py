"""What one ``Interpreter.invoke()`` did: per-op tiles, DMA transfers and
bytes, and the SRAM high water. Typed records that still read like the dicts
they used to be (``stats["ops"][0]["tiles"]``, ``dict(stats)``, ``"ops" in stats``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class _Record(Mapping):
    """Dict-style reading of a dataclass's fields, for code written against
    the dict these records replace."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    @classmethod
    def _keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# eq=False: Mapping's equality (same items, also against a plain dict) applies.
@dataclass(eq=False)
class OpStats(_Record):
    """One operator of the plan in one invoke()."""

    op: str  # builtin name, e.g. "CONV_2D"
    index: int  # position in the graph
    macs: int  # multiply-accumulates of one inference
    tiles: int  # kernel calls (1 when unpartitioned)
    dma_transfers: int
    dma_read_bytes: dict[str, int] = field(default_factory=dict)  # memory -> bytes (non-zero only)
    dma_write_bytes: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class InvocationStats(_Record):
    """``Interpreter.stats`` after a successful invoke()."""

    ops: list[OpStats]
    sram_high_water: int | None  # bytes of internal SRAM in use at most; None without a board plan
