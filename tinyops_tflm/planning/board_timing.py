"""Board timing: the one source of truth of the cycle model's numbers.

Everything the QEMU cycle model (ports/common/qemu_plugin/tinyops_cycles.c)
needs to cost a run of the QEMU variant as if on the board is here, with its
source: core clocks, flash wait states, cache and ART geometry, FMC SDRAM and
QSPI timing, the QEMU-to-board memory map, branch penalties and the DMA
transfer model. :meth:`BoardTiming.config_text` writes the plugin's config;
the plugin hard-codes none of these numbers. The analytic estimator uses the
same objects (:func:`get_timing`, :func:`dma_transfer_cycles`).

Sources (cited again where used; see ports/README.md for the full list):

[M4TRM]  Arm Cortex-M4 Technical Reference Manual r0p1 (Arm 100166), table 3-1
         "Processor instruction set summary" and 3.3.2 "Load/store timings".
[M7TRM]  Arm Cortex-M7 Technical Reference Manual: L1 caches (I-cache 2-way,
         D-cache 4-way, 32-byte lines), branch target address cache.
[LLVM-M7] LLVM ARMScheduleM7.td (contributed by Arm): Cortex-M7 pipes,
         single-issue instructions, latencies, "mispredict cost for forward
         branches is 6".
[GCC-M7] GCC gcc/config/arm/cortex-m7.md (Arm, 2014): load/store multiple of
         3-4 registers 2 cycles, single-issue.
[QUINA]  Mark Owen, "Cortex-M7 instruction cycle counts, timings, and
         dual-issue combinations", https://www.quinapalus.com/cm7cycles.html
[RM0386] STM32F469xx reference manual: flash wait states (5 WS at 180 MHz,
         2.7-3.6 V), ART accelerator (64 x 128-bit instruction cache lines,
         8 x 128-bit data cache lines, prefetch), FMC SDRAM controller
         (RBURST read FIFO), QUADSPI (32-byte FIFO), DMA2.
[RM0385] STM32F75xxx/74xxx reference manual: flash wait states (7 WS at
         216 MHz), 256-bit flash read on the AXI interface, FMC, QUADSPI, DMA2.
[DS-F746] STM32F746xx datasheet: 4 KB I-cache + 4 KB D-cache.
[AN4031] ST AN4031 "Using the STM32F2, STM32F4 and STM32F7 Series DMA
         controller": per-item DMA timing (arbitration, address computation,
         bus-matrix arbitration, access) and burst behaviour.
[MBED456] mbed-ce/mbed-os PR #456 "Accelerate STM32 QSPI read/write operations
         by DMA": sequential QSPI reads measured at 29.09 MB/s on the
         DISCO-F746NG (N25Q128A, 108 MHz) and 24.32 MB/s on the DISCO-F469NI
         (N25Q128A, 90 MHz).
[MPY4032] micropython PR #4032 (STM32F746G-DISCO SDRAM): copying 1 MB within
         SDRAM takes about 27 ms at 192 MHz with the region cacheable (40 ms
         without). Used as a check of the SDRAM model (ports/README.md).
[BOARD]  this project's board bring-up (ports/stm32f469/board.cc,
         ports/stm32f746/board.cc): FMC timings (CAS, TRP, TRCD, bus width,
         SDCLK = HCLK/2), QSPI clock (HCLK/2), dummy cycles (10), chip-select
         high time, and the DMA driver (ports/common/stm32/dma2.cc: two
         streams, chunks of 65535 items, INCR4 bursts when 16-byte aligned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from .boards import CCM, FLASH, QSPI, SDRAM, SRAM, Board, get_board

__all__ = [
    "CacheGeometry",
    "SdramTiming",
    "QspiTiming",
    "Region",
    "DmaModel",
    "BoardTiming",
    "get_timing",
    "dma_transfer_cycles",
    "cpu_access_cycles_per_byte",
    "TIMINGS",
    "MEMORY_KINDS",
]

MEMORY_KINDS = (SRAM, CCM, FLASH, SDRAM, QSPI)  # order of the plugin's DMA table


@dataclass(frozen=True)
class CacheGeometry:
    size: int  # bytes
    ways: int
    line: int  # bytes


@dataclass(frozen=True)
class SdramTiming:
    """FMC SDRAM as the firmware configures it [BOARD], in SDRAM clocks except
    the overheads (CPU cycles)."""

    hclk_per_sdclk: int  # SDCLK = HCLK / 2
    cas: int  # CAS latency, SDRAM clocks
    trp: int  # precharge, SDRAM clocks
    trcd: int  # activate to read/write, SDRAM clocks
    bus_bytes: int  # 4 (32-bit bus, F469) or 2 (16-bit, F746)
    row_bytes: int  # 256 columns x bus width
    banks: int
    bank_bytes: int
    # AHB -> FMC request and data resynchronisation around a read (CPU
    # cycles); first-order estimate, checked against [MPY4032].
    rd_overhead: float
    wr_overhead: float
    fifo_bytes: int  # read FIFO the RBURST mode streams into [RM0386]

    def word_read_cycles(self, row_hit: bool = True) -> float:
        """CPU cycles of an isolated 32-bit read (beyond a zero-wait access)."""
        beats = math.ceil(4 / self.bus_bytes)
        row = 0 if row_hit else (self.trp + self.trcd) * self.hclk_per_sdclk
        return row + self.rd_overhead + (self.cas + beats) * self.hclk_per_sdclk

    def burst_read_cycles(self, nbytes: int, row_hit: bool = True) -> float:
        """CPU cycles to read `nbytes` in one burst (a cache line fill)."""
        row = 0 if row_hit else (self.trp + self.trcd) * self.hclk_per_sdclk
        return row + self.rd_overhead + self.cas * self.hclk_per_sdclk + nbytes * self.hclk_per_sdclk / self.bus_bytes

    def write_cycles(self, nbytes: int) -> float:
        return self.wr_overhead + math.ceil(nbytes / self.bus_bytes) * self.hclk_per_sdclk


@dataclass(frozen=True)
class QspiTiming:
    """Memory-mapped quad-output fast read (0x6B) of the N25Q128A [BOARD]."""

    hclk_per_sclk: int
    command_clocks: int  # instruction (8, 1 line) + address (24, 1 line) + dummy (10)
    cs_high_clocks: int  # chip-select high time between commands
    sustained_mb_s: float  # measured sequential read rate [MBED456]
    clock_hz: int
    fifo_bytes: int = 32  # QUADSPI FIFO [RM0386, RM0385]

    @property
    def cycles_per_byte(self) -> float:
        """CPU cycles per byte when streaming: the measured rate, not the
        quad-SPI peak (2 SPI clocks a byte)."""
        return self.clock_hz / (self.sustained_mb_s * 1e6)

    @property
    def command_cycles(self) -> float:
        """CPU cycles a non-sequential access spends before its first data."""
        return (self.command_clocks + self.cs_high_clocks) * self.hclk_per_sclk


@dataclass(frozen=True)
class Region:
    """A QEMU address range costed as one of the board's memories."""

    name: str
    lo: int
    hi: int  # exclusive
    kind: str  # DMA memory kind (boards.py names) or "none"
    model: str  # plugin model: zero, bus, flash, sdram, qspi
    cached: bool = False  # Cortex-M7 L1 caches serve it
    write_through: bool = False
    rd: float = 0.0  # bus: extra cycles per uncached read
    wr: float = 0.0  # bus: extra cycles per uncached write
    fill: float = 0.0  # bus/flash: cycles per cache line fill
    wb: float = 0.0  # bus: cycles per dirty line write-back

    def contains(self, addr: int) -> bool:
        return self.lo <= addr < self.hi


