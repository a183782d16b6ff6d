// What the STM32 discovery ports share in board.cc: the bring-up order
// (clocks, console, cycle counter, SDRAM, QSPI, caches, DMA) and the board
// API of tinyops_port/board.h (stm32_board.cc). Each port's board.cc holds
// only its facts: pins, timings and peripherals, as one Stm32Board.
#pragma once
#include <cstdint>

#include "stm32/dma2.h"
#include "stm32/stm32_drivers.h"

namespace tinyops_port {
namespace stm32 {

struct Stm32Board {
  uint32_t core_hz;
  ClockConfig clock;
  // Console: its USART's clock enable (register, bit), pins and settings.
  uint32_t uart_enable_reg;
  uint32_t uart_enable_bit;
  const PinGroup* uart_pins;
  uint32_t uart_pin_groups;
  UsartConfig uart;
  SdramConfig sdram;
  QspiConfig qspi;
  // Cortex-M7: I- and D-cache on once the external memories passed their
  // self-tests (which must reach the chips, not the cache).
  bool caches;
  Dma2Engine::Config dma;
};

// The port's facts (its board.cc).
const Stm32Board& stm32_board();

}  // namespace stm32
}  // namespace tinyops_port
