"""QUADSPI controller and the boards' Micron N25Q128A (16 MB NOR flash).

Controller: RM0386 / RM0385 chapter "Quad-SPI interface (QUADSPI)": indirect mode (a command starts when its last needed piece is
written: CCR when no address and no data from software, AR when an address
is needed and no data is written, DR for indirect writes with data), status
flags TCF / FTF / BUSY, FCR clears, ABORT, and memory-mapped mode
(FMODE = 11) at 0x9000 0000. CCR may be written only while BUSY = 0.

Flash (N25Q128A data sheet, command set in extended SPI protocol): RESET
ENABLE 0x66 + RESET MEMORY 0x99, WRITE ENABLE 0x06, READ STATUS 0x05 (WIP,
WEL), READ / WRITE VOLATILE CONFIGURATION 0x85 / 0x81 (dummy clock cycles in
bits 7:4, WRITE needs WEL), READ ID 0x9F, reads 0x03 / 0x0B / 0x3B / 0xBB /
0x6B / 0xEB with 3-byte addresses, 108 MHz maximum clock.

Memory-mapped mode opens the window only when CCR names a read command with
the line counts it uses, a 24-bit address and as many dummy cycles as the
flash's volatile configuration register asks for; otherwise the reads would
return shifted data, which the model reports as a QspiError when CCR is
written. Reads return the image the ELF places at 0x9000 0000.
"""

from __future__ import annotations

from ...errors import QspiError
from .peripheral import Peripheral

MAX_HZ = 108_000_000
SIZE_LOG2 = 24
# command -> (address lines, data lines, needs dummy cycles); lines: 1, 2 or 4.
READS = {
    0x03: (1, 1, False),
    0x0B: (1, 1, True),
    0x3B: (1, 2, True),
    0xBB: (2, 2, True),
    0x6B: (1, 4, True),
    0xEB: (4, 4, True),
}
DEFAULT_DUMMY = {0x0B: 8, 0x3B: 8, 0xBB: 8, 0x6B: 8, 0xEB: 10}  # VCR[7:4] = 0 or 15
LINES = {0: 0, 1: 1, 2: 2, 3: 4}


class N25Q128A:
    def __init__(self, image: memoryview) -> None:
        self.image = image
        self.vcr = 0xFB
        self.wel = False
        self.reset_enabled = False

    def dummy_cycles(self, command: int) -> int:
        d = self.vcr >> 4
        return DEFAULT_DUMMY.get(command, 0) if d in (0, 15) else d

    def status(self) -> int:
        return 2 if self.wel else 0  # WIP never set: operations complete at once

    def command(self, instr: int, data_in: bytes, data_len: int, address: int | None) -> bytes:
        """Executes one command; returns the bytes the flash drives back."""
        was_reset_enable = self.reset_enabled
        self.reset_enabled = False
        if instr == 0x66:
            self.reset_enabled = True
            return b""
        if instr == 0x99:
            if not was_reset_enable:
                raise QspiError("N25Q128A RESET MEMORY (0x99) not preceded by RESET ENABLE (0x66)")
            self.vcr, self.wel = 0xFB, False
            return b""
        if instr == 0x06:
            self.wel = True
            return b""
        if instr == 0x04:
            self.wel = False
            return b""
        if instr == 0x05:
            return bytes([self.status()]) * data_len
        if instr == 0x85:
            return bytes([self.vcr]) * data_len
        if instr == 0x81:
            if not self.wel:
                raise QspiError(
                    "N25Q128A WRITE VOLATILE CONFIGURATION (0x81) without WRITE ENABLE: the flash ignores it"
                )
            if len(data_in) != 1:
                raise QspiError(f"WRITE VOLATILE CONFIGURATION with {len(data_in)} data bytes (1)")
            self.vcr, self.wel = data_in[0], False
            return b""
        if instr in (0x9E, 0x9F):
            return (bytes([0x20, 0xBA, 0x18]) + bytes(data_len))[:data_len]
        if instr in READS and address is not None:
            return bytes(self.image[address : address + data_len])
        raise QspiError(f"N25Q128A command {instr:#04x} is not modelled")


