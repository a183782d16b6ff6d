#include "stm32/stm32_drivers.h"

#include "stm32/stm32_regs.h"
#include "tinyops_port/cortexm.h"

namespace tinyops_port {
namespace stm32 {

namespace {

constexpr uint32_t kTimeout = 2000000;

bool wait_set(uint32_t addr, uint32_t mask) {
  for (uint32_t i = 0; i < kTimeout; ++i) {
    if ((reg(addr) & mask) == mask) return true;
  }
  return false;
}

bool wait_clear(uint32_t addr, uint32_t mask) {
  for (uint32_t i = 0; i < kTimeout; ++i) {
    if ((reg(addr) & mask) == 0) return true;
  }
  return false;
}

}  // namespace

// ---- GPIO -----------------------------------------------------------------

void gpio_alternate(const PinGroup* groups, uint32_t count) {
  for (uint32_t g = 0; g < count; ++g) {
    const PinGroup& pg = groups[g];
    reg(rcc::kAhb1enr) |= 1u << (rcc::kAhb1GpioBase + pg.port);
    read_back(rcc::kAhb1enr);  // the enable takes two AHB cycles
    const uint32_t base = gpio::port(pg.port);
    for (uint32_t pin = 0; pin < 16; ++pin) {
      if (!(pg.pins & (1u << pin))) continue;
      reg(base + gpio::kModer) =
          (reg(base + gpio::kModer) & ~(3u << (2 * pin))) | (2u << (2 * pin));
      reg(base + gpio::kOtyper) &= ~(1u << pin);
      reg(base + gpio::kOspeedr) |= 3u << (2 * pin);
      reg(base + gpio::kPupdr) &= ~(3u << (2 * pin));
      const uint32_t afr = base + (pin < 8 ? gpio::kAfrl : gpio::kAfrh);
      const uint32_t shift = 4 * (pin & 7);
      reg(afr) = (reg(afr) & ~(0xFu << shift)) | (static_cast<uint32_t>(pg.af) << shift);
    }
  }
}

// ---- clocks -------------------------------------------------------------------

bool clock_init(const ClockConfig& cfg) {
  // HSE on.
  reg(rcc::kCr) |= rcc::kCrHseon | (cfg.hse_bypass ? rcc::kCrHsebyp : 0);
  if (!wait_set(rcc::kCr, rcc::kCrHserdy)) return false;

  // Regulator scale 1 (takes effect once the PLL runs).
  reg(rcc::kApb1enr) |= rcc::kApb1Pwr;
  read_back(rcc::kApb1enr);
  reg(pwr::kCr) = (reg(pwr::kCr) & ~(3u << 14)) | pwr::kCrVosScale1;

  // PLL: f = HSE / M * N / P.
  uint32_t pll = reg(rcc::kPllcfgr);
  pll &= ~((0x3Fu << 0) | (0x1FFu << 6) | (3u << 16) | (1u << 22) | (0xFu << 24));
  pll |= cfg.pllm | (cfg.plln << 6) | (((cfg.pllp / 2) - 1) << 16) | rcc::kPllSrcHse |
         (cfg.pllq << 24);
  if (cfg.pllr) pll = (pll & ~(7u << 28)) | (cfg.pllr << 28);
  reg(rcc::kPllcfgr) = pll;
  reg(rcc::kCr) |= rcc::kCrPllon;
  if (!wait_set(rcc::kCr, rcc::kCrPllrdy)) return false;

  // Over-drive: needed above 168 MHz (F469) / 180 MHz (F7).
  reg(pwr::kCr) |= pwr::kCrOden;
  if (!wait_set(pwr::kCsr, pwr::kCsrOdrdy)) return false;
  reg(pwr::kCr) |= pwr::kCrOdswen;
  if (!wait_set(pwr::kCsr, pwr::kCsrOdswrdy)) return false;

  // Flash wait states before the clock goes up; read back to be sure.
  uint32_t acr = cfg.flash_latency | flash::kAcrPrften;
  acr |= cfg.family == Family::kF4 ? (flash::kAcrF4Icen | flash::kAcrF4Dcen) : flash::kAcrF7Arten;
#if !TINYOPS_MUTATE_LATENCY_AFTER_SWITCH
  reg(flash::kAcr) = acr;
  if ((reg(flash::kAcr) & 0xFu) != cfg.flash_latency) return false;
#endif

  // AHB /1, APB1 /4, APB2 /2, then switch SYSCLK to the PLL.
  uint32_t cfgr = reg(rcc::kCfgr);
  cfgr &= ~((0xFu << 4) | (7u << 10) | (7u << 13));
  cfgr |= rcc::kCfgrPpre1Div4 | rcc::kCfgrPpre2Div2;
  reg(rcc::kCfgr) = cfgr;
  reg(rcc::kCfgr) = (reg(rcc::kCfgr) & ~3u) | rcc::kCfgrSwPll;
  for (uint32_t i = 0; i < kTimeout; ++i) {
    if ((reg(rcc::kCfgr) & (3u << 2)) == rcc::kCfgrSwsPll) {
#if TINYOPS_MUTATE_LATENCY_AFTER_SWITCH
      reg(flash::kAcr) = acr;  // mutation (tests only): wait states after the switch
#endif
      return true;
    }
  }
  return false;
}

void delay_us(uint32_t us, uint32_t core_hz) {
  cm::dwt_enable();
  const uint32_t start = cm::dwt_cycles();
  const uint32_t cycles = us * (core_hz / 1000000u);
  while (cm::dwt_cycles() - start < cycles) {
  }
}

// ---- FMC SDRAM ------------------------------------------------------------------

namespace {

bool sdram_command(uint32_t mode, uint32_t nrfs, uint32_t mrd) {
  if (!wait_clear(fmc::kSdsr, fmc::kSdsrBusy)) return false;
  reg(fmc::kSdcmr) = mode | fmc::kCmdBank1 | ((nrfs ? nrfs - 1 : 0) << 5) | (mrd << 9);
  return wait_clear(fmc::kSdsr, fmc::kSdsrBusy);
}

}  // namespace

bool sdram_init(const SdramConfig& cfg) {
  gpio_alternate(cfg.pins, cfg.num_pin_groups);
  if (cfg.swap_banks) {
    reg(rcc::kApb2enr) |= rcc::kApb2Syscfg;
    read_back(rcc::kApb2enr);
    reg(syscfg::kMemrmp) =
        (reg(syscfg::kMemrmp) & ~syscfg::kMemrmpSwpFmcMask) | syscfg::kMemrmpSwpFmc;
  }
  reg(rcc::kAhb3enr) |= rcc::kAhb3Fmc;
  read_back(rcc::kAhb3enr);

  // SDCLK, RBURST and RPIPE live in SDCR1 only; TRC and TRP in SDTR1 only.
  reg(fmc::kSdcr1) = cfg.sdcr;
  reg(fmc::kSdtr1) = cfg.sdtr;

  // JEDEC power-up: clock enable, >= 100 us, precharge all, auto-refresh
  // cycles, load mode register, then the refresh rate.
  if (!sdram_command(fmc::kModeClockEnable, 0, 0)) return false;
  delay_us(200, cfg.core_hz);
  if (!sdram_command(fmc::kModePall, 0, 0)) return false;
#if !TINYOPS_MUTATE_NO_SDRAM_AUTO_REFRESH  // mutation (tests only): no auto-refresh
  if (!sdram_command(fmc::kModeAutoRefresh, cfg.auto_refresh, 0)) return false;
#endif
  if (!sdram_command(fmc::kModeLoadMode, 0, cfg.mode_register)) return false;
  reg(fmc::kSdrtr) = (reg(fmc::kSdrtr) & ~(0x1FFFu << 1)) | (cfg.refresh_count << 1);
  if (!wait_clear(fmc::kSdsr, fmc::kSdsrBusy)) return false;

  // Walking test over address lines and a data pattern.
  volatile uint32_t* mem = reinterpret_cast<volatile uint32_t*>(cfg.base);
  const uint32_t words = cfg.bytes / 4;
  for (uint32_t off = 1; off < words; off <<= 1) mem[off] = off * 2654435761u;
  mem[0] = 0x5A5AA5A5u;
  for (uint32_t off = 1; off < words; off <<= 1) {
    if (mem[off] != off * 2654435761u) return false;
  }
  return mem[0] == 0x5A5AA5A5u;
}

// ---- QUADSPI -----------------------------------------------------------------------

namespace {

// N25Q128A commands.
constexpr uint32_t kResetEnable = 0x66;
constexpr uint32_t kResetMemory = 0x99;
constexpr uint32_t kWriteEnable = 0x06;
constexpr uint32_t kReadStatus = 0x05;
constexpr uint32_t kReadVolatileConfig = 0x85;
constexpr uint32_t kWriteVolatileConfig = 0x81;
constexpr uint32_t kQuadOutputFastRead = 0x6B;

bool qspi_done() {
  if (!wait_set(qspi::kSr, qspi::kSrTcf)) return false;
  reg(qspi::kFcr) = qspi::kFcrAll;
  return wait_clear(qspi::kSr, qspi::kSrBusy);
}

bool qspi_instruction(uint32_t instruction) {
  if (!wait_clear(qspi::kSr, qspi::kSrBusy)) return false;
  reg(qspi::kCcr) =
      qspi::ccr_instruction(instruction) | qspi::kImodeSingle | qspi::kFmodeIndirectWrite;
  return qspi_done();
}

bool qspi_read_register(uint32_t instruction, uint8_t* value) {
  if (!wait_clear(qspi::kSr, qspi::kSrBusy)) return false;
  reg(qspi::kDlr) = 0;  // one byte
  reg(qspi::kCcr) = qspi::ccr_instruction(instruction) | qspi::kImodeSingle | qspi::kDmodeSingle |
                    qspi::kFmodeIndirectRead;
  if (!wait_set(qspi::kSr, qspi::kSrTcf)) return false;
  *value = reg8(qspi::kDr);
  reg(qspi::kFcr) = qspi::kFcrAll;
  return wait_clear(qspi::kSr, qspi::kSrBusy);
}

bool qspi_write_register(uint32_t instruction, uint8_t value) {
  if (!wait_clear(qspi::kSr, qspi::kSrBusy)) return false;
  reg(qspi::kDlr) = 0;
  reg(qspi::kCcr) = qspi::ccr_instruction(instruction) | qspi::kImodeSingle | qspi::kDmodeSingle |
                    qspi::kFmodeIndirectWrite;
  reg8(qspi::kDr) = value;
  return qspi_done();
}

bool qspi_wait_ready() {
  for (uint32_t i = 0; i < 100000; ++i) {
    uint8_t sr = 0;
    if (!qspi_read_register(kReadStatus, &sr)) return false;
    if (!(sr & 1u)) return true;  // WIP clear
  }
  return false;
}

}  // namespace

bool qspi_memory_mapped_init(const QspiConfig& cfg) {
  gpio_alternate(cfg.pins, cfg.num_pin_groups);
  reg(rcc::kAhb3enr) |= rcc::kAhb3Qspi;
  read_back(rcc::kAhb3enr);
  reg(rcc::kAhb3rstr) |= rcc::kAhb3Qspi;
  reg(rcc::kAhb3rstr) &= ~rcc::kAhb3Qspi;

  reg(qspi::kCr) = (cfg.prescaler << 24) | (3u << 8) /* FTHRES: 4 bytes */ |
                   (cfg.sample_shift ? qspi::kCrSshift : 0);
  reg(qspi::kDcr) = ((cfg.flash_size_log2 - 1) << 16) | ((cfg.cs_high_cycles - 1) << 8);
  reg(qspi::kCr) |= qspi::kCrEn;

  // Reset the memory to a known state (it may be in a mode left by a loader).
  if (!qspi_instruction(kResetEnable) || !qspi_instruction(kResetMemory)) return false;
  delay_us(100, cfg.core_hz);
  if (!qspi_wait_ready()) return false;

  // Dummy cycles for fast reads live in the volatile configuration register [7:4].
  uint8_t vcr = 0;
  if (!qspi_read_register(kReadVolatileConfig, &vcr)) return false;
  vcr = static_cast<uint8_t>((vcr & 0x0F) | ((cfg.dummy_cycles & 0xF) << 4));
  if (!qspi_instruction(kWriteEnable)) return false;
  if (!qspi_write_register(kWriteVolatileConfig, vcr)) return false;
  if (!qspi_wait_ready()) return false;
  uint8_t check = 0;
  if (!qspi_read_register(kReadVolatileConfig, &check) || check != vcr) return false;

  // Memory-mapped: instruction and 24-bit address on one line, data on four.
  if (!wait_clear(qspi::kSr, qspi::kSrBusy)) return false;
#if TINYOPS_MUTATE_QSPI_DUMMY_CYCLES  // mutation (tests only): 2 dummy cycles short
  const uint32_t mapped_dummy = cfg.dummy_cycles - 2;
#else
  const uint32_t mapped_dummy = cfg.dummy_cycles;
#endif
  reg(qspi::kCcr) = qspi::ccr_instruction(kQuadOutputFastRead) | qspi::kImodeSingle |
                    qspi::kAdmodeSingle | qspi::kAdsize24 | qspi::ccr_dummy(mapped_dummy) |
                    qspi::kDmodeQuad | qspi::kFmodeMemoryMapped;
  return true;
}

// ---- USART ---------------------------------------------------------------------------

void usart_init(const UsartConfig& cfg) {
  const uint32_t brr = (cfg.pclk_hz + cfg.baud / 2) / cfg.baud;  // oversampling by 16
  if (cfg.v2) {
    reg(cfg.base + usart::kV2Cr1) = 0;
    reg(cfg.base + usart::kV2Brr) = brr;
    reg(cfg.base + usart::kV2Cr1) = usart::kCr1Te | usart::kCr1Re | usart::kV2Cr1Ue;
  } else {
    reg(cfg.base + usart::kV1Cr1) = 0;
    reg(cfg.base + usart::kV1Brr) = brr;
    reg(cfg.base + usart::kV1Cr1) = usart::kCr1Te | usart::kCr1Re | usart::kV1Cr1Ue;
  }
}

void usart_write(const UsartConfig& cfg, const char* data, uint32_t bytes) {
  const uint32_t status = cfg.base + (cfg.v2 ? usart::kV2Isr : usart::kV1Sr);
  const uint32_t tx = cfg.base + (cfg.v2 ? usart::kV2Tdr : usart::kV1Dr);
  for (uint32_t i = 0; i < bytes; ++i) {
    if (data[i] == '\n') {
      while (!(reg(status) & usart::kTxe)) {
      }
      reg(tx) = '\r';
    }
    while (!(reg(status) & usart::kTxe)) {
    }
    reg(tx) = static_cast<uint8_t>(data[i]);
  }
  while (!(reg(status) & usart::kTc)) {
  }
}

}  // namespace stm32
}  // namespace tinyops_port
