"""Register-level models of the STM32F469 / STM32F746 boards that run the
real board firmware ELFs (ports/stm32f469, ports/stm32f746) on Unicorn.

See machine.py for the core and the run loop, one module per peripheral,
and run.py for the `tinyops emulate --board-model` flow.
"""

from ...errors import (
    BoardModelError,
    BusFaultError,
    CacheCoherencyError,
    ClockError,
    DmaBusError,
    DmaError,
    FirmwareHang,
    FlashLatencyError,
    QspiError,
    SdramError,
)

__all__ = [
    "BoardModelError",
    "BusFaultError",
    "CacheCoherencyError",
    "ClockError",
    "DmaBusError",
    "DmaError",
    "FirmwareHang",
    "FlashLatencyError",
    "QspiError",
    "SdramError",
    "Machine",
    "run_elf",
    "emulate_board",
]


def __getattr__(name):
    if name == "Machine":
        from .machine import Machine

        return Machine
    if name in ("run_elf", "emulate_board"):
        from . import run

        return getattr(run, name)
    raise AttributeError(name)