class Quadspi(Peripheral):
    name = "QUADSPI"
    base = 0xA0001000
    size = 0x1000

    def __init__(self, machine, image: memoryview) -> None:
        super().__init__(machine)
        self.flash = N25Q128A(image)
        self.cr = self.dcr = self.dlr = self.ccr = self.ar = self.abr = 0
        self.rx = bytearray()
        self.tx = bytearray()
        self.pending = False  # a command waiting for its address / data
        self.tcf = False
        self.mapped = False

    # ---- helpers --------------------------------------------------------------------
    def _fmode(self) -> int:
        return (self.ccr >> 26) & 3

    def _busy(self) -> bool:
        return self.mapped or self.pending or bool(self.rx)

    def clock_hz(self) -> int:
        return self.m.rcc.hclk() // (((self.cr >> 24) & 0xFF) + 1)

    def _check_lines(self, what: str) -> None:
        if (self.ccr >> 8) & 3 != 1:
            raise QspiError(
                f"{what}: instruction on {LINES[(self.ccr >> 8) & 3]} line(s); the "
                "N25Q128A in extended SPI mode takes instructions on one line"
            )
        if self.ccr & (1 << 31):
            raise QspiError(f"{what}: DDR mode (CCR.DDRM) with a single-rate command")

    def _execute(self) -> None:
        """Runs the configured indirect command now."""
        instr = self.ccr & 0xFF
        what = f"QUADSPI command {instr:#04x}"
        if not self.cr & 1:
            raise QspiError(f"{what} issued with QUADSPI_CR.EN = 0")
        self._check_lines(what)
        if self.clock_hz() > MAX_HZ:
            raise QspiError(f"{what}: QUADSPI clock {self.clock_hz() / 1e6:.0f} MHz exceeds the N25Q128A's 108 MHz")
        dmode = LINES[(self.ccr >> 24) & 3]
        if instr in (0x05, 0x85, 0x81, 0x9E, 0x9F) and dmode not in (0, 1):
            raise QspiError(f"{what}: register access with data on {dmode} lines (one expected)")
        admode = LINES[(self.ccr >> 10) & 3]
        address = self.ar if admode else None
        n = self.dlr + 1 if dmode else 0
        if self._fmode() == 1:
            self.rx += self.flash.command(instr, b"", n, address)
        else:
            self.flash.command(instr, bytes(self.tx), n, address)
            self.tx.clear()
        self.pending = False
        self.tcf = True

    def _enter_memory_mapped(self) -> None:
        instr = self.ccr & 0xFF
        what = f"memory-mapped mode with read command {instr:#04x}"
        if instr not in READS:
            raise QspiError(f"{what}: not a read command of the N25Q128A")
        self._check_lines(what)
        want_addr, want_data, uses_dummy = READS[instr]
        admode, dmode = LINES[(self.ccr >> 10) & 3], LINES[(self.ccr >> 24) & 3]
        if (admode, dmode) != (want_addr, want_data):
            raise QspiError(
                f"{what}: CCR sends the address on {admode} and data on {dmode} "
                f"line(s); command {instr:#04x} uses {want_addr} and {want_data}"
            )
        if (self.ccr >> 12) & 3 != 2:
            raise QspiError(
                f"{what}: CCR.ADSIZE = {(self.ccr >> 12) & 3}; the N25Q128A uses 3-byte (24-bit, ADSIZE = 2) addresses"
            )
        cycles = (self.ccr >> 18) & 0x1F
        abmode = LINES[(self.ccr >> 14) & 3]
        if abmode:
            cycles += (((self.ccr >> 16) & 3) + 1) * 8 // abmode
        want = self.flash.dummy_cycles(instr) if uses_dummy else 0
        if cycles != want:
            raise QspiError(
                f"{what}: CCR gives {cycles} dummy cycles but the flash's volatile "
                f"configuration register ({self.flash.vcr:#04x}) makes it wait "
                f"{want}: every memory-mapped read would return shifted data"
            )
        hz = self.clock_hz()
        if hz > (54_000_000 if instr == 0x03 else MAX_HZ):
            raise QspiError(f"{what}: QUADSPI clock {hz / 1e6:.0f} MHz is above the command's maximum")
        fsize = (self.dcr >> 16) & 0x1F
        if fsize + 1 != SIZE_LOG2:
            raise QspiError(
                f"QUADSPI_DCR.FSIZE = {fsize} describes 2^{fsize + 1} bytes; the N25Q128A has 2^{SIZE_LOG2}"
            )
        if not self.cr & 1:
            raise QspiError(f"{what} with QUADSPI_CR.EN = 0")
        self.mapped = True
        self.m.open_qspi()

    # ---- registers ---------------------------------------------------------------------
    def read32(self, off: int) -> int:
        return self.read(off, 4)

    def read(self, off: int, size: int) -> int:
        self.m.rcc.require("quadspi")
        if off == 0x00:
            return self.cr
        if off == 0x04:
            return self.dcr
        if off == 0x08:
            level = min(len(self.rx), 31)
            return (
                (int(self.tcf) << 1)
                | (int(bool(self.rx) or self._fmode() == 0) << 2)
                | (int(self._busy()) << 5)
                | (level << 8)
            )
        if off == 0x10:
            return self.dlr
        if off == 0x14:
            return self.ccr
        if off == 0x18:
            return self.ar
        if off == 0x1C:
            return self.abr
        if off & ~3 == 0x20:
            if len(self.rx) < size:
                raise QspiError(f"QUADSPI_DR read of {size} byte(s) with {len(self.rx)} in the FIFO")
            value = int.from_bytes(self.rx[:size], "little")
            del self.rx[:size]
            return value
        return super().read32(off)

    def write(self, off: int, size: int, value: int) -> None:
        self.m.rcc.require("quadspi")
        if off & ~3 == 0x20:
            if self._fmode() != 0 or not self.pending:
                raise QspiError("QUADSPI_DR written with no indirect write command pending")
            self.tx += value.to_bytes(size, "little")
            if len(self.tx) >= self.dlr + 1:
                self._execute()
            return
        if size != 4:
            raise QspiError(f"{size}-byte write to QUADSPI register at offset {off:#x}")
        self.write32(off, value)

    def write32(self, off: int, value: int) -> None:
        if off == 0x00:
            if value & 2:  # ABORT
                self.pending, self.mapped, self.tcf = False, False, False
                self.rx.clear()
                self.tx.clear()
                self.m.close_qspi()
                value &= ~2
            self.cr = value
        elif off == 0x04:
            self.dcr = value
        elif off == 0x0C:
            if value & 2:
                self.tcf = False
        elif off == 0x10:
            self.dlr = value
        elif off == 0x14:
            if self._busy():
                raise QspiError(
                    f"QUADSPI_CCR written ({value:#010x}) while BUSY = 1 (the RM allows CCR changes only when BUSY = 0)"
                )
            self.ccr = value
            self.tcf = False
            fmode = self._fmode()
            if fmode == 3:
                self._enter_memory_mapped()
            elif fmode == 2:
                raise QspiError("QUADSPI automatic status-polling mode is not modelled")
            else:
                needs_addr = (value >> 10) & 3 != 0
                needs_data = fmode == 0 and (value >> 24) & 3 != 0
                self.pending = True
                if not needs_addr and not needs_data:
                    self._execute()
        elif off == 0x18:
            self.ar = value
            if self.pending and self._fmode() == 1 or (self.pending and (self.ccr >> 24) & 3 == 0):
                self._execute()
        elif off == 0x1C:
            self.abr = value
        else:
            super().write32(off, value)
