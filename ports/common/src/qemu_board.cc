// The emulated boards (QEMU mps2-an386 for the Cortex-M4F port, mps2-an500 for
// the Cortex-M7 port): console and exit through Arm semihosting, the CPU-copy
// DMA engine (reporting its transfers to the QEMU cycle model), no cycle
// counter (the TCG plugin counts instructions and models cycles between op
// markers instead). Memory budgets come from the linker script.
#include <cstdint>

#include "tinyops_port/board.h"
#include "tinyops_port/cortexm.h"
#include "tinyops_port/cpu_dma.h"

#ifndef TINYOPS_BOARD_NAME
#error "TINYOPS_BOARD_NAME must be defined by the build"
#endif
#ifndef TINYOPS_CORE_NAME
#error "TINYOPS_CORE_NAME must be defined by the build"
#endif
#ifndef TINYOPS_CORE_HZ
#error "TINYOPS_CORE_HZ must be defined by the build"
#endif

namespace tinyops_port {
namespace {

// Arm semihosting operations.
constexpr uint32_t kSysOpen = 0x01;
constexpr uint32_t kSysWrite = 0x05;
constexpr uint32_t kSysWrite0 = 0x04;
constexpr uint32_t kSysExitExtended = 0x20;
constexpr uint32_t kAdpStoppedApplicationExit = 0x20026;

uint32_t semihost(uint32_t op, const void* arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void* r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int g_stdout = -1;

#ifndef TINYOPS_QEMU_DMA_DEFERRED
#define TINYOPS_QEMU_DMA_DEFERRED 1
#endif
#ifndef TINYOPS_QEMU_CPU_ONLY_START
#define TINYOPS_QEMU_CPU_ONLY_START 0u
#define TINYOPS_QEMU_CPU_ONLY_END 0u
#endif
// The CPU-only range is the stand-in of the F469's CCM (none on the F746).
CpuCopyDma g_dma(TINYOPS_QEMU_DMA_DEFERRED != 0, TINYOPS_QEMU_CPU_ONLY_START,
                 TINYOPS_QEMU_CPU_ONLY_END);

}  // namespace

void board_init() {
#if defined(TINYOPS_CORTEX_M7)
  // QEMU accepts (and ignores) the cache controls; enabling them runs the
  // same code paths as the board.
  cm::icache_enable();
  cm::dcache_enable();
#endif
  const char* tt = ":tt";
  const uint32_t open_args[3] = {reinterpret_cast<uint32_t>(tt), 4 /* "w" */, 3};
  g_stdout = static_cast<int>(semihost(kSysOpen, open_args));
}

const BoardInfo& board_info() {
  static const BoardInfo info{TINYOPS_BOARD_NAME, TINYOPS_CORE_NAME, TINYOPS_CORE_HZ, true};
  return info;
}

void console_write(const char* data, uint32_t bytes) {
  if (bytes == 0) return;
  if (g_stdout < 0) {
    // Before board_init (or if :tt failed): character-wise, NUL-terminated chunks.
    char chunk[65];
    while (bytes) {
      uint32_t n = bytes < 64 ? bytes : 64;
      for (uint32_t i = 0; i < n; ++i) chunk[i] = data[i] ? data[i] : ' ';
      chunk[n] = 0;
      semihost(kSysWrite0, chunk);
      data += n;
      bytes -= n;
    }
    return;
  }
  const uint32_t args[3] = {static_cast<uint32_t>(g_stdout), reinterpret_cast<uint32_t>(data),
                            bytes};
  semihost(kSysWrite, args);
}

uint32_t cycle_count() { return 0; }

tinyops::DmaEngine& dma_engine() { return g_dma; }

void board_exit(int code) {
  const uint32_t args[2] = {kAdpStoppedApplicationExit, static_cast<uint32_t>(code)};
  for (;;) semihost(kSysExitExtended, args);
}

}  // namespace tinyops_port
