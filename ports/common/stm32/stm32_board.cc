// The board API (tinyops_port/board.h) of the STM32 discovery ports, over
// each port's facts (stm32_board.h).
#include "stm32/stm32_board.h"

#include "stm32/stm32_regs.h"
#include "tinyops_port/board.h"
#include "tinyops_port/console.h"
#include "tinyops_port/cortexm.h"

namespace tinyops_port {

namespace {

using namespace stm32;

// The console's clock before the PLL runs (HSI).
constexpr uint32_t kHsiHz = 16000000;

Dma2Engine g_dma;
bool g_console_ready = false;

}  // namespace

void board_init() {
  const Stm32Board& b = stm32_board();
  const bool clock_ok = clock_init(b.clock);
  // Console first so the rest can report.
  reg(b.uart_enable_reg) |= b.uart_enable_bit;
  read_back(b.uart_enable_reg);
  gpio_alternate(b.uart_pins, b.uart_pin_groups);
  usart_init(clock_ok ? b.uart : UsartConfig{b.uart.base, b.uart.v2, kHsiHz, b.uart.baud});
  g_console_ready = true;
  if (!clock_ok) {
    console_printf("\nFATAL: HSE/PLL did not start (%u MHz)\n",
                   static_cast<unsigned>(b.core_hz / 1000000u));
  }
  cm::dwt_enable();
  if (!sdram_init(b.sdram)) {
    console_puts("\nFATAL: SDRAM init/test failed\n");
    board_exit(10);
  }
  if (!qspi_memory_mapped_init(b.qspi)) {
    console_puts("\nFATAL: QSPI memory-mapped init failed\n");
    board_exit(11);
  }
  if (b.caches) {
    cm::icache_enable();
    cm::dcache_enable();
  }
  g_dma.init(b.dma);
}

const BoardInfo& board_info() {
  static const BoardInfo info{TINYOPS_BOARD_NAME, TINYOPS_CORE_NAME, stm32_board().core_hz, false};
  return info;
}

void console_write(const char* data, uint32_t bytes) {
  if (g_console_ready) usart_write(stm32_board().uart, data, bytes);
}

uint32_t cycle_count() { return cm::dwt_cycles(); }

tinyops::DmaEngine& dma_engine() { return g_dma; }

void board_exit(int code) {
  console_printf("\n[exit %d] halted\n", code);
  for (;;) cm::wfi();
}

}  // namespace tinyops_port
