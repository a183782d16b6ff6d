// What every firmware variant (hardware board or QEMU model) provides to the
// shared startup code and runner.
#pragma once
#include <cstdint>

#include "dma_partition/dma.h"

namespace tinyops_port {

struct BoardInfo {
  const char* name;              // "stm32f746", "stm32f746-qemu", ...
  const char* core;              // "cortex-m7"
  uint32_t core_hz;              // clock the cycle counts are converted at
  bool cycles_are_instructions;  // true on QEMU: counts come from the TCG plugin
};

// Called by the reset handler after .data/.bss of internal RAM are set up and
// before the external-memory sections are copied/zeroed: clocks, flash wait
// states, caches, FMC SDRAM, QSPI memory-mapped mode, console.
void board_init();
const BoardInfo& board_info();

// Console output (UART on hardware, semihosting on QEMU).
void console_write(const char* data, uint32_t bytes);

// Free-running cycle counter (DWT CYCCNT on hardware; 0 on QEMU, where the
// TCG plugin counts instructions between op markers instead).
uint32_t cycle_count();

// The DMA engine the engine's scheduler moves tiles with.
tinyops::DmaEngine& dma_engine();

// Ends the program: QEMU exits with `code`; hardware prints and halts.
[[noreturn]] void board_exit(int code);

}  // namespace tinyops_port

// Called at every op boundary (and at the start and end of the run) with a
// marker number. It is a real, never-inlined function so the QEMU plugin can
// watch its address; on hardware it does nothing.
extern "C" void tinyops_op_marker(uint32_t marker);
