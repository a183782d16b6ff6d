"""Bounds checks for flatbuffer objects. Python flatbuffers accessors do no
bounds checking, so the reader verifies every table, vtable, vector and string
here before an accessor touches it; the field lists name what the reader
reads of each TFLite table."""

from __future__ import annotations

import struct
from typing import Any

from ..errors import ModelError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_VTHDR = struct.Struct("<HH")

# field kinds for _Verifier.table(): scalar byte sizes 1/2/4/8, or:
_STR = "string"
_TAB = "table"  # offset to a sub-table or union member (verified when visited)
_VTAB = "vector of tables"  # elements verified when visited
_V1, _V4, _V8 = "vector<1>", "vector<4>", "vector<8>"
_VEC_ELEM = {_V1: 1, _V4: 4, _V8: 8, _VTAB: 4, _STR: 1}

# Fields of each table that the reader touches, by vtable slot.
_MODEL_FIELDS = {4: 4, 6: _VTAB, 8: _VTAB, 10: _STR, 12: _VTAB}
_OPCODE_FIELDS = {4: 1, 6: _STR, 8: 4, 10: 4}
_BUFFER_FIELDS = {4: _V1, 6: 8, 8: 8}
_SUBGRAPH_FIELDS = {4: _VTAB, 6: _V4, 8: _V4, 10: _VTAB}
_TENSOR_FIELDS = {4: _V4, 6: 1, 8: 4, 10: _STR, 12: _TAB, 14: 1, 16: _TAB, 18: _V4, 24: 4}
_QUANT_FIELDS = {8: _V4, 10: _V8, 12: 1, 14: _TAB, 16: 4}
_OPERATOR_FIELDS = {4: 4, 6: _V4, 8: _V4, 10: 1, 12: _TAB, 14: _V1, 22: 8, 24: 8, 26: 1}


class _Verifier:
    """Bounds checks for flatbuffer objects (a subset of the C++ Verifier)."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)

    def _fail(self, what: str, msg: str) -> ModelError:
        return ModelError(f"{what}: {msg} (file is {self.n} bytes; truncated or corrupt flatbuffer)")

    def uoffset(self, pos: int, what: str) -> int:
        """Follow the uoffset stored at ``pos``; returns the absolute target."""
        if pos < 0 or pos + 4 > self.n:
            raise self._fail(what, f"offset field at {pos} is outside the buffer")
        target = pos + _U32.unpack_from(self.buf, pos)[0]
        if target + 4 > self.n:
            raise self._fail(what, f"offset at {pos} points outside the buffer (to {target})")
        return target

    def table(self, pos: int, fields: dict[int, Any], what: str) -> None:
        """Verify the table at ``pos``: its vtable and the listed fields."""
        buf, n = self.buf, self.n
        if pos < 0 or pos + 4 > n:
            raise self._fail(what, f"table at {pos} is outside the buffer")
        vt = pos - _I32.unpack_from(buf, pos)[0]
        if vt < 0 or vt + 4 > n:
            raise self._fail(what, f"vtable of table at {pos} is outside the buffer (at {vt})")
        vsize, tsize = _VTHDR.unpack_from(buf, vt)
        if vsize < 4 or vsize & 1 or vt + vsize > n:
            raise self._fail(what, f"invalid vtable size {vsize} at {vt}")
        if tsize < 4 or pos + tsize > n:
            raise self._fail(what, f"table at {pos} of size {tsize} extends past the end")
        for slot, kind in fields.items():
            if slot + 2 > vsize:
                continue
            off = _U16.unpack_from(buf, vt + slot)[0]
            if off == 0:
                continue
            p = pos + off
            if isinstance(kind, int):
                if off + kind > tsize:
                    raise self._fail(what, f"field at vtable slot {slot} lies outside its table")
                continue
            if off + 4 > tsize:
                raise self._fail(what, f"field at vtable slot {slot} lies outside its table")
            target = self.uoffset(p, what)
            if kind == _TAB:
                continue  # sub-tables are verified with their own field list when visited
            length = _U32.unpack_from(buf, target)[0]
            end = target + 4 + length * _VEC_ELEM[kind] + (1 if kind == _STR else 0)
            if end > n:
                raise self._fail(what, f"{kind} at {target} with {length} elements (slot {slot}) extends past the end")

    def vector_span(self, pos: int, slot: int, elem: int, what: str) -> tuple[int, int] | None:
        """(start, length) of the (already verified) vector in ``slot`` of table ``pos``."""
        buf = self.buf
        vt = pos - _I32.unpack_from(buf, pos)[0]
        vsize = _U16.unpack_from(buf, vt)[0]
        if slot + 2 > vsize:
            return None
        off = _U16.unpack_from(buf, vt + slot)[0]
        if off == 0:
            return None
        target = self.uoffset(pos + off, what)
        length = _U32.unpack_from(buf, target)[0]
        if target + 4 + length * elem > self.n:
            raise self._fail(what, f"vector at {target} extends past the end")
        return target + 4, length

    def element(self, vec_start: int, index: int, what: str) -> int:
        """Absolute position of table ``index`` of a (verified) vector of tables."""
        return self.uoffset(vec_start + 4 * index, what)


def _ints(arr: Any) -> list[int]:
    """Accessor ``XAsNumpy()`` result (0 when absent) -> list of Python ints."""
    if isinstance(arr, int):
        return []
    return arr.tolist()


def _decode(b: bytes | None) -> str:
    return b.decode("utf-8", errors="replace") if b else ""
