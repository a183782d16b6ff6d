# The stm32f469 port: board facts (core, clock, memory maps of the board and
# of its QEMU variant) and the shared build logic. Included by this port's
# CMakeLists.txt and by the CMakeLists.txt of firmware projects made with
# `tinyops new-project DIR --board stm32f469`, after their project() call.
set(TINYOPS_BOARD stm32f469)
set(TINYOPS_CORE_NAME cortex-m4)
set(TINYOPS_CORE_HZ 180000000)
set(TINYOPS_QEMU_MACHINE mps2-an386)
set(TINYOPS_BOARD_DEFINES TINYOPS_CORTEX_M4=1)
include(${CMAKE_CURRENT_LIST_DIR}/../common/stm32/stm32.cmake)
set(TINYOPS_BOARD_SOURCES ${CMAKE_CURRENT_LIST_DIR}/board.cc ${TINYOPS_STM32_SOURCES})

# Memory map of the board. FASTRAM = CCM (64 KB, CPU only: stack, tables);
# SRAM = SRAM1 + SRAM2 + SRAM3 (160 + 32 + 128 KB, contiguous); SDRAM 8 MB of
# the 16 MB chip as the paper used; QSPI 16 MB.
set(TINYOPS_BOARD_FLASH_ORIGIN 0x08000000)
set(TINYOPS_BOARD_FLASH_LENGTH 2097152)
set(TINYOPS_BOARD_FAST_ORIGIN 0x10000000)
set(TINYOPS_BOARD_FAST_LENGTH 65536)
set(TINYOPS_BOARD_SRAM_ORIGIN 0x20000000)
set(TINYOPS_BOARD_SRAM_LENGTH 327680)
set(TINYOPS_BOARD_SDRAM_ORIGIN 0xC0000000)
set(TINYOPS_BOARD_SDRAM_LENGTH 8388608)
set(TINYOPS_BOARD_QSPI_ORIGIN 0x90000000)
set(TINYOPS_BOARD_QSPI_LENGTH 16777216)

# The same budgets on QEMU mps2-an386: code RAM (4 MB at 0) for the 2 MB flash,
# data RAM (4 MB at 0x20000000) for SRAM (same address) and CCM (right after
# it), the 16 MB PSRAM at 0x21000000 for SDRAM (8 MB) + QSPI (8 MB).
set(TINYOPS_QEMU_FLASH_ORIGIN 0x00000000)
set(TINYOPS_QEMU_FLASH_LENGTH 2097152)
set(TINYOPS_QEMU_FAST_ORIGIN 0x20050000)
set(TINYOPS_QEMU_FAST_LENGTH 65536)
set(TINYOPS_QEMU_SRAM_ORIGIN 0x20000000)
set(TINYOPS_QEMU_SRAM_LENGTH 327680)
set(TINYOPS_QEMU_SDRAM_ORIGIN 0x21000000)
set(TINYOPS_QEMU_SDRAM_LENGTH 8388608)
set(TINYOPS_QEMU_QSPI_ORIGIN 0x21800000)
set(TINYOPS_QEMU_QSPI_LENGTH 8388608)

# CCM (FASTRAM) is CPU-only: the DMA cannot reach it.
set(TINYOPS_FAST_DMA_REACHABLE OFF)
# The M4 GEMM keeps up to 40 KiB of unpacked pixels on the stack
# (csrc/kernels/arm/gemm_px_dsp.h, kGemmStackUnpackedBytes) beside its
# 192-pixel batches' pointer arrays: 52 KiB of the 64 KiB CCM (high-water
# 45 KB on the zoo's MobileNets), the rest for the allocator's fast tier.
# (32 KiB with a 24 KiB buffer: mbv3-w1.00-r160 1.4 M more modelled cycles,
# deep rows unpacking each channel pair's weights for twice as many pixel
# blocks.)
set(TINYOPS_PORT_STACK_SIZE 53248)

include(${CMAKE_CURRENT_LIST_DIR}/../common/firmware.cmake)