@dataclass(frozen=True)
class DmaModel:
    """DMA2 memory-to-memory as the board driver uses it [BOARD]:

    cycles(job) = setup_cycles * chunks + nbytes * cycles_per_byte(src, dst, width, burst)

    with chunks = ceil(items / max_items) (65535 items per stream programming;
    65532 with INCR4 bursts so a chunk stays whole bursts). The setup covers the
    stream start and the transfer-complete interrupt that finishes (or chains)
    a chunk; the CPU-side programming runs as instructions in the firmware.
    """

    setup_cycles: float
    streams: int
    rates: dict[tuple[str, str, int, bool], float]  # cycles per byte
    max_items: int = 65535
    max_items_burst: int = 65532

    def cycles_per_byte(self, src: str, dst: str, width: int = 4, burst: bool = True) -> float:
        if width not in (1, 2, 4):
            raise ValueError(f"DMA width must be 1, 2 or 4 bytes, got {width}")
        burst = bool(burst) and width == 4
        try:
            return self.rates[(src, dst, width, burst)]
        except KeyError:
            raise ValueError(
                f"no DMA rate for {src} -> {dst} (width {width}, burst {burst}); "
                f"the DMA reaches {', '.join(sorted({k[0] for k in self.rates}))}"
            ) from None

    def transfer_cycles(self, src: str, dst: str, nbytes: int, width: int = 4, burst: bool = True) -> float:
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        burst = bool(burst) and width == 4
        items = nbytes // width
        max_items = self.max_items_burst if burst else self.max_items
        chunks = max(1, -(-items // max_items))
        return self.setup_cycles * chunks + nbytes * self.cycles_per_byte(src, dst, width, burst)


@dataclass(frozen=True)
class BoardTiming:
    board: str
    core: str  # "cortex-m4" / "cortex-m7"
    clock_hz: int
    regions: tuple[Region, ...]  # QEMU addresses; first match wins
    dma: DmaModel
    sdram: SdramTiming
    qspi: QspiTiming
    flash_wait_states: int
    icache: CacheGeometry | None = None  # Cortex-M7 L1
    dcache: CacheGeometry | None = None
    art_icache: CacheGeometry | None = None  # STM32F4 ART accelerator
    art_dcache: CacheGeometry | None = None
    art_prefetch: bool = False
    # Branches. Cortex-M4 [M4TRM]: a taken branch costs 1 + P, P = 1 for
    # an immediate target, 2 for a register target, 3 after a load to the
    # PC (LDR PC / POP {PC} / TBB: "three cycles for the pipeline reload"),
    # + 1 when the target is a 32-bit instruction that is not word aligned.
    refill_direct: float = 1
    refill_indirect: float = 2
    refill_load: float = 3
    refill_unaligned: float = 1
    # Cortex-M7: a dynamic predictor with a branch target address cache
    # [M7TRM]; a mispredict costs `mispredict` [LLVM-M7: 6 for forward
    # branches]; a direct branch the BTAC does not hold is redirected at
    # decode (`btac_miss_direct`, assumed 2). Arm publishes neither the BTAC's
    # size nor its associativity: 64 entries, 4-way LRU assumed (direct
    # mapped gives 1-3 % lower CoreMark/MHz). A correctly predicted branch
    # costs its issue slot only.
    mispredict: float = 0
    btac_miss_direct: float = 0
    btac_entries: int = 0
    btac_ways: int = 1
    # SDIV/UDIV take 2..12 cycles with early termination [M4TRM]; the model
    # takes the middle, 7, which is also LLVM's Cortex-M7 divide latency.
    div_cycles: float = 7
    # VDIV.F32 / VSQRT.F32: 14 cycles on the M4 [M4TRM]; on the M7 the
    # divider is iterative too (LLVM-M7 latency 16).
    fdiv_cycles: float = 14
    # Cortex-M7 LDM/STM/PUSH/POP issue cycles = ldm_base + ceil(n / ldm_per):
    # two registers a cycle on the 64-bit load/store path (GCC's Arm-written
    # cortex-m7.md: 3-4 registers take 2 cycles, single-issue).
    ldm_base: float = 0
    ldm_per: int = 2
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- queries ---------------------------------------------------------------
    def region_at(self, addr: int) -> Region | None:
        for r in self.regions:
            if r.contains(addr):
                return r
        return None

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(f"{self.board} timing has no region {name!r}")

    def dma_transfer_cycles(self, src: str, dst: str, nbytes: int, width: int = 4, burst: bool = True) -> float:
        return self.dma.transfer_cycles(src, dst, nbytes, width, burst)

    def seconds(self, cycles: float) -> float:
        return cycles / self.clock_hz

    # -- the plugin's config ---------------------------------------------------
    def config_text(self) -> str:
        """The plugin's config file (key value lines; regions; DMA rates)."""
        f = _fmt
        lines = [
            f"# tinyops cycle model config for {self.board} (tinyops_tflm/planning/board_timing.py)",
            f"core {self.core}",
            f"clock_hz {self.clock_hz}",
            f"refill_direct {f(self.refill_direct)}",
            f"refill_indirect {f(self.refill_indirect)}",
            f"refill_load {f(self.refill_load)}",
            f"refill_unaligned {f(self.refill_unaligned)}",
            f"mispredict {f(self.mispredict)}",
            f"btac_miss_direct {f(self.btac_miss_direct)}",
            f"btac_entries {self.btac_entries}",
            f"btac_ways {self.btac_ways}",
            f"div_cycles {f(self.div_cycles)}",
            f"fdiv_cycles {f(self.fdiv_cycles)}",
            f"ldm_base {f(self.ldm_base)}",
            f"ldm_per {self.ldm_per}",
            f"flash_ws {self.flash_wait_states}",
            f"art_prefetch {int(self.art_prefetch)}",
        ]
        for key, g in (
            ("icache", self.icache),
            ("dcache", self.dcache),
            ("art_icache", self.art_icache),
            ("art_dcache", self.art_dcache),
        ):
            if g is not None:
                lines.append(f"{key} {g.size} {g.ways} {g.line}")
        sd = self.sdram
        sd_base = next((r.lo for r in self.regions if r.model == "sdram"), 0)
        lines += [
            f"sdram_base {sd_base:#x}",
            f"sdram_div {sd.hclk_per_sdclk}",
            f"sdram_cas {sd.cas}",
            f"sdram_trp {sd.trp}",
            f"sdram_trcd {sd.trcd}",
            f"sdram_bus_bytes {sd.bus_bytes}",
            f"sdram_row_bytes {sd.row_bytes}",
            f"sdram_banks {sd.banks}",
            f"sdram_bank_bytes {sd.bank_bytes}",
            f"sdram_rd_overhead {f(sd.rd_overhead)}",
            f"sdram_wr_overhead {f(sd.wr_overhead)}",
            f"sdram_fifo_bytes {sd.fifo_bytes}",
        ]
        q = self.qspi
        lines += [
            f"qspi_cmd {f(q.command_cycles)}",
            f"qspi_cycles_per_byte {f(q.cycles_per_byte)}",
            f"qspi_fifo_bytes {q.fifo_bytes}",
        ]
        lines += [
            f"dma_setup {f(self.dma.setup_cycles)}",
            f"dma_streams {self.dma.streams}",
            f"dma_max_items {self.dma.max_items}",
            f"dma_max_items_burst {self.dma.max_items_burst}",
        ]
        for (src, dst, width, burst), cpb in sorted(self.dma.rates.items()):
            lines.append(f"dma_rate {src} {dst} {width} {int(burst)} {f(cpb)}")
        for r in self.regions:
            lines.append(
                f"region {r.lo:#x} {r.hi:#x} {r.name} {r.kind} {r.model} "
                f"cached={int(r.cached)} wt={int(r.write_through)} rd={f(r.rd)} "
                f"wr={f(r.wr)} fill={f(r.fill)} wb={f(r.wb)}"
            )
        return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    """Shortest text that reads back as the same double (repr)."""
    return repr(float(x))


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


# ---------------------------------------------------------------------------
# STM32F469I-DISCO (Cortex-M4F, 180 MHz) on QEMU mps2-an386

_F469_CLOCK = 180_000_000
_F469_SDRAM = SdramTiming(
    hclk_per_sdclk=2,
    cas=3,
    trp=2,
    trcd=2,  # [BOARD] SDCR1/SDTR1 at 90 MHz
    bus_bytes=4,
    row_bytes=256 * 4,
    banks=4,  # MT48LC4M32B2: 8 column bits, 4 banks, x32
    bank_bytes=4 << 20,  # 16 MB chip / 4 banks
    rd_overhead=4.0,
    wr_overhead=1.0,
    fifo_bytes=24,
)
_F469_QSPI = QspiTiming(
    hclk_per_sclk=2, command_clocks=8 + 24 + 10, cs_high_clocks=2, sustained_mb_s=24.32, clock_hz=_F469_CLOCK
)
_F469_FACTS = _Facts(flash_ws=5, flash_line=16, sdram=_F469_SDRAM, qspi=_F469_QSPI)

STM32F469_TIMING = BoardTiming(
    board="stm32f469",
    core="cortex-m4",
    clock_hz=_F469_CLOCK,
    flash_wait_states=5,  # [RM0386] 150 < HCLK <= 180 MHz, 2.7-3.6 V
    art_icache=CacheGeometry(64 * 16, 64, 16),  # [RM0386] 64 lines of 128 bits (fully assoc.)
    art_dcache=CacheGeometry(8 * 16, 8, 16),  # [RM0386] 8 lines of 128 bits
    art_prefetch=True,  # [BOARD] FLASH_ACR PRFTEN|ICEN|DCEN
    sdram=_F469_SDRAM,
    qspi=_F469_QSPI,
    regions=(
        # QEMU mps2-an386 map of the port (ports/stm32f469/CMakeLists.txt)
        Region("flash", 0x0000_0000, 0x0020_0000, FLASH, "flash"),
        Region("sram", 0x2000_0000, 0x2005_0000, SRAM, "zero"),  # SRAM1+2+3, zero wait
        Region("ccm", 0x2005_0000, 0x2006_0000, CCM, "zero"),  # CCM (CPU only)
        Region("ram", 0x2006_0000, 0x2040_0000, SRAM, "zero"),  # rest of QEMU data RAM
        Region("sdram", 0x2100_0000, 0x2180_0000, SDRAM, "sdram"),
        Region("qspi", 0x2180_0000, 0x2200_0000, QSPI, "qspi"),
    ),
    dma=DmaModel(
        setup_cycles=_DMA_SETUP, streams=2, rates=_dma_rates(_F469_FACTS, (SRAM, FLASH, SDRAM, QSPI), (SRAM, SDRAM))
    ),
)

# ---------------------------------------------------------------------------
# STM32F746G-DISCO (Cortex-M7, 216 MHz) on QEMU mps2-an500

_F746_CLOCK = 216_000_000
_F746_SDRAM = SdramTiming(
    hclk_per_sdclk=2,
    cas=3,
    trp=2,
    trcd=2,  # [BOARD] SDCR1/SDTR1 at 108 MHz (CAS 3: the -6A part's CL2 needs tCK >= 10 ns)
    bus_bytes=2,
    row_bytes=256 * 2,
    banks=4,  # 16-bit bus, 8 column bits
    bank_bytes=2 << 20,  # 8 MB / 4 banks
    rd_overhead=4.0,
    wr_overhead=1.0,
    fifo_bytes=24,
)
_F746_QSPI = QspiTiming(
    hclk_per_sclk=2, command_clocks=8 + 24 + 10, cs_high_clocks=6, sustained_mb_s=29.09, clock_hz=_F746_CLOCK
)
_F746_FACTS = _Facts(flash_ws=7, flash_line=32, sdram=_F746_SDRAM, qspi=_F746_QSPI)
# A 32-byte L1 line from the flash on AXI: one 256-bit flash read (7 WS + 1)
# plus the AXI-to-AHB bridge (about 2 cycles) [RM0385].
_F746_FLASH_FILL = 7 + 1 + 2.0
# SRAM1/SRAM2 behind the AXI-to-AHB bridge (32-bit AHB): 8 beats + about 3
# cycles of bridge/bus-matrix latency per line; a buffered word write 1.
_F746_SRAM_FILL = 8 + 3.0

STM32F746_TIMING = BoardTiming(
    board="stm32f746",
    core="cortex-m7",
    clock_hz=_F746_CLOCK,
    flash_wait_states=7,  # [RM0385] 210 < HCLK <= 216 MHz, 2.7-3.6 V
    icache=CacheGeometry(4096, 2, 32),  # [DS-F746, M7TRM]
    dcache=CacheGeometry(4096, 4, 32),
    sdram=_F746_SDRAM,
    qspi=_F746_QSPI,
    mispredict=6,
    btac_miss_direct=2,
    btac_entries=64,
    btac_ways=4,
    regions=(
        # QEMU mps2-an500 map of the port (ports/stm32f746/CMakeLists.txt).
        # Default memory map (no MPU): SRAM and SDRAM (0x60000000, FMC banks
        # swapped) are write-back cacheable, QSPI (0x90000000) write-through.
        Region("flash", 0x0000_0000, 0x0010_0000, FLASH, "flash", cached=True, fill=_F746_FLASH_FILL),
        Region("dtcm", 0x2000_0000, 0x2001_0000, SRAM, "zero"),  # 64 KB DTCM, zero wait
        Region(
            "sram",
            0x2001_0000,
            0x2005_0000,
            SRAM,
            "bus",
            cached=True,  # SRAM1 + SRAM2
            rd=_F746_SRAM_FILL,
            wr=1.0,
            fill=_F746_SRAM_FILL,
            wb=8 + 3.0,
        ),
        Region(
            "ram",
            0x2005_0000,
            0x2040_0000,
            SRAM,
            "bus",
            cached=True,
            rd=_F746_SRAM_FILL,
            wr=1.0,
            fill=_F746_SRAM_FILL,
            wb=8 + 3.0,
        ),
        Region("sdram", 0x6000_0000, 0x6080_0000, SDRAM, "sdram", cached=True),
        Region("qspi", 0x6080_0000, 0x6100_0000, QSPI, "qspi", cached=True, write_through=True),
    ),
    dma=DmaModel(
        setup_cycles=_DMA_SETUP, streams=2, rates=_dma_rates(_F746_FACTS, (SRAM, FLASH, SDRAM, QSPI), (SRAM, SDRAM))
    ),
)

TIMINGS: dict[str, BoardTiming] = {t.board: t for t in (STM32F469_TIMING, STM32F746_TIMING)}


def get_timing(board: str | Board | BoardTiming) -> BoardTiming:
    """The timing model of a board (stm32f469 variants share the F469's)."""
    if isinstance(board, BoardTiming):
        return board
    b = get_board(board) if not isinstance(board, Board) else board
    name = b.name
    if name.startswith("stm32f469"):
        name = "stm32f469"
    if name not in TIMINGS:
        # a custom Board (tests, users): the timing of the board with its core
        for t in TIMINGS.values():
            if t.core == b.core:
                return t
        raise ValueError(f"no timing model for board {b.name!r} (core {b.core})")
    return TIMINGS[name]


def dma_transfer_cycles(
    board: str | Board | BoardTiming, src: str, dst: str, nbytes: int, *, width: int = 4, burst: bool = True
) -> float:
    """CPU cycles one DMA job of `nbytes` from `src` to `dst` memory takes on
    `board` (memory kinds as boards.py: "sram", "ccm", "flash", "sdram",
    "qspi"), including its per-transfer setup. The cycle model costs the
    emulated firmware's DMA jobs with exactly this formula."""
    return get_timing(board).dma_transfer_cycles(src, dst, nbytes, width, burst)


def cpu_access_cycles_per_byte(board: str | Board | BoardTiming, memory: str, *, write: bool = False) -> float:
    """CPU stall cycles per byte when the CPU streams through `memory`
    sequentially (word accesses), beyond the same accesses in zero-wait SRAM:
    the cycle model's steady state for that pattern, for analytic estimates.

    Reads: flash -- one ART line (F469) or L1 line (F746) fill per line;
    SDRAM -- the bus rate of the read FIFO stream plus one row opening per
    row (uncached M4) / one burst per L1 line (M7); QSPI -- the measured
    sustained rate. Writes go to SDRAM at the bus rate (no write-allocate);
    flash and QSPI are read-only (ValueError)."""
    t = get_timing(board)
    if memory in (SRAM, CCM):
        return 0.0
    sd = t.sdram
    row = (sd.trp + sd.trcd + sd.cas) * sd.hclk_per_sdclk / sd.row_bytes
    if write:
        if memory == SDRAM:
            return sd.write_cycles(4) / 4 + (sd.trp + sd.trcd) * sd.hclk_per_sdclk / sd.row_bytes
        raise ValueError(f"{memory} is read-only for the CPU")
    if memory == FLASH:
        if t.dcache is not None:
            return t.region("flash").fill / t.dcache.line
        return t.flash_wait_states / (t.art_dcache.line if t.art_dcache else 16)
    if memory == SDRAM:
        if t.dcache is not None:
            line = t.dcache.line
            return (sd.burst_read_cycles(line) + (sd.trp + sd.trcd) * sd.hclk_per_sdclk * line / sd.row_bytes) / line
        # the read FIFO streams at the bus rate; the CPU's own 1-2 cycles per
        # word overlap it only partly (first order: bus rate + row opening)
        return sd.hclk_per_sdclk / sd.bus_bytes + row
    if memory == QSPI:
        return t.qspi.cycles_per_byte
    raise ValueError(f"unknown memory kind {memory!r}; known: {', '.join(MEMORY_KINDS)}")
