// STM32F469I-DISCO: Cortex-M4F at 180 MHz (8 MHz HSE), MT48LC4M32B2 SDRAM on a
// 32-bit FMC bus at 90 MHz (CAS 3, 8 MB used) at 0xC0000000, N25Q128A 16 MB
// QSPI NOR memory-mapped at 0x90000000 (90 MHz), console on USART3
// (PB10/PB11, the ST-LINK virtual COM port) at 115200 8N1.
#include <cstdint>

#include "stm32/stm32_board.h"
#include "stm32/stm32_regs.h"

namespace tinyops_port {

namespace {

using namespace stm32;

constexpr uint32_t kCoreHz = 180000000;
constexpr uint32_t kApb1Hz = kCoreHz / 4;

// f = 8 MHz / 8 * 360 / 2 = 180 MHz; Q = 7, R = 6 (DSI) as on reset-safe values.
constexpr ClockConfig kClockCfg = {Family::kF4, false, 8, 360, 2, 7, 6, 5};

// FMC SDRAM pins (AF12): SDNWE PC0, SDCKE0/SDNE0 PH2/PH3, D0..D31, A0..A11,
// BA0/BA1, NBL0..NBL3, SDCLK, SDNCAS, SDNRAS.
constexpr PinGroup kSdramPins[] = {
    {gpio::C, 0x0001, 12}, {gpio::D, 0xC703, 12},  // 0 1 8 9 10 14 15
    {gpio::E, 0xFF83, 12},                         // 0 1 7..15
    {gpio::F, 0xF83F, 12},                         // 0..5 11..15
    {gpio::G, 0x8133, 12},                         // 0 1 4 5 8 15
    {gpio::H, 0xFF0C, 12},                         // 2 3 8..15
    {gpio::I, 0x06FF, 12},                         // 0..7 9 10
};

// SDCR1: 8 column bits (NC=0), 12 row bits (NR=1), 32-bit (MWID=2), 4 banks,
// CAS 3, SDCLK = HCLK/2, read burst, no read pipe delay.
constexpr uint32_t kSdcr = (0u << 0) | (1u << 2) | (2u << 4) | (1u << 6) | (3u << 7) | (2u << 10) |
                           (1u << 12) | (0u << 13);
// SDTR1 at 90 MHz (11.1 ns): TMRD 2, TXSR 7, TRAS 4, TRC 7, TWR 2, TRP 2, TRCD 2.
constexpr uint32_t kSdtr =
    (1u << 0) | (6u << 4) | (3u << 8) | (6u << 12) | (1u << 16) | (1u << 20) | (1u << 24);
// Mode register: burst length 1, sequential, CAS 3, standard, single write burst.
constexpr uint32_t kSdramMode = 0x0230;
// 64 ms / 4096 rows = 15.625 us * 90 MHz = 1406 cycles, minus 20 of margin.
constexpr uint32_t kSdramRefresh = 1386;

constexpr SdramConfig kSdramCfg = {kSdramPins, sizeof(kSdramPins) / sizeof(kSdramPins[0]),
                                   kSdcr,      kSdtr,
                                   kSdramMode, kSdramRefresh,
                                   8,          false,
                                   0xC0000000, 8u << 20,
                                   kCoreHz};

// QUADSPI bank 1 pins: IO3 PF6 (AF9), IO2 PF7 (AF9), IO0 PF8 (AF10), IO1 PF9 (AF10),
// CLK PF10 (AF9), NCS PB6 (AF10).
constexpr PinGroup kQspiPins[] = {
    {gpio::F, (1u << 6) | (1u << 7) | (1u << 10), 9},
    {gpio::F, (1u << 8) | (1u << 9), 10},
    {gpio::B, 1u << 6, 10},
};
// 180 MHz / 2 = 90 MHz, 16 MB, CS high 2 cycles, 10 dummy cycles.
constexpr QspiConfig kQspiCfg = {
    kQspiPins, sizeof(kQspiPins) / sizeof(kQspiPins[0]), 1, 24, 2, false, 10, kCoreHz};

// ST-LINK VCP: USART3 TX PB10 / RX PB11, AF7.
constexpr PinGroup kUartPins[] = {{gpio::B, (1u << 10) | (1u << 11), 7}};
constexpr UsartConfig kUartCfg = {kUsart3, false, kApb1Hz, 115200};

}  // namespace

namespace stm32 {

const Stm32Board& stm32_board() {
  static constexpr Stm32Board kBoard = {
      kCoreHz, kClockCfg, rcc::kApb1enr, rcc::kApb1Usart3, kUartPins, 1, kUartCfg, kSdramCfg,
      kQspiCfg,
      false,  // no caches (Cortex-M4)
      // DMA2 streams 0 and 1; CCM (0x10000000, 64 KB) is CPU-only.
      Dma2Engine::Config{{0, 1}, true, false, 0x10000000, 0x10010000, 5}};
  return kBoard;
}

}  // namespace stm32
}  // namespace tinyops_port
