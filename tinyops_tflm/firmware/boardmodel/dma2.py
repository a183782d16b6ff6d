"""DMA2 controller, memory-to-memory streams.

RM0386 / RM0385 chapter "DMA controller (DMA)": registers
LISR/HISR (flags), LIFCR/HIFCR (clears), and per stream SxCR, SxNDTR, SxPAR,
SxM0AR, SxM1AR, SxFCR. Memory-to-memory (DIR = 10) exists on DMA2 only;
there the peripheral port is the source, NDTR counts PSIZE items, circular
and direct modes are not allowed ("Memory-to-memory mode"), PAR/M0AR must be
aligned to PSIZE/MSIZE, the FIFO threshold must hold a whole number of
memory bursts ("FIFO threshold and burst configuration", table "FIFO
threshold configurations"), a burst must not cross a 1 KB boundary, and the
stream's flags must be cleared before EN is set. Each of those is a DmaError
here. An address the DMA's bus-matrix ports do not reach (F469 CCM, F746
ITCM) is a DmaBusError (the hardware would raise TEIF and stop the stream).

Timing: a transfer reads its source when EN is set (as the FIFO starts
filling at once) and lands in its destination at the next event that lets
time pass: the CPU reading any DMA register or sleeping in WFI. Then NDTR
becomes 0, EN clears, HTIF/TCIF are set and the stream's interrupt line is
raised when TCIE/HTIE/TEIE allow it. Software that reads a destination
before waiting therefore sees the old bytes, as it could on the board.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DmaError
from .peripheral import Peripheral

FLAG_SHIFT = (0, 6, 16, 22)
IRQS = (56, 57, 58, 59, 60, 68, 69, 70)


@dataclass
class Stream:
    index: int
    cr: int = 0
    ndtr: int = 0
    par: int = 0
    m0ar: int = 0
    m1ar: int = 0
    fcr: int = 0x21
    flags: int = 0
    data: np.ndarray | None = None  # source bytes read at EN
    transfers: int = 0
    bytes: int = 0

    @property
    def enabled(self) -> bool:
        return self.data is not None


class Dma2(Peripheral):
    name = "DMA2"
    base = 0x40026400

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.streams = [Stream(i) for i in range(8)]

    # ---- time ---------------------------------------------------------------------
    def busy(self) -> bool:
        return any(s.enabled for s in self.streams)

    def complete_all(self) -> None:
        for s in self.streams:
            if s.enabled:
                self._complete(s)

    def _complete(self, s: Stream) -> None:
        msize = 1 << ((s.cr >> 13) & 3)
        data, s.data = s.data, None
        if s.cr & (1 << 10):  # MINC
            self.m.dma_write(s.m0ar, data, f"DMA2 stream {s.index}")
        else:  # every memory item lands on the same address: the last one stays
            self.m.dma_write(s.m0ar, data[-msize:], f"DMA2 stream {s.index}")
        s.bytes += data.size
        s.transfers += 1
        s.ndtr = 0
        s.cr &= ~1
        s.flags |= (1 << 5) | (1 << 4)  # TCIF, HTIF
        self._update_irq(s)

    def _update_irq(self, s: Stream) -> None:
        cr = s.cr
        level = (
            ((s.flags >> 5 & 1) and cr >> 4 & 1)
            or ((s.flags >> 4 & 1) and cr >> 3 & 1)
            or ((s.flags >> 3 & 1) and cr >> 2 & 1)
            or ((s.flags >> 2 & 1) and cr >> 1 & 1)
            or ((s.flags & 1) and s.fcr >> 7 & 1)
        )
        self.m.nvic.set_level(IRQS[s.index], bool(level))
        if level:
            self.m.interrupts_changed()  # taken as soon as PRIMASK and priorities allow

    # ---- registers -------------------------------------------------------------------
    def read32(self, off: int) -> int:
        self.m.rcc.require("dma2")
        self.m.cache_sync()
        # Reading any DMA register lets time pass: in-flight transfers finish.
        self.complete_all()
        if off in (0x00, 0x04):
            v = 0
            for k in range(4):
                s = self.streams[k + (4 if off else 0)]
                v |= s.flags << FLAG_SHIFT[k]
            return v
        if off in (0x08, 0x0C):
            return 0
        s, reg = self._stream(off)
        return {
            0x00: s.cr | int(s.enabled),
            0x04: s.ndtr,
            0x08: s.par,
            0x0C: s.m0ar,
            0x10: s.m1ar,
            0x14: (s.fcr & ~0x38) | (0x20 if not s.enabled else 0),
        }[reg]

    def _stream(self, off: int) -> tuple[Stream, int]:
        if not 0x10 <= off < 0x10 + 8 * 0x18:
            return super().read32(off)  # raises
        return self.streams[(off - 0x10) // 0x18], (off - 0x10) % 0x18

    def write32(self, off: int, value: int) -> None:
        self.m.rcc.require("dma2")
        self.m.cache_sync()
        if off in (0x08, 0x0C):
            for k in range(4):
                s = self.streams[k + (4 if off == 0x0C else 0)]
                s.flags &= ~((value >> FLAG_SHIFT[k]) & 0x3D)
                self._update_irq(s)
            return
        if off in (0x00, 0x04):
            return  # read-only
        s, reg = self._stream(off)
        if reg == 0x00:
            self._write_cr(s, value)
            return
        if s.enabled:
            name = {0x04: "NDTR", 0x08: "PAR", 0x0C: "M0AR", 0x10: "M1AR", 0x14: "FCR"}[reg]
            raise DmaError(
                f"DMA2 stream {s.index}: S{s.index}{name} written while the stream is "
                "enabled (the RM makes it read-only while EN = 1)"
            )
        if reg == 0x04:
            s.ndtr = value & 0xFFFF
        elif reg == 0x08:
            s.par = value
        elif reg == 0x0C:
            s.m0ar = value
        elif reg == 0x10:
            s.m1ar = value
        elif reg == 0x14:
            s.fcr = value & 0x87
            self._update_irq(s)

    def _write_cr(self, s: Stream, value: int) -> None:
        tag = f"DMA2 stream {s.index}"
        if s.enabled:
            if value & 1:
                raise DmaError(
                    f"{tag}: S{s.index}CR written with EN = 1 while the stream is still busy (enabling a busy stream)"
                )
            # Software disable: the stream stops; TCIF signals the stop.
            s.data = None
            s.cr = value & ~1
            s.flags |= 1 << 5
            self._update_irq(s)
            return
        s.cr = value & ~1
        self._update_irq(s)
        if value & 1:
            self._start(s, tag)

    def _start(self, s: Stream, tag: str) -> None:
        cr = s.cr
        shift = FLAG_SHIFT[s.index % 4]
        if s.flags:
            raise DmaError(
                f"{tag}: EN set with event flags {s.flags:#x} still set (clear them in "
                f"{'HIFCR' if s.index >= 4 else 'LIFCR'} bits {shift}.. first)"
            )
        direction = (cr >> 6) & 3
        if direction != 2:
            raise DmaError(
                f"{tag}: DIR = {direction}: only memory-to-memory transfers are "
                "modelled (no peripheral requests on this board model)"
            )
        if cr & (1 << 8):
            raise DmaError(f"{tag}: circular mode with memory-to-memory (not allowed)")
        if cr & (1 << 18):
            raise DmaError(f"{tag}: double-buffer mode with memory-to-memory (not allowed)")
        if not s.fcr & (1 << 2):
            raise DmaError(
                f"{tag}: direct mode (FCR.DMDIS = 0) with memory-to-memory (not allowed: the FIFO must be used)"
            )
        psize_code, msize_code = (cr >> 11) & 3, (cr >> 13) & 3
        if psize_code == 3 or msize_code == 3:
            raise DmaError(f"{tag}: reserved PSIZE/MSIZE value")
        psize, msize = 1 << psize_code, 1 << msize_code
        if s.ndtr == 0:
            raise DmaError(f"{tag}: enabled with NDTR = 0")
        total = s.ndtr * psize
        if total % msize:
            raise DmaError(
                f"{tag}: NDTR {s.ndtr} x PSIZE {psize} B = {total} B is not a whole number of MSIZE ({msize} B) items"
            )
        if s.par % psize or s.m0ar % msize:
            raise DmaError(
                f"{tag}: PAR {s.par:#010x} / M0AR {s.m0ar:#010x} not aligned to PSIZE "
                f"{psize} / MSIZE {msize} bytes (the hardware ignores the low address "
                "bits, so the wrong bytes would move)"
            )
        fth = s.fcr & 3
        fifo_level = (fth + 1) * 4
        beats = {0: 1, 1: 4, 2: 8, 3: 16}
        mburst, pburst = beats[(cr >> 23) & 3], beats[(cr >> 21) & 3]
        if mburst > 1:
            mbytes = mburst * msize
            if mbytes > 16 or fifo_level % mbytes:
                raise DmaError(
                    f"{tag}: MBURST {mburst} beats x MSIZE {msize} B with FIFO "
                    f"threshold {fth + 1}/4 is a forbidden FIFO/burst combination "
                    "(the stream would raise FEIF and stop)"
                )
        if pburst > 1:
            pbytes = pburst * psize
            if pbytes > 16:
                raise DmaError(f"{tag}: PBURST {pburst} x PSIZE {psize} B exceeds the 16-byte FIFO")
            if pbytes == 16 and fth == 2:
                raise DmaError(f"{tag}: PBURST x PSIZE = FIFO size with threshold 3/4 (forbidden)")
        for port, addr, size, burst, inc in (
            ("peripheral", s.par, psize, pburst, cr >> 9 & 1),
            ("memory", s.m0ar, msize, mburst, cr >> 10 & 1),
        ):
            b = burst * size
            if burst > 1 and inc and (addr % b or 1024 % b):
                raise DmaError(f"{tag}: {port} bursts of {b} B from {addr:#010x} cross 1 KB boundaries (not allowed)")
        if cr & (1 << 9):  # PINC
            src = self.m.dma_read(s.par, total, tag)
        else:
            src = np.tile(self.m.dma_read(s.par, psize, tag), s.ndtr)
        # The destination must be reachable too (checked before anything lands).
        self.m.dma_region(s.m0ar, total if cr & (1 << 10) else msize, tag)
        s.data = src


class Dma1(Peripheral):
    """DMA1: not modelled beyond refusing what it cannot do. Its streams have
    no memory-to-memory mode (RM "DMA controller": only DMA2 can do
    memory-to-memory transfers); other uses need peripheral requests, which
    this board model does not have."""

    name = "DMA1"
    base = 0x40026000

    def write32(self, off: int, value: int) -> None:
        if 0x10 <= off < 0xD0 and (off - 0x10) % 0x18 == 0 and (value >> 6) & 3 == 2:
            raise DmaError(
                f"DMA1 stream {(off - 0x10) // 0x18}: memory-to-memory direction (DIR = 10) exists on DMA2 only"
            )
        super().write32(off, value)
