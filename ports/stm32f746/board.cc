// STM32F746G-DISCO: Cortex-M7 at 216 MHz (25 MHz HSE), 4 KB I- and D-cache,
// MT48LC4M32B2 SDRAM on a 16-bit FMC bus at 108 MHz (CAS 3, 8 MB) with the FMC
// banks swapped so it appears (cacheable, Normal memory) at 0x60000000,
// N25Q128A 16 MB QSPI NOR memory-mapped at 0x90000000 (108 MHz), console on
// USART1 (PA9/PB7, the ST-LINK virtual COM port) at 115200 8N1.
#include <cstdint>

#include "stm32/stm32_board.h"
#include "stm32/stm32_regs.h"

namespace tinyops_port {

namespace {

using namespace stm32;

constexpr uint32_t kCoreHz = 216000000;
constexpr uint32_t kApb2Hz = kCoreHz / 2;

// f = 25 MHz / 25 * 432 / 2 = 216 MHz; Q = 9 (48 MHz). 7 wait states.
constexpr ClockConfig kClockCfg = {Family::kF7, false, 25, 432, 2, 9, 0, 7};

// FMC SDRAM pins (AF12): SDCKE0 PC3, SDNE0 PH3, SDNWE PH5, D0..D15, A0..A11,
// BA0/BA1, NBL0/NBL1, SDCLK, SDNCAS, SDNRAS.
constexpr PinGroup kSdramPins[] = {
    {gpio::C, 1u << 3, 12},
    {gpio::D, 0xC703, 12},  // 0 1 8 9 10 14 15
    {gpio::E, 0xFF83, 12},  // 0 1 7..15
    {gpio::F, 0xF83F, 12},  // 0..5 11..15
    {gpio::G, 0x8133, 12},  // 0 1 4 5 8 15
    {gpio::H, (1u << 3) | (1u << 5), 12},
};

// SDCR1: 8 column bits, 12 row bits, 16-bit (MWID=1), 4 banks, CAS 3,
// SDCLK = HCLK/2 (108 MHz), read burst, no read pipe delay.
// The board's MT48LC4M32B2B5-6A allows CAS latency 2 only down to a 10 ns
// clock (100 MHz; data sheet AC table, tCK(2)); at 108 MHz (9.26 ns) it needs
// CL = 3 (tCK(3) >= 6 ns). CAS 2 here was out of specification (found by the
// board model, tinyops_tflm/firmware/boardmodel/fmc_sdram.py).
constexpr uint32_t kSdcr = (0u << 0) | (1u << 2) | (1u << 4) | (1u << 6) | (3u << 7) | (2u << 10) |
                           (1u << 12) | (0u << 13);
// SDTR1 at 108 MHz (9.26 ns), each >= the -6A minimum: TMRD 2 (2 clocks),
// TXSR 8 (74 ns >= 70), TRAS 5 (46 ns >= 42), TRC 7 (65 ns >= 60), TWR 2
// (18.5 ns >= 12), TRP 2 (18.5 >= 18), TRCD 2 (18.5 >= 18). TXSR 7 and TRAS 4
// (64.8 / 37 ns) were too short at this clock.
constexpr uint32_t kSdtr =
    (1u << 0) | (7u << 4) | (4u << 8) | (6u << 12) | (1u << 16) | (1u << 20) | (1u << 24);
// Mode register: burst length 1, sequential, CAS 3, standard, single write burst.
constexpr uint32_t kSdramMode = 0x0230;
// 64 ms / 4096 rows = 15.625 us * 108 MHz = 1687 cycles, minus 20 of margin.
constexpr uint32_t kSdramRefresh = 1667;

constexpr SdramConfig kSdramCfg = {kSdramPins, sizeof(kSdramPins) / sizeof(kSdramPins[0]),
                                   kSdcr,      kSdtr,
                                   kSdramMode, kSdramRefresh,
                                   8,          true,
                                   0x60000000, 8u << 20,
                                   kCoreHz};

// QUADSPI bank 1 pins: CLK PB2 (AF9), NCS PB6 (AF10), IO0 PD11, IO1 PD12,
// IO3 PD13 (AF9), IO2 PE2 (AF9).
constexpr PinGroup kQspiPins[] = {
    {gpio::B, 1u << 2, 9},
    {gpio::B, 1u << 6, 10},
    {gpio::D, (1u << 11) | (1u << 12) | (1u << 13), 9},
    {gpio::E, 1u << 2, 9},
};
// 216 MHz / 2 = 108 MHz, 16 MB, CS high 6 cycles, half-cycle sample shift,
// 10 dummy cycles for 0x6B.
constexpr QspiConfig kQspiCfg = {
    kQspiPins, sizeof(kQspiPins) / sizeof(kQspiPins[0]), 1, 24, 6, true, 10, kCoreHz};

// ST-LINK VCP: USART1 TX PA9 / RX PB7, AF7.
constexpr PinGroup kUartPins[] = {{gpio::A, 1u << 9, 7}, {gpio::B, 1u << 7, 7}};
constexpr UsartConfig kUartCfg = {kUsart1, true, kApb2Hz, 115200};

}  // namespace

namespace stm32 {

const Stm32Board& stm32_board() {
  static constexpr Stm32Board kBoard = {
      kCoreHz, kClockCfg, rcc::kApb2enr, rcc::kApb2Usart1, kUartPins, 2, kUartCfg, kSdramCfg,
      kQspiCfg,
      true,  // caches
      // DMA2 streams 0 and 1, cache maintenance around every transfer; every
      // memory is DMA-reachable (DTCM through the AHBS port).
      Dma2Engine::Config{{0, 1}, true, true, 0, 0, 5}};
  return kBoard;
}

}  // namespace stm32
}  // namespace tinyops_port
