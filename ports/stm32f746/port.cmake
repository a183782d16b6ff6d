# The stm32f746 port: board facts (core, clock, memory maps of the board and
# of its QEMU variant) and the shared build logic. Included by this port's
# CMakeLists.txt and by the CMakeLists.txt of firmware projects made with
# `tinyops new-project DIR --board stm32f746`, after their project() call.
set(TINYOPS_BOARD stm32f746)
set(TINYOPS_CORE_NAME cortex-m7)
set(TINYOPS_CORE_HZ 216000000)
set(TINYOPS_QEMU_MACHINE mps2-an500)
set(TINYOPS_BOARD_DEFINES TINYOPS_CORTEX_M7=1)
include(${CMAKE_CURRENT_LIST_DIR}/../common/stm32/stm32.cmake)
set(TINYOPS_BOARD_SOURCES ${CMAKE_CURRENT_LIST_DIR}/board.cc ${TINYOPS_STM32_SOURCES})

# Memory map of the board. DTCM (64 KB) + SRAM1 (240 KB) + SRAM2 (16 KB) are
# contiguous from 0x20000000 and all DMA-reachable, so the planner sees one
# 320 KB SRAM: FASTRAM = the first 24 KB of DTCM (the stack, where the M7
# GEMM keeps up to 19 KiB of unpacked pixels and weights), SRAM = the other
# 296 KB (the planner's 288 KB budget, firmware data, allocator pool: the
# 32 KB boards.py reserves hold the stack and 8 KB of firmware data). SDRAM
# is seen at 0x60000000 after the FMC bank swap (Normal, cacheable memory).
set(TINYOPS_BOARD_FLASH_ORIGIN 0x08000000)
set(TINYOPS_BOARD_FLASH_LENGTH 1048576)
set(TINYOPS_BOARD_FAST_ORIGIN 0x20000000)
set(TINYOPS_BOARD_FAST_LENGTH 24576)
set(TINYOPS_BOARD_SRAM_ORIGIN 0x20006000)
set(TINYOPS_BOARD_SRAM_LENGTH 303104)
set(TINYOPS_BOARD_SDRAM_ORIGIN 0x60000000)
set(TINYOPS_BOARD_SDRAM_LENGTH 8388608)
set(TINYOPS_BOARD_QSPI_ORIGIN 0x90000000)
set(TINYOPS_BOARD_QSPI_LENGTH 16777216)

# The same budgets on QEMU mps2-an500: code RAM (4 MB at 0) stands in for the
# 1 MB flash, data RAM (4 MB at 0x20000000) for DTCM + SRAM at the same
# addresses, the 16 MB PSRAM at 0x60000000 for SDRAM (8 MB) + QSPI (8 MB).
set(TINYOPS_QEMU_FLASH_ORIGIN 0x00000000)
set(TINYOPS_QEMU_FLASH_LENGTH 1048576)
set(TINYOPS_QEMU_FAST_ORIGIN 0x20000000)
set(TINYOPS_QEMU_FAST_LENGTH 24576)
set(TINYOPS_QEMU_SRAM_ORIGIN 0x20006000)
set(TINYOPS_QEMU_SRAM_LENGTH 303104)
set(TINYOPS_QEMU_SDRAM_ORIGIN 0x60000000)
set(TINYOPS_QEMU_SDRAM_LENGTH 8388608)
set(TINYOPS_QEMU_QSPI_ORIGIN 0x60800000)
set(TINYOPS_QEMU_QSPI_LENGTH 8388608)

# DTCM (FASTRAM) is reachable by DMA2 through the AHBS port.
set(TINYOPS_FAST_DMA_REACHABLE ON)
# The M7 GEMM keeps up to 19 KiB of unpacked pixels and channel-pair
# weights on the stack (csrc/kernels/arm/gemm_px_dsp.h,
# kGemmStackUnpackedBytes): the whole FASTRAM, 24 KiB of the DTCM.
set(TINYOPS_PORT_STACK_SIZE 24576)

include(${CMAKE_CURRENT_LIST_DIR}/../common/firmware.cmake)
