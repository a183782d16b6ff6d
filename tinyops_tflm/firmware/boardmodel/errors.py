"""Named errors of the board model: each one is something the real board would
not do (or would do silently wrong), reported with the register values and the
reference-manual rule that was broken."""
from __future__ import annotations

from ...errors import TinyOpsError


class BoardModelError(TinyOpsError, RuntimeError):
    """The firmware did something the modelled hardware refuses."""


class ClockError(BoardModelError):
    """RCC / PWR misuse: PLL out of range, SYSCLK above the regulator's limit, ..."""


class FlashLatencyError(ClockError):
    """SYSCLK switched to a frequency the flash wait states (FLASH_ACR.LATENCY) do not cover."""


class SdramError(BoardModelError):
    """FMC SDRAM: wrong init sequence, geometry or bus width, access before init."""


class QspiError(BoardModelError):
    """QUADSPI / N25Q128A: command the flash refuses, memory-mapped settings that do
    not match the flash (read command, dummy cycles), access before memory-mapped mode."""


class DmaError(BoardModelError):
    """DMA2: an illegal stream setup (enabled while busy, circular or direct
    memory-to-memory, misaligned address, forbidden FIFO/burst combination)."""


class DmaBusError(DmaError):
    """DMA2 addressed a memory its bus-matrix ports cannot reach (e.g. CCM)."""


class CacheCoherencyError(BoardModelError):
    """Cortex-M7 D-cache: DMA read CPU-written lines that were not cleaned, or the
    CPU touched DMA-written lines it had not invalidated."""


class BusFaultError(BoardModelError):
    """An access to an address where nothing answers (or a write to read-only memory)."""


class FirmwareHang(BoardModelError):
    """The core would sleep forever (WFI with nothing pending) or ran past the
    instruction budget."""
