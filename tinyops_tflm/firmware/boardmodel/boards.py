"""What the board model knows about each board: memory map, clock limits,
external memory wiring. Every number is a datasheet / reference-manual fact,
cited where it is defined; the firmware's own configuration is never read
from here (the model checks the firmware against these facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class MemRegion:
    name: str
    base: int
    size: int
    writable: bool = True
    executable: bool = True
    dma: bool = True  # reachable from the DMA2 memory/peripheral ports
    cacheable: bool = False  # Cortex-M7 D-cache (default memory map, MPU off)
    why_not_dma: str = ""


@dataclass(frozen=True)
class BoardSpec:
    name: str
    core: str  # "cortex-m4" | "cortex-m7"
    family: str  # "F4" | "F7"
    hse_hz: int
    flash: MemRegion
    boot_alias: int  # where the vector table is fetched at reset (BOOT0 = 0)
    rams: tuple[MemRegion, ...]
    max_sysclk: int  # VOS scale 1, over-drive on
    max_sysclk_no_od: int  # VOS scale 1, over-drive off
    max_pclk1: int
    max_pclk2: int
    hz_per_wait_state: int  # flash: HCLK <= (LATENCY + 1) * this at 2.7-3.6 V
    max_latency: int
    # FMC SDRAM: MT48LC4M32B2 (4 banks x 4096 rows x 256 columns x 32 bit,
    # 64 ms / 4096-row refresh), of which the board wires `sdram_bus_bits` data lines.
    sdram_bus_bits: int
    sdram_cas_max_hz: dict = field(default_factory=dict)
    console_usart: int = 0
    console_v2: bool = False
    console_irq_free: bool = True
    console_tx_pin: tuple[int, int, int] = (0, 0, 0)  # (GPIO port, pin, AF)
    usart_on_apb2: bool = False

    @property
    def sdram_bytes(self) -> int:
        return 4 * 4096 * 256 * self.sdram_bus_bits // 8


# STM32F469NI on the STM32F469I-DISCO board (UM1932): 8 MHz HSE crystal,
# MT48LC4M32B2B5 SDRAM on a 32-bit FMC bus, N25Q128A13 QSPI flash,
# ST-LINK VCP on USART3 PB10 (AF7).
# Memory map: RM0386 section 2.2.2 "Memory map and register boundary
# addresses": flash 0x0800 0000 (2 MB, aliased at 0 when BOOT0 = 0), CCM data
# RAM 0x1000 0000 (64 KB, D-bus only: neither DMA nor the bus matrix masters
# reach it, RM0386 section 2.1 "System architecture"), SRAM1/2/3 from
# 0x2000 0000 (160 + 32 + 128 KB).
STM32F469 = BoardSpec(
    name="stm32f469",
    core="cortex-m4",
    family="F4",
    hse_hz=8_000_000,
    flash=MemRegion("flash", 0x08000000, 2 * MB, writable=False),
    boot_alias=0x00000000,
    rams=(
        MemRegion(
            "ccm",
            0x10000000,
            64 * KB,
            executable=False,
            dma=False,
            why_not_dma="CCM data RAM sits on the Cortex-M4 D-bus only "
            "(RM0386 section 2.1: no bus-matrix master but the CPU reaches it)",
        ),
        MemRegion("sram", 0x20000000, 320 * KB),
    ),
    # RM0386 PWR chapter ("Voltage regulator", over-drive): 168 MHz in scale 1,
    # 180 MHz with over-drive; RCC chapter ("Clocks"): APB1 <= 45, APB2 <= 90 MHz.
    max_sysclk=180_000_000,
    max_sysclk_no_od=168_000_000,
    max_pclk1=45_000_000,
    max_pclk2=90_000_000,
    # RM0386 embedded-flash chapter, table "Number of wait states according to
    # CPU clock (HCLK) frequency": 2.7-3.6 V, one wait state per 30 MHz, 5 WS up to 180 MHz.
    hz_per_wait_state=30_000_000,
    max_latency=15,
    sdram_bus_bits=32,
    console_usart=0x40004800,
    console_v2=False,
    console_tx_pin=(1, 10, 7),
    usart_on_apb2=False,
)

# STM32F746NG on the STM32F746G-DISCO board (UM1907): 25 MHz HSE crystal,
# MT48LC4M32B2B5 with only D0..D15 wired (16-bit bus, 8 MB usable),
# N25Q128A13 QSPI flash, ST-LINK VCP on USART1 PA9 (AF7).
# Memory map: RM0385 section 2.2.2: ITCM RAM 0x0000 0000 (16 KB), flash on
# ITCM at 0x0020 0000 (the default boot address BOOT_ADD0 = 0x0080 -> 0x0020 0000)
# and on AXIM at 0x0800 0000 (1 MB), DTCM 0x2000 0000 (64 KB), SRAM1
# 0x2001 0000 (240 KB), SRAM2 0x2004 C000 (16 KB). RM0385 section 2.1: the
# DMAs reach DTCM through the Cortex-M7 AHBS port; ITCM RAM only through the
# core's ITCM bus. Default memory map (ARMv7-M B3.1, MPU off): SRAM
# 0x2000 0000.. and external RAM 0x6000 0000.. are write-back cacheable; TCMs never are.
STM32F746 = BoardSpec(
    name="stm32f746",
    core="cortex-m7",
    family="F7",
    hse_hz=25_000_000,
    flash=MemRegion("flash", 0x08000000, 1 * MB, writable=False),
    boot_alias=0x00200000,
    rams=(
        MemRegion(
            "itcm",
            0x00000000,
            16 * KB,
            dma=False,
            why_not_dma="ITCM RAM is reachable only through the Cortex-M7 ITCM bus (RM0385 section 2.1)",
        ),
        MemRegion("dtcm", 0x20000000, 64 * KB),
        MemRegion("sram", 0x20010000, 256 * KB, cacheable=True),  # SRAM1 240 KB + SRAM2 16 KB
    ),
    # RM0385 PWR chapter ("Voltage regulator", over-drive): 180 MHz in scale 1
    # without over-drive, 216 MHz with it; RCC chapter: APB1 <= 54, APB2 <= 108 MHz.
    max_sysclk=216_000_000,
    max_sysclk_no_od=180_000_000,
    max_pclk1=54_000_000,
    max_pclk2=108_000_000,
    # RM0385 embedded-flash chapter, table "Number of wait states according to
    # CPU clock (HCLK) frequency": 2.7-3.6 V, one per 30 MHz, 7 WS up to 216 MHz.
    hz_per_wait_state=30_000_000,
    max_latency=15,
    sdram_bus_bits=16,
    console_usart=0x40011000,
    console_v2=True,
    console_tx_pin=(0, 9, 7),
    usart_on_apb2=True,
)

BOARDS = {"stm32f469": STM32F469, "stm32f746": STM32F746}


def board_spec(name: str) -> BoardSpec:
    base = "stm32f469" if name.startswith("stm32f469") else name
    try:
        return BOARDS[base]
    except KeyError:
        raise ValueError(f"no board model for {name!r}; boards: {', '.join(BOARDS)}") from None
