"""DMA2 memory-to-memory rates (CPU cycles per byte) derived from the same
memory facts the CPU model uses; source tags as in :mod:`.board_timing`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .boards import CCM, FLASH, QSPI, SDRAM, SRAM
from .timing_model import QspiTiming, SdramTiming

# ---------------------------------------------------------------------------
# DMA rates
#
# Per data item of `width` bytes, DMA2 in memory-to-memory mode reads the
# source on its peripheral port and writes the destination on its memory
# port, through the FIFO [AN4031]. Each AHB access costs arbitration + address
# computation (2 AHB cycles) + bus-matrix arbitration (1) + the slave's access
# time; an INCR4 burst pays that overhead once per 4 beats, the other beats
# one cycle each (plus the slave's per-beat time). The slaves' times are the
# same facts the CPU model uses (SRAM zero wait; flash WS+1 per line; SDRAM
# CAS + beats at HCLK/2). QSPI is bounded by its measured sustained rate
# [MBED456] whatever the DMA does.

_DMA_OVERHEAD = 3.0  # AHB cycles per single access or per burst [AN4031]


def _read_access(kind: str, width: int, burst: bool, t: "_Facts") -> float:
    """AHB cycles to read one item (single) or one 4-beat burst."""
    beats = 4 if burst else 1
    nbytes = beats * width
    if kind in (SRAM, CCM):
        return _DMA_OVERHEAD + beats
    if kind == FLASH:
        # one flash line read (WS + 1) per `flash_line` bytes; the rest of a
        # line comes from the interface's line buffer at one cycle a beat
        line_reads = nbytes / t.flash_line
        return _DMA_OVERHEAD + line_reads * (t.flash_ws + 1) + beats * (1 - min(1.0, line_reads))
    if kind == SDRAM:
        # sequential reads stream through the RBURST FIFO at the bus rate; a
        # row is opened (precharge + activate + CAS) once per row
        return _DMA_OVERHEAD + _sdram_stream(nbytes, t.sdram, with_cas=True)
    if kind == QSPI:
        return _DMA_OVERHEAD + nbytes * t.qspi.cycles_per_byte
    raise ValueError(kind)


def _sdram_stream(nbytes: int, sd: SdramTiming, with_cas: bool) -> float:
    per_row = (sd.trp + sd.trcd + (sd.cas if with_cas else 0)) * sd.hclk_per_sdclk
    return nbytes * sd.hclk_per_sdclk / sd.bus_bytes + nbytes * per_row / sd.row_bytes


def _write_access(kind: str, width: int, burst: bool, t: "_Facts") -> float:
    beats = 4 if burst else 1
    if kind in (SRAM, CCM):
        return _DMA_OVERHEAD + beats
    if kind == SDRAM:
        return _DMA_OVERHEAD + t.sdram.wr_overhead + _sdram_stream(beats * width, t.sdram, with_cas=False)
    raise ValueError(kind)


@dataclass(frozen=True)
class _Facts:
    flash_ws: int
    flash_line: int
    sdram: SdramTiming
    qspi: QspiTiming


def _dma_rates(t: _Facts, sources: Iterable[str], dests: Iterable[str]) -> dict:
    rates = {}
    for src in sources:
        for dst in dests:
            for width, burst in ((1, False), (2, False), (4, False), (4, True)):
                items = 4 if burst else 1
                if src == QSPI:
                    # [MBED456] measured DMA reads end to end: the DMA's own
                    # per-item work overlaps the QSPI stream (prefetch FIFO),
                    # so the rate is the slower of the two
                    own = _DMA_OVERHEAD + items + _write_access(dst, width, burst, t)
                    cpb = max(own / (items * width), t.qspi.cycles_per_byte)
                else:
                    cyc = _read_access(src, width, burst, t) + _write_access(dst, width, burst, t)
                    cpb = cyc / (items * width)
                rates[(src, dst, width, burst)] = cpb
    return rates


# Transfer-complete interrupt per chunk: exception entry 12 cycles + exit 10
# [M4TRM 5.5.1 exception latency] + the driver's handler (about 40 instructions
# in dma2.cc service()/finish()) + stream enable to first request (a few
# cycles) [AN4031]: about 70 cycles.
_DMA_SETUP = 70.0
