"""GPIO ports A..K and SYSCFG.

GPIO (RM0386 / RM0385 chapter "General-purpose I/Os"): MODER, OTYPER, OSPEEDR, PUPDR,
IDR, ODR, BSRR, LCKR, AFRL, AFRH per port; the model keeps them so the
console check can see whether the TX pin is in its alternate function.
SYSCFG (chapter "System configuration controller"): MEMRMP.SWP_FMC [11:10] moves
the SDRAM banks to 0x6000 0000 (01).
"""

from __future__ import annotations

from ...errors import ClockError
from .peripheral import Peripheral, RegisterFile


class Gpio(Peripheral):
    name = "GPIO"
    base = 0x40020000
    size = 0x2C00

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.ports = [
            {0x00: 0, 0x04: 0, 0x08: 0, 0x0C: 0, 0x10: 0, 0x14: 0, 0x1C: 0, 0x20: 0, 0x24: 0} for _ in range(11)
        ]
        # Reset values of port A/B (debug pins), RM GPIO register descriptions.
        self.ports[0][0x00], self.ports[0][0x08], self.ports[0][0x0C] = 0xA8000000, 0x0C000000, 0x64000000
        self.ports[1][0x00], self.ports[1][0x08], self.ports[1][0x0C] = 0x00000280, 0x000000C0, 0x00000100

    def _port(self, off: int) -> tuple[dict, int, int]:
        index, reg = off // 0x400, off % 0x400
        if not self.m.rcc.r[0x30] >> index & 1:
            raise ClockError(
                f"GPIO{'ABCDEFGHIJK'[index]} accessed with its clock disabled (RCC_AHB1ENR bit {index} = 0)"
            )
        return self.ports[index], reg, index

    def read32(self, off: int) -> int:
        regs, reg, _ = self._port(off)
        if reg in regs:
            return regs[reg]
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        regs, reg, _ = self._port(off)
        if reg == 0x18:  # BSRR
            regs[0x14] = (regs[0x14] | (value & 0xFFFF)) & ~(value >> 16)
        elif reg in regs and reg != 0x10:
            regs[reg] = value
        else:
            super().write32(off, value)

    def alternate(self, port: int, pin: int) -> int | None:
        """The alternate function a pin is in, None when not in AF mode."""
        regs = self.ports[port]
        if (regs[0x00] >> (2 * pin)) & 3 != 2:
            return None
        afr = regs[0x20 if pin < 8 else 0x24]
        return (afr >> (4 * (pin & 7))) & 0xF


class Syscfg(RegisterFile):
    name = "SYSCFG"
    base = 0x40013800
    regs = {0x00: 0, 0x04: 0, 0x08: 0, 0x0C: 0, 0x10: 0, 0x14: 0, 0x20: 0}

    @property
    def memrmp(self) -> int:
        return self.r[0x00]

    def read32(self, off: int) -> int:
        self.m.rcc.require("syscfg")
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        self.m.rcc.require("syscfg")
        super().write32(off, value)
        if off == 0x00:
            self.m.remap_sdram()
