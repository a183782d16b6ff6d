"""RCC, PWR and the embedded-flash interface (FLASH_ACR).

F469: RM0386 chapters "Reset and clock control (RCC)", "Power controller
(PWR)" and "Embedded flash memory interface"; F746: the same chapters of
RM0385.

What is checked, with the rule it comes from:
- HSE/PLL ready bits follow their enables; PLLCFGR is written only while the
  PLL is off and must give a VCO input of 1-2 MHz, N in 50..432 and a VCO
  output of 100-432 MHz (RCC_PLLCFGR description);
- VOS is changed only with the PLL off (PWR_CR VOS); over-drive (ODEN, then
  ODSWEN) is needed above the no-over-drive limit and is switched while
  SYSCLK still runs from HSI/HSE (RM "Entering Over-drive mode" sequence);
- when SYSCLK switches (CFGR.SW), FLASH_ACR.LATENCY must already cover HCLK
  (wait-state table) and APB1/APB2 must be within their maximum: otherwise
  FlashLatencyError / ClockError, since the real part would fetch garbage
  from flash or run its buses out of specification;
- peripheral registers answer only with their RCC enable bit set.
"""

from __future__ import annotations

from ...errors import ClockError, FlashLatencyError
from .peripheral import Peripheral, RegisterFile

HSI_HZ = 16_000_000

# (register offset, bit) of the clock enables of the modelled peripherals.
ENABLES = {
    "dma2": (0x30, 22),
    "fmc": (0x38, 0),
    "quadspi": (0x38, 1),
    "usart3": (0x40, 18),
    "pwr": (0x40, 28),
    "usart1": (0x44, 4),
    "syscfg": (0x44, 14),
}
ENABLE_NAMES = {0x30: "RCC_AHB1ENR", 0x38: "RCC_AHB3ENR", 0x40: "RCC_APB1ENR", 0x44: "RCC_APB2ENR"}

_HPRE = {8: 2, 9: 4, 10: 8, 11: 16, 12: 64, 13: 128, 14: 256, 15: 512}
_PPRE = {4: 2, 5: 4, 6: 8, 7: 16}


class Rcc(RegisterFile):
    name = "RCC"
    base = 0x40023800
    # Reset values (RCC register descriptions): HSI on and ready; PLLCFGR
    # 0x2400 3010; DTCM/CCM data RAM clock enabled in AHB1ENR.
    regs = {**{off: 0 for off in range(0, 0x94, 4)}, 0x00: 0x0000_0083, 0x04: 0x2400_3010, 0x30: 0x0010_0000}

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.sws = 0  # 0 HSI, 1 HSE, 2 PLL

    # ---- the clock tree, as the hardware runs it now --------------------------
    def pll_out(self) -> tuple[int, int]:
        """(VCO output, P output) in Hz for the current PLLCFGR."""
        v = self.r[0x04]
        m, n = v & 0x3F, (v >> 6) & 0x1FF
        p = ((v >> 16) & 3) * 2 + 2
        src = self.m.spec.hse_hz if v & (1 << 22) else HSI_HZ
        vco = src // m * n if m else 0
        return vco, vco // p

    def sysclk(self) -> int:
        return {0: HSI_HZ, 1: self.m.spec.hse_hz, 2: self.pll_out()[1]}[self.sws]

    def hclk(self) -> int:
        return self.sysclk() // _HPRE.get((self.r[0x08] >> 4) & 0xF, 1)

    def pclk1(self) -> int:
        return self.hclk() // _PPRE.get((self.r[0x08] >> 10) & 7, 1)

    def pclk2(self) -> int:
        return self.hclk() // _PPRE.get((self.r[0x08] >> 13) & 7, 1)

    def enabled(self, what: str) -> bool:
        off, bit = ENABLES[what]
        return bool(self.r[off] >> bit & 1)

    def require(self, what: str) -> None:
        if not self.enabled(what):
            off, bit = ENABLES[what]
            raise ClockError(
                f"{what.upper()} register accessed with its clock disabled "
                f"({ENABLE_NAMES[off]} bit {bit} = 0): the hardware ignores the "
                "access (enable the clock first)"
            )

    # ---- registers ---------------------------------------------------------------
    def read32(self, off: int) -> int:
        if off == 0x08:
            return (self.r[0x08] & ~0xC) | (self.sws << 2)
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        if off not in self.r:
            super().write32(off, value)
        if off == 0x00:
            self._write_cr(value)
        elif off == 0x04:
            if self.r[0x00] & (1 << 24):
                raise ClockError(
                    f"RCC_PLLCFGR written ({value:#010x}) while the PLL is on: "
                    "the PLL configuration may be changed only with PLLON = 0"
                )
            self.r[0x04] = value
        elif off == 0x08:
            self._write_cfgr(value)
        else:
            self.r[off] = value

    def _write_cr(self, value: int) -> None:
        spec = self.m.spec
        ready = 0
        if value & 1:
            ready |= 1 << 1  # HSIRDY
        if value & (1 << 16):
            ready |= 1 << 17  # HSERDY: the board's crystal starts
        if value & (1 << 24):
            vco, _ = self.pll_out()
            v = self.r[0x04]
            m, n = v & 0x3F, (v >> 6) & 0x1FF
            src = spec.hse_hz if v & (1 << 22) else HSI_HZ
            if v & (1 << 22) and not value & (1 << 16):
                raise ClockError("PLL enabled with HSE as source while HSE is off")
            if m < 2 or not 1_000_000 <= src / m <= 2_000_000:
                raise ClockError(f"PLL input {src / max(m, 1) / 1e6:.3f} MHz (PLLM={m}): the VCO input must be 1-2 MHz")
            if not 50 <= n <= 432 or not 100_000_000 <= vco <= 432_000_000:
                raise ClockError(f"PLL VCO {vco / 1e6:.1f} MHz (PLLN={n}): must be 100-432 MHz with 50 <= PLLN <= 432")
            ready |= 1 << 25  # PLLRDY: locks
        if self.sws == 2 and not value & (1 << 24):
            raise ClockError("PLL switched off while it clocks SYSCLK")
        self.r[0x00] = (value & ~((1 << 1) | (1 << 17) | (1 << 25))) | ready

    def _write_cfgr(self, value: int) -> None:
        spec = self.m.spec
        self.r[0x08] = value & ~0xC
        sw = value & 3
        if sw == 2 and not self.r[0x00] & (1 << 25):
            raise ClockError("SYSCLK switched to the PLL before PLLRDY")
        if sw == 1 and not self.r[0x00] & (1 << 17):
            raise ClockError("SYSCLK switched to HSE before HSERDY")
        new = {0: HSI_HZ, 1: spec.hse_hz, 2: self.pll_out()[1]}.get(sw, HSI_HZ)
        pwr = self.m.pwr
        limit = spec.max_sysclk if pwr.overdrive_on() else spec.max_sysclk_no_od
        if new > limit:
            raise ClockError(
                f"SYSCLK {new / 1e6:.0f} MHz exceeds {limit / 1e6:.0f} MHz "
                + (
                    "(the maximum in VOS scale 1 with over-drive)"
                    if pwr.overdrive_on()
                    else "without over-drive (set PWR ODEN/ODSWEN first)"
                )
            )
        old_sws = self.sws
        self.sws = sw if sw != 3 else old_sws
        hclk = self.hclk()
        flash = self.m.flash_if
        need = flash.wait_states_for(hclk)
        if flash.latency < need:
            self.sws = old_sws
            raise FlashLatencyError(
                f"SYSCLK switched to {new / 1e6:.0f} MHz (HCLK {hclk / 1e6:.0f} MHz) with "
                f"FLASH_ACR.LATENCY = {flash.latency}: {need} wait states are needed at this "
                "clock (program LATENCY before raising the clock)"
            )
        if self.pclk1() > spec.max_pclk1 or self.pclk2() > spec.max_pclk2:
            raise ClockError(
                f"APB1 {self.pclk1() / 1e6:.1f} MHz / APB2 {self.pclk2() / 1e6:.1f} MHz "
                f"exceed {spec.max_pclk1 / 1e6:.0f} / {spec.max_pclk2 / 1e6:.0f} MHz"
            )


