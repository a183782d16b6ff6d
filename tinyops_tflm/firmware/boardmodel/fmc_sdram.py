"""FMC SDRAM controller (bank 1, SDNE0/SDCKE0) and the board's MT48LC4M32B2.

F469: RM0386 chapter "Flexible memory controller (FMC)", section
"SDRAM controller" (registers FMC_SDCR1/2, SDTR1/2, SDCMR, SDRTR, SDSR);
F746: RM0385, same chapter (same controller, same register layout).

The SDRAM window (0xC000 0000, or 0x6000 0000 after SYSCFG_MEMRMP.SWP_FMC = 01)
answers only after the initialization sequence of the RM ("SDRAM
initialization": program SDCR/SDTR, Clock Configuration Enable, wait the
power-up delay, Precharge All, Auto-refresh commands, Load Mode Register,
program the refresh rate in SDRTR) with the geometry and bus width of the
board (MT48LC4M32B2: 4 banks, 12 row and 8 column address bits; the F469
board wires 32 data lines, the F746 board 16). Until then an access is a
named error saying which step is missing. SDSR.BUSY is never set: commands
complete at once in the model.
"""

from __future__ import annotations

from ...errors import SdramError
from .peripheral import Peripheral

POWER_UP_US = 100  # RM "SDRAM initialization" step 4: typical 100 us after clock enable
MIN_AUTO_REFRESH = 2  # MT48LC4M32B2 data sheet: at least two AUTO REFRESH cycles
ROWS, ROW_BITS, COL_BITS, BANKS = 4096, 12, 8, 4
REFRESH_MS = 64.0  # MT48LC4M32B2: 4096 rows every 64 ms
MIN_COUNT = 41  # RM FMC_SDRTR: COUNT must be at least 41 SDRAM clock cycles
# MT48LC4M32B2-6A (both boards' part) AC characteristics, data sheet table
# "Electrical Characteristics and Recommended AC Operating Conditions":
# minimum clock period per CAS latency, and the command timings FMC_SDTR1
# must cover (ns; tMRD in clocks).
TCK_MIN_NS = {2: 10.0, 3: 6.0}
T_MIN_NS = {"TRAS": 42.0, "TRC": 60.0, "TRCD": 18.0, "TRP": 18.0, "TWR": 12.0, "TXSR": 70.0}
SDTR_FIELDS = {"TMRD": 0, "TXSR": 4, "TRAS": 8, "TRC": 12, "TWR": 16, "TRP": 20, "TRCD": 24}


