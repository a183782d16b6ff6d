"""USART console, transmit side.

F469 USART3, "v1" register layout (RM0386 chapter "Universal synchronous asynchronous receiver
transmitter (USART)": SR 0x00 with TXE bit 7
and TC bit 6, DR 0x04, BRR 0x08, CR1 0x0C with UE bit 13, TE bit 3);
F746 USART1, "v2" layout (RM0385 USART chapter: CR1 0x00 with UE bit 0, BRR
0x0C, ISR 0x1C, TDR 0x28). Characters go out at once (TXE and TC stay set).
A byte sent while the baud rate, computed from the modelled PCLK and BRR
(oversampling by 16), is more than 3 % off 115200, or while the TX pin is
not in its alternate function, is an error: the host terminal would show
garbage or nothing.
"""

from __future__ import annotations

from ...errors import BoardModelError, ClockError
from .peripheral import Peripheral

BAUD = 115200
TOLERANCE = 0.03


class Usart(Peripheral):
    name = "USART"

    def __init__(self, machine) -> None:
        super().__init__(machine)
        spec = machine.spec
        self.base = spec.console_usart
        self.v2 = spec.console_v2
        self.clock = "usart1" if spec.usart_on_apb2 else "usart3"
        self.name = self.clock.upper()
        self.r = (
            {0x00: 0, 0x04: 0, 0x08: 0, 0x0C: 0, 0x10: 0, 0x14: 0, 0x18: 0, 0x1C: 0x00C0, 0x20: 0, 0x24: 0, 0x28: 0}
            if self.v2
            else {0x00: 0x00C0, 0x04: 0, 0x08: 0, 0x0C: 0, 0x10: 0, 0x14: 0, 0x18: 0}
        )
        self.out = bytearray()
        self._checked = False

    def _cr1(self) -> int:
        return self.r[0x00 if self.v2 else 0x0C]

    def read32(self, off: int) -> int:
        self.m.rcc.require(self.clock)
        if off in self.r:
            return self.r[off]
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        self.m.rcc.require(self.clock)
        if off not in self.r:
            super().write32(off, value)
        tx = 0x28 if self.v2 else 0x04
        if off == tx:
            self._send(value & 0xFF)
            return
        if self.v2 and off in (0x1C, 0x24):
            return  # read-only
        self.r[off] = value

    def _send(self, byte: int) -> None:
        ue = 1 if self.v2 else 1 << 13
        cr1 = self._cr1()
        if not cr1 & ue or not cr1 & (1 << 3):
            raise BoardModelError(f"{self.name}: byte written with UE/TE off (CR1 {cr1:#x})")
        if not self._checked:
            self._check_line()
            self._checked = True
        self.out.append(byte)

    def _check_line(self) -> None:
        spec = self.m.spec
        pclk = self.m.rcc.pclk2() if spec.usart_on_apb2 else self.m.rcc.pclk1()
        brr = self.r[0x0C if self.v2 else 0x08]
        baud = pclk / brr if brr else 0
        if abs(baud - BAUD) > TOLERANCE * BAUD:
            raise ClockError(f"{self.name}: BRR {brr} at PCLK {pclk / 1e6:.1f} MHz gives {baud:.0f} baud, not {BAUD}")
        port, pin, af = spec.console_tx_pin
        got = self.m.gpio.alternate(port, pin)
        if got != af:
            raise BoardModelError(
                f"{self.name}: TX pin P{'ABCDEFGHIJK'[port]}{pin} is "
                f"{'not in alternate-function mode' if got is None else f'AF{got}'}"
                f"; the console needs AF{af}"
            )
