"""Base of the register-level peripheral models: one MMIO window, 32-bit
registers, sub-word accesses merged into the word (as the AHB/APB bridges
do on these parts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import BusFaultError

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine


class Peripheral:
    name = "peripheral"
    base = 0
    size = 0x400

    def __init__(self, machine: "Machine") -> None:
        self.m = machine

    # Word-level accessors the models implement.
    def read32(self, off: int) -> int:
        raise BusFaultError(
            f"{self.name}: read of unmodelled register at offset {off:#x} (address {self.base + off:#010x})"
        )

    def write32(self, off: int, value: int) -> None:
        raise BusFaultError(
            f"{self.name}: write {value:#x} to unmodelled register at offset {off:#x} (address {self.base + off:#010x})"
        )

    # Sub-word accesses: a model overrides these when a register has byte
    # semantics (QUADSPI_DR, NVIC_IPR).
    def read(self, off: int, size: int) -> int:
        word = self.read32(off & ~3)
        return (word >> (8 * (off & 3))) & ((1 << (8 * size)) - 1)

    def write(self, off: int, size: int, value: int) -> None:
        if size == 4:
            self.write32(off, value)
            return
        shift = 8 * (off & 3)
        mask = ((1 << (8 * size)) - 1) << shift
        old = self.read32(off & ~3)
        self.write32(off & ~3, (old & ~mask) | ((value << shift) & mask))


class RegisterFile(Peripheral):
    """Plain read/write registers with reset values (GPIO, SYSCFG, ...);
    offsets outside `regs` are unmodelled."""

    regs: dict[int, int] = {}

    def __init__(self, machine: "Machine") -> None:
        super().__init__(machine)
        self.r = dict(self.regs)

    def read32(self, off: int) -> int:
        if off in self.r:
            return self.r[off]
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        if off not in self.r:
            super().write32(off, value)
        self.r[off] = value & 0xFFFFFFFF