class FmcSdram(Peripheral):
    name = "FMC"
    base = 0xA0000000
    size = 0x1000

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.sdcr = [0x2D0, 0x2D0]  # reset values
        self.sdtr = [0x0FFFFFFF, 0x0FFFFFFF]
        self.sdcmr = 0
        self.sdrtr = 0
        self.clock_enabled_at: int | None = None
        self.precharged = False
        self.auto_refreshes = 0
        self.mode_register: int | None = None
        self.ready = False
        self.problem: str | None = None  # why the window is closed, once tried

    # ---- facts derived from the registers -------------------------------------
    def sdclk_hz(self) -> int:
        div = (self.sdcr[0] >> 10) & 3
        return self.m.rcc.hclk() // div if div in (2, 3) else 0

    def missing_steps(self) -> str:
        steps = []
        if self.clock_enabled_at is None:
            steps.append("Clock Configuration Enable command")
        if not self.precharged:
            steps.append("Precharge All command")
        if self.auto_refreshes < MIN_AUTO_REFRESH:
            steps.append(f"Auto-refresh commands ({self.auto_refreshes} issued, {MIN_AUTO_REFRESH} needed)")
        if self.mode_register is None:
            steps.append("Load Mode Register command")
        if not (self.sdrtr >> 1) & 0x1FFF:
            steps.append("refresh rate (FMC_SDRTR.COUNT)")
        return ", ".join(steps)

    def window_base(self) -> int:
        swap = (self.m.syscfg.memrmp >> 10) & 3
        return 0x60000000 if swap == 1 else 0xC0000000

    def closed_reason(self, addr: int) -> str:
        if self.problem:
            return self.problem
        missing = self.missing_steps()
        return (
            f"SDRAM window accessed at {addr:#010x} before the FMC SDRAM init sequence "
            f"finished (missing: {missing or 'nothing'})"
        )

    # ---- registers ---------------------------------------------------------------
    def read32(self, off: int) -> int:
        self.m.rcc.require("fmc")
        if off in (0x140, 0x144):
            return self.sdcr[(off - 0x140) // 4]
        if off in (0x148, 0x14C):
            return self.sdtr[(off - 0x148) // 4]
        if off == 0x150:
            return self.sdcmr
        if off == 0x154:
            return self.sdrtr
        if off == 0x158:
            return 0  # MODES1/MODES2 normal, BUSY 0, RE 0
        return super().read32(off)

    def write32(self, off: int, value: int) -> None:
        self.m.rcc.require("fmc")
        if off in (0x140, 0x144):
            self.sdcr[(off - 0x140) // 4] = value & 0x7FFF
        elif off in (0x148, 0x14C):
            self.sdtr[(off - 0x148) // 4] = value & 0x0FFFFFFF
        elif off == 0x150:
            self._command(value)
        elif off == 0x154:
            self._refresh_rate(value)
        else:
            super().write32(off, value)

    def _now(self) -> int:
        return self.m.dwt.cycles

    def _command(self, value: int) -> None:
        self.sdcmr = value
        mode = value & 7
        bank1 = bool(value & (1 << 4))
        if not value & (3 << 3):
            raise SdramError(f"FMC_SDCMR {value:#x}: command with no target bank (CTB1/CTB2 = 0)")
        if not bank1:
            return  # bank 2 (SDNE1) has no chip on these boards: nothing answers
        if mode == 1:
            if not self.sdclk_hz():
                raise SdramError("Clock Configuration Enable with FMC_SDCR1.SDCLK = 0 (SDRAM clock disabled)")
            self.clock_enabled_at = self._now()
        elif mode == 2:
            if self.clock_enabled_at is None:
                raise SdramError("Precharge All before the Clock Configuration Enable command")
            waited = (self._now() - self.clock_enabled_at) / max(self.m.rcc.hclk(), 1) * 1e6
            if waited < POWER_UP_US:
                raise SdramError(
                    f"Precharge All {waited:.1f} us after Clock Configuration "
                    f"Enable: the SDRAM needs {POWER_UP_US} us of stable clock "
                    "first (time measured on the DWT cycle counter)"
                )
            self.precharged = True
        elif mode == 3:
            if not self.precharged:
                raise SdramError("Auto-refresh before Precharge All")
            self.auto_refreshes += ((value >> 5) & 0xF) + 1
        elif mode == 4:
            if self.auto_refreshes < MIN_AUTO_REFRESH:
                raise SdramError(
                    f"Load Mode Register after {self.auto_refreshes} auto-refresh command(s): "
                    f"the MT48LC4M32B2 needs at least {MIN_AUTO_REFRESH} after Precharge All "
                    "(missing FMC auto-refresh command in the init sequence)"
                )
            mrd = (value >> 9) & 0x1FFF
            cas_mr = (mrd >> 4) & 7
            cas_cr = (self.sdcr[0] >> 7) & 3
            if cas_mr != cas_cr:
                raise SdramError(
                    f"mode register CAS latency {cas_mr} differs from "
                    f"FMC_SDCR1.CAS {cas_cr}: reads would sample the wrong cycle"
                )
            self.mode_register = mrd
        self._maybe_open()

    def _timing_problems(self) -> list[str]:
        """FMC_SDCR1.CAS and FMC_SDTR1 against the chip at the programmed SDCLK."""
        sdclk = self.sdclk_hz()
        period = 1e9 / sdclk
        out = []
        cas = (self.sdcr[0] >> 7) & 3
        if cas in TCK_MIN_NS and period < TCK_MIN_NS[cas]:
            out.append(
                f"CAS latency {cas} at SDCLK {sdclk / 1e6:.0f} MHz ({period:.2f} ns): the "
                f"MT48LC4M32B2-6A needs a clock period of at least {TCK_MIN_NS[cas]} ns "
                f"with CL = {cas}"
            )
        tr = self.sdtr[0]
        cycles = {k: ((tr >> sh) & 0xF) + 1 for k, sh in SDTR_FIELDS.items()}
        if cycles["TMRD"] < 2:
            out.append(f"FMC_SDTR1.TMRD = {cycles['TMRD']} cycle(s): tMRD is 2 clocks")
        for name, ns in T_MIN_NS.items():
            if cycles[name] * period < ns:
                out.append(f"FMC_SDTR1.{name} = {cycles[name]} cycles = {cycles[name] * period:.1f} ns < {ns:g} ns")
        return out

    def _refresh_rate(self, value: int) -> None:
        count = (value >> 1) & 0x1FFF
        self.sdrtr = value & 0x7FFF
        if count:
            if count < MIN_COUNT:
                raise SdramError(f"FMC_SDRTR.COUNT = {count}: must be at least {MIN_COUNT}")
            sdclk = self.sdclk_hz()
            interval_us = (count + 1) / sdclk * 1e6 if sdclk else float("inf")
            need_us = REFRESH_MS * 1000 / ROWS
            if interval_us > need_us:
                raise SdramError(
                    f"FMC_SDRTR.COUNT = {count} refreshes a row every "
                    f"{interval_us:.2f} us at SDCLK {sdclk / 1e6:.0f} MHz; the "
                    f"SDRAM needs one every {need_us:.3f} us (64 ms / 4096 rows)"
                )
        self._maybe_open()

    def _maybe_open(self) -> None:
        if self.ready or self.missing_steps():
            return
        cr = self.sdcr[0]
        nc, nr, mwid, nb = cr & 3, (cr >> 2) & 3, (cr >> 4) & 3, (cr >> 6) & 1
        bits = {0: 8, 1: 16, 2: 32}.get(mwid)
        board = self.m.spec.sdram_bus_bits
        problems = []
        if bits != board:
            problems.append(f"FMC_SDCR1.MWID = {bits}-bit but the board wires {board} SDRAM data lines")
        if nc + 8 != COL_BITS or nr + 11 != ROW_BITS or (4 if nb else 2) != BANKS:
            problems.append(
                f"FMC_SDCR1 geometry {nc + 8} column / {nr + 11} row bits, "
                f"{4 if nb else 2} banks; the MT48LC4M32B2 has {COL_BITS} / "
                f"{ROW_BITS}, {BANKS} banks"
            )
        problems += self._timing_problems()
        if problems:
            self.problem = "; ".join(problems)
            raise SdramError(self.problem)
        self.ready = True
        self.m.open_sdram(self.window_base())
