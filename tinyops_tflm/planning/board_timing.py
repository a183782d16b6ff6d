"""Board timing: the one source of truth of the cycle model's numbers.

Everything the QEMU cycle model (ports/common/qemu_plugin/tinyops_cycles.c)
needs to cost a run of the QEMU variant as if on the board is here, with its
source: core clocks, flash wait states, cache and ART geometry, FMC SDRAM and
QSPI timing, the QEMU-to-board memory map, branch penalties and the DMA
transfer model. :meth:`BoardTiming.config_text` writes the plugin's config;
the plugin hard-codes none of these numbers. The analytic estimator uses the
same objects (:func:`get_timing`, :func:`dma_transfer_cycles`). Their types
are in :mod:`.timing_model`, the DMA rates' derivation in :mod:`.dma_rates`.

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

from .boards import CCM, FLASH, QSPI, SDRAM, SRAM, Board, get_board
from .dma_rates import _DMA_SETUP, _dma_rates, _Facts
from .timing_model import BoardTiming, CacheGeometry, DmaModel, QspiTiming, Region, SdramTiming

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
