// Register-level drivers shared by the STM32F469 and STM32F746 ports: clocks,
// GPIO alternate functions, FMC SDRAM, QUADSPI memory-mapped mode and USART.
// Each board file (ports/<board>/board.cc) passes its own configuration.
#pragma once
#include <cstdint>

namespace tinyops_port {
namespace stm32 {

enum class Family : uint8_t { kF4, kF7 };

// Pins of one GPIO port put in one alternate function (very high speed,
// push-pull, no pull).
struct PinGroup {
  uint8_t port;   // gpio::Port
  uint16_t pins;  // bit mask
  uint8_t af;     // alternate function number
};
void gpio_alternate(const PinGroup* groups, uint32_t count);

// HSE -> PLL -> SYSCLK, over-drive on, flash wait states, AHB/1 APB1/4 APB2/2.
struct ClockConfig {
  Family family;
  bool hse_bypass;
  uint32_t pllm, plln, pllp, pllq, pllr;  // pllr 0: not programmed (no PLLR)
  uint32_t flash_latency;                 // wait states at the target clock
};
// False when the HSE or the PLL never becomes ready (then the core keeps
// running from the 16 MHz HSI).
bool clock_init(const ClockConfig& cfg);

// Busy-waits about `us` microseconds at `core_hz` (DWT cycle counter).
void delay_us(uint32_t us, uint32_t core_hz);

// FMC SDRAM on bank 1 (SDNE0/SDCKE0).
struct SdramConfig {
  const PinGroup* pins;
  uint32_t num_pin_groups;
  uint32_t sdcr;           // SDCR1 value (geometry, width, CAS, clock, burst)
  uint32_t sdtr;           // SDTR1 value (timings)
  uint32_t mode_register;  // SDRAM load-mode-register value
  uint32_t refresh_count;  // SDRTR COUNT
  uint32_t auto_refresh;   // auto-refresh commands in the init sequence
  bool swap_banks;         // F7: SYSCFG SWP_FMC so SDRAM appears at 0x60000000
  uint32_t base;           // where the CPU sees bank 1 afterwards
  uint32_t bytes;
  uint32_t core_hz;
};
// Runs the JEDEC init sequence and checks a walking pattern; false on
// timeout or a pattern mismatch.
bool sdram_init(const SdramConfig& cfg);

// QUADSPI + Micron N25Q128A in memory-mapped quad-output fast read (0x6B).
struct QspiConfig {
  const PinGroup* pins;
  uint32_t num_pin_groups;
  uint32_t prescaler;        // QSPI clock = HCLK / (prescaler + 1)
  uint32_t flash_size_log2;  // 24 for 16 MB
  uint32_t cs_high_cycles;   // CSHT + 1
  bool sample_shift;         // SSHIFT: sample half a cycle later
  uint32_t dummy_cycles;     // written to the flash's volatile config register
  uint32_t core_hz;
};
bool qspi_memory_mapped_init(const QspiConfig& cfg);

// USART, 8N1, TX only. v2 = the F7 register layout.
struct UsartConfig {
  uint32_t base;
  bool v2;
  uint32_t pclk_hz;
  uint32_t baud;
};
void usart_init(const UsartConfig& cfg);
void usart_write(const UsartConfig& cfg, const char* data, uint32_t bytes);

}  // namespace stm32
}  // namespace tinyops_port