class Pwr(Peripheral):
    name = "PWR"
    base = 0x40007000

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.cr = 0x0000_C000  # VOS = scale 1 at reset
        self.csr = 0

    def overdrive_on(self) -> bool:
        return bool(self.csr & (1 << 17))

    def read32(self, off: int) -> int:
        self.m.rcc.require("pwr")
        if off == 0x00:
            return self.cr
        if off == 0x04:
            return self.csr | (1 << 14)  # VOSRDY
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        self.m.rcc.require("pwr")
        if off != 0x00:
            if off == 0x04:
                return
            super().write32(off, value)
        rcc = self.m.rcc
        pll_on = bool(rcc.r[0x00] & (1 << 24))
        if (value ^ self.cr) & (3 << 14) and pll_on:
            raise ClockError("PWR VOS changed while the PLL is on (allowed only with PLLON = 0)")
        if value & (1 << 16):
            if not rcc.r[0x00] & (1 << 25):
                raise ClockError("PWR ODEN set before the PLL is locked (over-drive entry sequence: PLL on, then ODEN)")
            self.csr |= 1 << 16
        if value & (1 << 17) and not self.overdrive_on():
            if not self.csr & (1 << 16):
                raise ClockError("PWR ODSWEN set before ODRDY")
            if rcc.sws == 2:
                raise ClockError(
                    "PWR ODSWEN set while SYSCLK runs from the PLL (switch to over-drive while on HSI/HSE)"
                )
            self.csr |= 1 << 17
        self.cr = value


class FlashInterface(Peripheral):
    name = "FLASH"
    base = 0x40023C00

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.acr = 0
        self.other = {0x04: 0, 0x08: 0, 0x0C: 0, 0x10: 0x8000_0000, 0x14: 0x0FFF_AAED}

    @property
    def latency(self) -> int:
        return self.acr & 0xF

    def wait_states_for(self, hclk: int) -> int:
        return max(0, -(-hclk // self.m.spec.hz_per_wait_state) - 1)

    def read32(self, off: int) -> int:
        if off == 0:
            return self.acr
        if off in self.other:
            return self.other[off]
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        if off != 0:
            super().write32(off, value)
        need = self.wait_states_for(self.m.rcc.hclk())
        if (value & 0xF) < need:
            raise FlashLatencyError(
                f"FLASH_ACR.LATENCY lowered to {value & 0xF} while HCLK is "
                f"{self.m.rcc.hclk() / 1e6:.0f} MHz ({need} needed)"
            )
        if (value & 0xF) > self.m.spec.max_latency:
            raise FlashLatencyError(f"FLASH_ACR.LATENCY {value & 0xF} is not a valid setting")
        self.acr = value
