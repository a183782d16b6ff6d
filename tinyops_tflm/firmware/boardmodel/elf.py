"""Just enough ELF32 (little-endian ARM) reading for the board model: the
loadable segments at their load (physical) addresses, as a flasher programs
them, and the symbol table."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ...errors import BoardModelError


@dataclass
class Segment:
    paddr: int
    vaddr: int
    data: bytes
    memsz: int


@dataclass
class Elf:
    entry: int
    segments: list[Segment]
    symbols: dict[str, int]
    sections: dict[str, tuple[int, int]]  # name -> (address, size) of allocated sections

    def symbol(self, name: str) -> int:
        try:
            return self.symbols[name]
        except KeyError:
            raise BoardModelError(f"the firmware has no symbol {name}") from None


def read_elf(path: str | Path) -> Elf:
    raw = Path(path).read_bytes()
    if raw[:4] != b"\x7fELF" or raw[4] != 1 or raw[5] != 1:
        raise BoardModelError(f"{path}: not a 32-bit little-endian ELF")
    (e_type, e_machine, _, entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, shstrndx) = (
        struct.unpack_from("<HHIIIIIHHHHHH", raw, 16)
    )
    if e_machine != 40:
        raise BoardModelError(f"{path}: not an ARM ELF (machine {e_machine})")
    segments = []
    for i in range(phnum):
        p_type, off, vaddr, paddr, filesz, memsz, _, _ = struct.unpack_from("<8I", raw, phoff + i * phentsize)
        if p_type == 1 and filesz:  # PT_LOAD with contents
            segments.append(Segment(paddr, vaddr, raw[off : off + filesz], memsz))
    symbols: dict[str, int] = {}
    sections = [struct.unpack_from("<10I", raw, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        stroff = strtab[4]
        for k in range(sh[5] // 16):
            name_off, value, _, info, _, _ = struct.unpack_from("<IIIBBH", raw, sh[4] + 16 * k)
            if info & 0xF not in (1, 2):  # objects and functions
                continue
            end = raw.index(b"\0", stroff + name_off)
            symbols[raw[stroff + name_off : end].decode()] = value & ~1 if info & 0xF == 2 else value
    names = sections[shstrndx][4] if shnum else 0
    named = {}
    for sh in sections:
        if sh[2] & 2:  # SHF_ALLOC
            end = raw.index(b"\0", names + sh[0])
            named[raw[names + sh[0] : end].decode()] = (sh[3], sh[5])
    return Elf(entry, segments, symbols, named)
