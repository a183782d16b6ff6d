// STM32F4 (RM0386, STM32F469) and STM32F7 (RM0385, STM32F746) peripheral
// registers used by the ports. Base addresses, offsets and bit positions are
// taken from the reference manuals; where the two families differ the
// difference is named. No vendor headers.
#pragma once
#include <cstdint>

namespace tinyops_port {
namespace stm32 {

inline volatile uint32_t& reg(uint32_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }
inline volatile uint8_t& reg8(uint32_t addr) { return *reinterpret_cast<volatile uint8_t*>(addr); }
// Reads a register for its side effect (e.g. the two-cycle delay after an RCC
// clock enable). `(void)reg(a)` would not read: a discarded volatile glvalue
// is not accessed in C++.
inline void read_back(uint32_t addr) {
  const uint32_t v = reg(addr);
  (void)v;
}

// ---- base addresses (identical on F469 and F746) ---------------------------
constexpr uint32_t kPwr = 0x40007000;
constexpr uint32_t kUsart3 = 0x40004800;
constexpr uint32_t kUsart1 = 0x40011000;
constexpr uint32_t kSyscfg = 0x40013800;
constexpr uint32_t kGpioA = 0x40020000;  // GPIOx = kGpioA + 0x400 * x (A..K)
constexpr uint32_t kRcc = 0x40023800;
constexpr uint32_t kFlashIf = 0x40023C00;
constexpr uint32_t kDma2 = 0x40026400;
constexpr uint32_t kFmc = 0xA0000000;
constexpr uint32_t kQspi = 0xA0001000;

// ---- RCC --------------------------------------------------------------------
namespace rcc {
constexpr uint32_t kCr = kRcc + 0x00;
constexpr uint32_t kPllcfgr = kRcc + 0x04;
constexpr uint32_t kCfgr = kRcc + 0x08;
constexpr uint32_t kAhb1rstr = kRcc + 0x10;
constexpr uint32_t kAhb3rstr = kRcc + 0x18;
constexpr uint32_t kAhb1enr = kRcc + 0x30;
constexpr uint32_t kAhb3enr = kRcc + 0x38;
constexpr uint32_t kApb1enr = kRcc + 0x40;
constexpr uint32_t kApb2enr = kRcc + 0x44;

constexpr uint32_t kCrHseon = 1u << 16;
constexpr uint32_t kCrHserdy = 1u << 17;
constexpr uint32_t kCrHsebyp = 1u << 18;
constexpr uint32_t kCrPllon = 1u << 24;
constexpr uint32_t kCrPllrdy = 1u << 25;

// PLLCFGR: PLLM[5:0] PLLN[14:6] PLLP[17:16] PLLSRC[22] PLLQ[27:24] PLLR[30:28]
constexpr uint32_t kPllSrcHse = 1u << 22;

// CFGR: SW[1:0] SWS[3:2] HPRE[7:4] PPRE1[12:10] PPRE2[15:13]
constexpr uint32_t kCfgrSwPll = 2u;
constexpr uint32_t kCfgrSwsPll = 2u << 2;
constexpr uint32_t kCfgrPpre1Div4 = 5u << 10;
constexpr uint32_t kCfgrPpre2Div2 = 4u << 13;

constexpr uint32_t kAhb1GpioBase = 0;  // GPIOAEN..GPIOKEN = bits 0..10
constexpr uint32_t kAhb1Dma2 = 1u << 22;
constexpr uint32_t kAhb3Fmc = 1u << 0;
constexpr uint32_t kAhb3Qspi = 1u << 1;
constexpr uint32_t kApb1Usart3 = 1u << 18;
constexpr uint32_t kApb1Pwr = 1u << 28;
constexpr uint32_t kApb2Usart1 = 1u << 4;
constexpr uint32_t kApb2Syscfg = 1u << 14;
}  // namespace rcc

// ---- PWR (PWR_CR / PWR_CR1 and PWR_CSR / PWR_CSR1) ---------------------------
namespace pwr {
constexpr uint32_t kCr = kPwr + 0x00;
constexpr uint32_t kCsr = kPwr + 0x04;
constexpr uint32_t kCrVosScale1 = 3u << 14;
constexpr uint32_t kCrOden = 1u << 16;
constexpr uint32_t kCrOdswen = 1u << 17;
constexpr uint32_t kCsrOdrdy = 1u << 16;
constexpr uint32_t kCsrOdswrdy = 1u << 17;
}  // namespace pwr

// ---- embedded flash interface ------------------------------------------------
namespace flash {
constexpr uint32_t kAcr = kFlashIf + 0x00;
// F4: PRFTEN 8, ICEN 9, DCEN 10.  F7: PRFTEN 8, ARTEN 9.
constexpr uint32_t kAcrPrften = 1u << 8;
constexpr uint32_t kAcrF4Icen = 1u << 9;
constexpr uint32_t kAcrF4Dcen = 1u << 10;
constexpr uint32_t kAcrF7Arten = 1u << 9;
}  // namespace flash

// ---- SYSCFG --------------------------------------------------------------------
namespace syscfg {
constexpr uint32_t kMemrmp = kSyscfg + 0x00;
constexpr uint32_t kMemrmpSwpFmcMask = 3u << 10;  // F7: SDRAM banks <-> NOR/PSRAM banks
constexpr uint32_t kMemrmpSwpFmc = 1u << 10;
}  // namespace syscfg

// ---- GPIO ------------------------------------------------------------------------
namespace gpio {
constexpr uint32_t port(uint32_t index) { return kGpioA + 0x400 * index; }
constexpr uint32_t kModer = 0x00;
constexpr uint32_t kOtyper = 0x04;
constexpr uint32_t kOspeedr = 0x08;
constexpr uint32_t kPupdr = 0x0C;
constexpr uint32_t kAfrl = 0x20;
constexpr uint32_t kAfrh = 0x24;
enum Port : uint32_t { A = 0, B, C, D, E, F, G, H, I, J, K };
}  // namespace gpio

// ---- FMC SDRAM controller (banks 5/6 registers) ------------------------------------
namespace fmc {
constexpr uint32_t kSdcr1 = kFmc + 0x140;
constexpr uint32_t kSdcr2 = kFmc + 0x144;
constexpr uint32_t kSdtr1 = kFmc + 0x148;
constexpr uint32_t kSdtr2 = kFmc + 0x14C;
constexpr uint32_t kSdcmr = kFmc + 0x150;
constexpr uint32_t kSdrtr = kFmc + 0x154;
constexpr uint32_t kSdsr = kFmc + 0x158;
// SDCR: NC[1:0] NR[3:2] MWID[5:4] NB[6] CAS[8:7] WP[9] SDCLK[11:10] RBURST[12] RPIPE[14:13]
// SDTR: TMRD[3:0] TXSR[7:4] TRAS[11:8] TRC[15:12] TWR[19:16] TRP[23:20] TRCD[27:24] (cycles-1)
// SDCMR: MODE[2:0] CTB2[3] CTB1[4] NRFS[8:5] MRD[21:9]
constexpr uint32_t kModeClockEnable = 1;
constexpr uint32_t kModePall = 2;
constexpr uint32_t kModeAutoRefresh = 3;
constexpr uint32_t kModeLoadMode = 4;
constexpr uint32_t kCmdBank1 = 1u << 4;
constexpr uint32_t kCmdBank2 = 1u << 3;
constexpr uint32_t kSdsrBusy = 1u << 5;
}  // namespace fmc

// ---- QUADSPI --------------------------------------------------------------------------
namespace qspi {
constexpr uint32_t kCr = kQspi + 0x00;
constexpr uint32_t kDcr = kQspi + 0x04;
constexpr uint32_t kSr = kQspi + 0x08;
constexpr uint32_t kFcr = kQspi + 0x0C;
constexpr uint32_t kDlr = kQspi + 0x10;
constexpr uint32_t kCcr = kQspi + 0x14;
constexpr uint32_t kAr = kQspi + 0x18;
constexpr uint32_t kDr = kQspi + 0x20;
constexpr uint32_t kCrEn = 1u << 0;
constexpr uint32_t kCrAbort = 1u << 1;
constexpr uint32_t kCrSshift = 1u << 4;
constexpr uint32_t kSrTcf = 1u << 1;
constexpr uint32_t kSrFtf = 1u << 2;
constexpr uint32_t kSrBusy = 1u << 5;
constexpr uint32_t kFcrAll = 0x1Bu;  // CTEF CTCF CSMF CTOF
// CCR fields
constexpr uint32_t ccr_instruction(uint32_t i) { return i & 0xFF; }
constexpr uint32_t kImodeSingle = 1u << 8;
constexpr uint32_t kAdmodeSingle = 1u << 10;
constexpr uint32_t kAdsize24 = 2u << 12;
constexpr uint32_t ccr_dummy(uint32_t n) { return (n & 0x1F) << 18; }
constexpr uint32_t kDmodeSingle = 1u << 24;
constexpr uint32_t kDmodeQuad = 3u << 24;
constexpr uint32_t kFmodeIndirectWrite = 0u << 26;
constexpr uint32_t kFmodeIndirectRead = 1u << 26;
constexpr uint32_t kFmodeMemoryMapped = 3u << 26;
}  // namespace qspi

// ---- DMA2 -------------------------------------------------------------------------------
namespace dma {
constexpr uint32_t kLisr = kDma2 + 0x00;
constexpr uint32_t kHisr = kDma2 + 0x04;
constexpr uint32_t kLifcr = kDma2 + 0x08;
constexpr uint32_t kHifcr = kDma2 + 0x0C;
constexpr uint32_t scr(uint32_t s) { return kDma2 + 0x10 + 0x18 * s; }
constexpr uint32_t sndtr(uint32_t s) { return kDma2 + 0x14 + 0x18 * s; }
constexpr uint32_t spar(uint32_t s) { return kDma2 + 0x18 + 0x18 * s; }
constexpr uint32_t sm0ar(uint32_t s) { return kDma2 + 0x1C + 0x18 * s; }
constexpr uint32_t sfcr(uint32_t s) { return kDma2 + 0x24 + 0x18 * s; }
// Flag bit offset of stream s inside LISR/HISR (and LIFCR/HIFCR).
constexpr uint32_t flag_shift(uint32_t s) {
  return (s & 3) == 0 ? 0 : (s & 3) == 1 ? 6 : (s & 3) == 2 ? 16 : 22;
}
constexpr uint32_t kFlagFeif = 1u << 0;
constexpr uint32_t kFlagDmeif = 1u << 2;
constexpr uint32_t kFlagTeif = 1u << 3;
constexpr uint32_t kFlagHtif = 1u << 4;
constexpr uint32_t kFlagTcif = 1u << 5;
constexpr uint32_t kFlagAll = 0x3Du;
// SxCR
constexpr uint32_t kCrEn = 1u << 0;
constexpr uint32_t kCrDmeie = 1u << 1;
constexpr uint32_t kCrTeie = 1u << 2;
constexpr uint32_t kCrTcie = 1u << 4;
constexpr uint32_t kCrDirM2M = 2u << 6;
constexpr uint32_t kCrPinc = 1u << 9;
constexpr uint32_t kCrMinc = 1u << 10;
constexpr uint32_t cr_psize(uint32_t log2_bytes) { return log2_bytes << 11; }
constexpr uint32_t cr_msize(uint32_t log2_bytes) { return log2_bytes << 13; }
constexpr uint32_t kCrPlHigh = 2u << 16;
constexpr uint32_t kCrPburstIncr4 = 1u << 21;
constexpr uint32_t kCrMburstIncr4 = 1u << 23;
// SxFCR
constexpr uint32_t kFcrFthFull = 3u;
constexpr uint32_t kFcrDmdis = 1u << 2;
// IRQ numbers of the streams.
constexpr uint32_t irq(uint32_t s) { return s < 5 ? 56 + s : 68 + (s - 5); }
}  // namespace dma

// ---- USART ------------------------------------------------------------------------------
// F4 USART (v1): SR 0x00 (TXE 7, TC 6), DR 0x04, BRR 0x08, CR1 0x0C (UE 13, TE 3, RE 2)
// F7 USART (v2): CR1 0x00 (UE 0, RE 2, TE 3), BRR 0x0C, ISR 0x1C (TXE 7, TC 6), TDR 0x28
namespace usart {
constexpr uint32_t kV1Sr = 0x00, kV1Dr = 0x04, kV1Brr = 0x08, kV1Cr1 = 0x0C;
constexpr uint32_t kV1Cr1Ue = 1u << 13;
constexpr uint32_t kV2Cr1 = 0x00, kV2Brr = 0x0C, kV2Isr = 0x1C, kV2Tdr = 0x28;
constexpr uint32_t kV2Cr1Ue = 1u << 0;
constexpr uint32_t kCr1Te = 1u << 3;
constexpr uint32_t kCr1Re = 1u << 2;
constexpr uint32_t kTxe = 1u << 7;
constexpr uint32_t kTc = 1u << 6;
}  // namespace usart

}  // namespace stm32
}  // namespace tinyops_port
