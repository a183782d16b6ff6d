"""Target boards: memories, clocks and the internal-SRAM budget for the engine.

Numbers come from the boards' reference manuals and datasheets as summarised
in shared/reference/README.md. Relative costs are the planner's view of a
byte moved: what matters is their order, and they are calibrated together with
the latency model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import WeightsPlacementError

KIB = 1024
MIB = 1024 * 1024

# Memory kinds; values are part of the plan format (csrc/dma_partition/memory.h).
SRAM, CCM, FLASH, SDRAM, QSPI = "sram", "ccm", "flash", "sdram", "qspi"
MEMORY_KIND_CODES = {SRAM: 0, CCM: 1, FLASH: 2, SDRAM: 3, QSPI: 4}
# Where weights that miss internal flash may live (Board.weights_in).
WEIGHTS_IN = (SDRAM, QSPI)


@dataclass(frozen=True)
class Memory:
    """One physical memory of a board."""

    name: str  # one of SRAM, CCM, FLASH, SDRAM, QSPI
    base: int
    capacity: int  # bytes
    dma: bool  # reachable by the DMA controller used for mem-to-mem copies
    writable: bool  # at run time (flash and memory-mapped QSPI are read-only)
    external: bool
    bandwidth_mb_s: float  # sustained sequential read bandwidth, MB/s
    cpu_read_cycles_per_byte: float  # CPU reading in place, per byte (amortised)

    @property
    def code(self) -> int:
        return MEMORY_KIND_CODES[self.name]


@dataclass(frozen=True)
class Board:
    name: str
    core: str  # "cortex-m4" / "cortex-m7"
    clock_hz: int
    memories: tuple[Memory, ...]
    sram_reserve: int  # SRAM kept for the firmware: stack, engine state, drivers
    flash_reserve: int  # flash kept for the firmware image itself
    description: str = ""
    sram_budget_override: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Weights that do not fit flash go to SDRAM, copied there from QSPI at
    # boot (the ports' .tinyops_sdram_qdata section), where they stream 4-6x
    # faster than from QSPI; the rest stay in QSPI. False: all in QSPI, as the
    # paper's firmware keeps them. Only for boards with both memories.
    constants_in_sdram: bool = True

    def memory(self, name: str) -> Memory:
        for m in self.memories:
            if m.name == name:
                return m
        raise KeyError(f"board {self.name} has no {name} memory")

    def has(self, name: str) -> bool:
        return any(m.name == name for m in self.memories)

    @property
    def default_sram_budget(self) -> int:
        """Internal, DMA-reachable SRAM the engine may use by default."""
        if self.sram_budget_override is not None:
            return self.sram_budget_override
        return self.memory(SRAM).capacity - self.sram_reserve

    @property
    def flash_budget(self) -> int:
        return self.memory(FLASH).capacity - self.flash_reserve

    def with_sram_budget(self, budget: int) -> "Board":
        return replace(self, sram_budget_override=budget)

    @property
    def weights_in(self) -> str:
        """Where weights that miss internal flash go: "sdram" (copied there
        from QSPI at boot), "qspi" (read in place), or "flash" on a board
        with neither (they must then fit flash)."""
        if self.constants_in_sdram and self.has(SDRAM) and self.has(QSPI):
            return SDRAM
        return QSPI if self.has(QSPI) else FLASH

    def with_weights_in(self, where: str) -> "Board":
        """This board with weights beyond flash in `where` ("sdram" or "qspi").
        A replaced Board, not a flag beside it, so every cache keyed by the
        board (firmware builds, plans) tells the two placements apart."""
        if where not in WEIGHTS_IN:
            raise WeightsPlacementError(f"--weights-in must be one of {', '.join(WEIGHTS_IN)}, got {where!r}")
        # SDRAM loses its contents at power-off: its weights are a boot copy from QSPI.
        needs = (SDRAM, QSPI) if where == SDRAM else (QSPI,)
        missing = [m for m in needs if not self.has(m)]
        if missing:
            have = ", ".join(m.name for m in self.memories)
            raise WeightsPlacementError(
                f"--weights-in {where}: board {self.name} has no {' or '.join(m.upper() for m in missing)} "
                f"(its memories: {have}); weights in SDRAM need SDRAM and QSPI (their boot copy's source), "
                "weights in QSPI need QSPI"
            )
        return replace(self, constants_in_sdram=where == SDRAM)


# Firmware needs: heap-free engine state and driver buffers, and where the
# stack is carved from the same RAM (the F746's DTCM) the stack: 24 KiB of
# the F746's 32 (ports/stm32f746/port.cmake); the F469's is in its CCM.
_SRAM_RESERVE = 32 * KIB
# Firmware image (vectors, startup, drivers, engine code, read-only data) in
# internal flash; the link checks it (TINYOPS_FLASH_RESERVE in
# ports/common/firmware.cmake, the same number). Measured (arm-none-eabi-size,
# QEMU variant with every kernel of mbv3-w1.00-r160): 253 KB on the F469,
# 268 KB on the F746, so 256 KiB no longer held.
_FLASH_RESERVE = 320 * KIB

STM32F469 = Board(
    name="stm32f469",
    core="cortex-m4",
    clock_hz=180_000_000,
    memories=(
        # SRAM1 160K + SRAM2 32K + SRAM3 128K, contiguous on the bus matrix.
        Memory(
            SRAM,
            0x2000_0000,
            320 * KIB,
            dma=True,
            writable=True,
            external=False,
            bandwidth_mb_s=720.0,
            cpu_read_cycles_per_byte=0.25,
        ),
        # Core-coupled memory: CPU only, DMA cannot reach it.
        Memory(
            CCM,
            0x1000_0000,
            64 * KIB,
            dma=False,
            writable=True,
            external=False,
            bandwidth_mb_s=720.0,
            cpu_read_cycles_per_byte=0.25,
        ),
        Memory(
            FLASH,
            0x0800_0000,
            2 * MIB,
            dma=True,
            writable=False,
            external=False,
            bandwidth_mb_s=360.0,
            cpu_read_cycles_per_byte=0.5,
        ),
        # 32-bit FMC bus at 90 MHz, CAS 3; 8 MB used.
        Memory(
            SDRAM,
            0xC000_0000,
            8 * MIB,
            dma=True,
            writable=True,
            external=True,
            bandwidth_mb_s=360.0,
            cpu_read_cycles_per_byte=1.5,
        ),
        # Quad-SPI NOR, memory-mapped, 90 MHz.
        Memory(
            QSPI,
            0x9000_0000,
            16 * MIB,
            dma=True,
            writable=False,
            external=True,
            bandwidth_mb_s=45.0,
            cpu_read_cycles_per_byte=4.0,
        ),
    ),
    sram_reserve=_SRAM_RESERVE,
    flash_reserve=_FLASH_RESERVE,
    description="STM32F469I-DISCO: Cortex-M4F 180 MHz, 320 KiB SRAM + 64 KiB CCM, 2 MiB flash, "
    "8 MiB SDRAM, 16 MiB QSPI NOR",
)

STM32F746 = Board(
    name="stm32f746",
    core="cortex-m7",
    clock_hz=216_000_000,
    memories=(
        # DTCM 64K + SRAM1 240K + SRAM2 16K, contiguous from 0x20000000; DMA2
        # reaches DTCM through the core's AHB slave port.
        Memory(
            SRAM,
            0x2000_0000,
            320 * KIB,
            dma=True,
            writable=True,
            external=False,
            bandwidth_mb_s=864.0,
            cpu_read_cycles_per_byte=0.25,
        ),
        Memory(
            FLASH,
            0x0800_0000,
            1 * MIB,
            dma=True,
            writable=False,
            external=False,
            bandwidth_mb_s=432.0,
            cpu_read_cycles_per_byte=0.4,
        ),
        # 16-bit FMC bus at 108 MHz, CAS 2; 8 MB. The firmware swaps the FMC
        # banks (SYSCFG MEMRMP.SWP_FMC) so SDRAM appears at 0x60000000, where
        # the M7 treats it as cacheable normal memory.
        Memory(
            SDRAM,
            0x6000_0000,
            8 * MIB,
            dma=True,
            writable=True,
            external=True,
            bandwidth_mb_s=216.0,
            cpu_read_cycles_per_byte=1.0,
        ),
        # Quad-SPI NOR, memory-mapped, 108 MHz, fast read quad output 0x6B.
        Memory(
            QSPI,
            0x9000_0000,
            16 * MIB,
            dma=True,
            writable=False,
            external=True,
            bandwidth_mb_s=54.0,
            cpu_read_cycles_per_byte=4.0,
        ),
    ),
    sram_reserve=_SRAM_RESERVE,
    flash_reserve=_FLASH_RESERVE,
    description="STM32F746G-DISCO: Cortex-M7 216 MHz (4 KiB I/D caches), 320 KiB SRAM, "
    "1 MiB flash, 8 MiB SDRAM, 16 MiB QSPI NOR",
)

# The paper's F469 setting: 256 KB SRAM and 1 MB flash, standing in for an
# F412-class part.
STM32F469_PAPER = replace(
    STM32F469,
    name="stm32f469-paper",
    sram_budget_override=256 * KIB,
    flash_reserve=1 * MIB,
    description="STM32F469 restricted to the paper's budgets: 256 KiB SRAM, 1 MiB flash",
)

BOARDS: dict[str, Board] = {b.name: b for b in (STM32F469, STM32F746, STM32F469_PAPER)}


def get_board(board: str | Board) -> Board:
    if isinstance(board, Board):
        return board
    try:
        return BOARDS[board.lower()]
    except KeyError:
        raise ValueError(f"unknown board {board!r}; known boards: {', '.join(BOARDS)}") from None


def parse_size(text: str | int) -> int:
    """'128K', '1M', '65536' -> bytes."""
    if isinstance(text, int):
        return text
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    if t.endswith("K"):
        mult, t = KIB, t[:-1]
    elif t.endswith("M"):
        mult, t = MIB, t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise ValueError(f"cannot read size {text!r} (use e.g. 65536, 64K, 1M)") from None
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value
