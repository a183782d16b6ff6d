"""SysTick (ARMv7-M B3.3) and the DWT cycle counter (ARMv7-M C1.8, DEMCR
TRCENA in C1.6.5), as the ports use them.

Unicorn does not count cycles, so CYCCNT is a model clock: it advances by a
fixed step on every read while enabled (TRCENA and CYCCNTENA set). Busy-wait
delays written against CYCCNT therefore end, and the per-op "cycles" the
runner prints under the board model are counts of that clock, not cycles:
the board model makes no timing claims. SysTick is kept as registers; its
interrupt is not modelled (none of the ports enables it)."""

from __future__ import annotations

from ...errors import BoardModelError
from .peripheral import Peripheral

CYCLES_PER_READ = 1000


class Dwt(Peripheral):
    name = "DWT"
    base = 0xE0001000
    size = 0x1000

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.ctrl = 0x4000_0000  # NUMCOMP etc. as read-only id bits
        self.cycles = 0
        self.demcr = 0
        self.lar_unlocked = False

    def running(self) -> bool:
        return bool(self.demcr & (1 << 24)) and bool(self.ctrl & 1)

    def read32(self, off: int) -> int:
        if off == 0x000:
            return self.ctrl
        if off == 0x004:
            if self.running():
                self.cycles = (self.cycles + CYCLES_PER_READ) & 0xFFFFFFFF
            return self.cycles
        if off == 0xFB4:  # LSR: lock implemented on the M7, state
            return 0x3 if self.m.spec.core == "cortex-m7" and not self.lar_unlocked else 0x0
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        if not self.demcr & (1 << 24):
            raise BoardModelError(
                f"DWT register {self.base + off:#010x} written with DEMCR.TRCENA = 0 (the DWT is not powered)"
            )
        if off == 0xFB0:
            self.lar_unlocked = value == 0xC5ACCE55
            return
        if self.m.spec.core == "cortex-m7" and not self.lar_unlocked:
            raise BoardModelError(
                "DWT written while its software lock is set (write 0xC5ACCE55 to DWT_LAR first on the Cortex-M7)"
            )
        if off == 0x000:
            self.ctrl = (self.ctrl & 0xF000_0000) | (value & 0x0FFF_FFFF)
        elif off == 0x004:
            self.cycles = value & 0xFFFFFFFF
        else:
            super().write32(off, value)


class SysTick:
    """Registers at 0xE000E010..0xE000E01F."""

    def __init__(self) -> None:
        self.csr = 0
        self.rvr = 0
        self.cvr = 0

    def read(self, off: int) -> int:
        return {0x10: self.csr, 0x14: self.rvr, 0x18: self.cvr, 0x1C: 0x4000_0000}[off]

    def write(self, off: int, value: int) -> None:
        if off == 0x10:
            if value & 2:
                raise BoardModelError("SysTick interrupt enabled: not modelled")
            self.csr = value & 7
        elif off == 0x14:
            self.rvr = value & 0xFFFFFF
        elif off == 0x18:
            self.cvr = 0
        else:
            raise KeyError(off)
