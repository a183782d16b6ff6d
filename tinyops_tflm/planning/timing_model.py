"""The cycle model's parameter types: cache geometry, FMC SDRAM and QSPI
timing, the QEMU address regions costed as board memories, the DMA2 transfer
model, and a board's whole timing with the plugin config it writes. The
numbers themselves are in :mod:`.board_timing`, which lists the sources the
bracketed tags below name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


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
