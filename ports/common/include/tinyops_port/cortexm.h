// Cortex-M4/M7 system registers used by the ports, written from the ARMv7-M
// Architecture Reference Manual (System Control Space) and the Cortex-M7 TRM
// (cache maintenance). Addresses and bit positions only; no CMSIS.
#pragma once
#include <cstdint>

namespace tinyops_port {
namespace cm {

inline volatile uint32_t& reg(uint32_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }

// System Control Block.
constexpr uint32_t kScbVtor = 0xE000ED08;
constexpr uint32_t kScbCcr = 0xE000ED14;   // configuration and control
constexpr uint32_t kScbCfsr = 0xE000ED28;  // configurable fault status
constexpr uint32_t kScbHfsr = 0xE000ED2C;
constexpr uint32_t kScbMmfar = 0xE000ED34;
constexpr uint32_t kScbBfar = 0xE000ED38;
constexpr uint32_t kScbCcsidr = 0xE000ED80;  // cache size id (M7)
constexpr uint32_t kScbCsselr = 0xE000ED84;  // cache size selection (M7)
constexpr uint32_t kScbCpacr = 0xE000ED88;   // coprocessor access control
constexpr uint32_t kScbShcsr = 0xE000ED24;
constexpr uint32_t kCcrDc = 1u << 16;  // D-cache enable (M7)
constexpr uint32_t kCcrIc = 1u << 17;  // I-cache enable (M7)

// Cache maintenance operations (M7), write the address / set-way.
constexpr uint32_t kIciallu = 0xE000EF50;
constexpr uint32_t kDcimvac = 0xE000EF5C;   // invalidate by address to PoC
constexpr uint32_t kDcisw = 0xE000EF60;     // invalidate by set/way
constexpr uint32_t kDccmvac = 0xE000EF68;   // clean by address to PoC
constexpr uint32_t kDccimvac = 0xE000EF70;  // clean+invalidate by address
constexpr uint32_t kDccisw = 0xE000EF74;    // clean+invalidate by set/way
constexpr uint32_t kCacheLine = 32;

// NVIC.
constexpr uint32_t kNvicIser = 0xE000E100;
constexpr uint32_t kNvicIcer = 0xE000E180;
constexpr uint32_t kNvicIcpr = 0xE000E280;
constexpr uint32_t kNvicIpr = 0xE000E400;

// SysTick.
constexpr uint32_t kSystCsr = 0xE000E010;
constexpr uint32_t kSystRvr = 0xE000E014;
constexpr uint32_t kSystCvr = 0xE000E018;

// Debug: DWT cycle counter.
constexpr uint32_t kDemcr = 0xE000EDFC;
constexpr uint32_t kDemcrTrcena = 1u << 24;
constexpr uint32_t kDwtCtrl = 0xE0001000;
constexpr uint32_t kDwtCyccnt = 0xE0001004;
constexpr uint32_t kDwtLar = 0xE0001FB0;  // lock access (M7)
constexpr uint32_t kDwtCtrlCyccntena = 1u;

inline void dsb() { __asm volatile("dsb 0xF" ::: "memory"); }
inline void isb() { __asm volatile("isb 0xF" ::: "memory"); }
inline void dmb() { __asm volatile("dmb 0xF" ::: "memory"); }
inline void wfi() { __asm volatile("wfi"); }
inline void enable_irq() { __asm volatile("cpsie i" ::: "memory"); }
inline void disable_irq() { __asm volatile("cpsid i" ::: "memory"); }

// `priority` 0 (highest) .. 15: STM32 implements the top 4 bits of each byte.
inline void nvic_enable(uint32_t irq, uint8_t priority) {
  reinterpret_cast<volatile uint8_t*>(kNvicIpr)[irq] = static_cast<uint8_t>(priority << 4);
  reg(kNvicIcpr + 4 * (irq / 32)) = 1u << (irq % 32);
  reg(kNvicIser + 4 * (irq / 32)) = 1u << (irq % 32);
}

// CP10/CP11 full access; must run before any floating-point instruction.
inline void enable_fpu() {
  reg(kScbCpacr) |= (0xFu << 20);
  dsb();
  isb();
}

inline void dwt_enable() {
  reg(kDemcr) |= kDemcrTrcena;
  reg(kDwtLar) = 0xC5ACCE55;  // unlock (needed on M7, ignored on M4)
  reg(kDwtCyccnt) = 0;
  reg(kDwtCtrl) |= kDwtCtrlCyccntena;
}
inline uint32_t dwt_cycles() { return reg(kDwtCyccnt); }

// ---- Cortex-M7 L1 caches ---------------------------------------------------

// Invalidates the whole D-cache by set/way using the geometry in CCSIDR.
inline void dcache_invalidate_all_setway(bool clean) {
  reg(kScbCsselr) = 0;  // level 1 data cache
  dsb();
  const uint32_t ccsidr = reg(kScbCcsidr);
  const uint32_t sets = ((ccsidr >> 13) & 0x7FFF) + 1;
  const uint32_t ways = ((ccsidr >> 3) & 0x3FF) + 1;
  const uint32_t line_shift = (ccsidr & 0x7) + 4;
  uint32_t way_shift = 32;
  for (uint32_t w = ways - 1; w; w >>= 1) --way_shift;  // 32 - ceil(log2(ways))
  for (uint32_t s = 0; s < sets; ++s) {
    for (uint32_t w = 0; w < ways; ++w) {
      const uint32_t sw = (w << way_shift) | (s << line_shift);
      reg(clean ? kDccisw : kDcisw) = ways > 1 ? sw : (s << line_shift);
    }
  }
  dsb();
}

inline void icache_enable() {
  dsb();
  isb();
  reg(kIciallu) = 0;
  dsb();
  isb();
  reg(kScbCcr) |= kCcrIc;
  dsb();
  isb();
}

inline void dcache_enable() {
  dcache_invalidate_all_setway(false);
  reg(kScbCcr) |= kCcrDc;
  dsb();
  isb();
}

inline bool dcache_enabled() { return (reg(kScbCcr) & kCcrDc) != 0; }

// Clean (write back) every line overlapping [addr, addr + bytes).
inline void dcache_clean(const void* addr, uint32_t bytes) {
  if (bytes == 0) return;
  uint32_t a = reinterpret_cast<uint32_t>(addr) & ~(kCacheLine - 1);
  const uint32_t end = reinterpret_cast<uint32_t>(addr) + bytes;
  dsb();
  for (; a < end; a += kCacheLine) reg(kDccmvac) = a;
  dsb();
  isb();
}

// The STM32F746's D-cache (CCSIDR 0xF003E019, Cortex-M7 TRM "Identification
// of the caches"): 32 sets x 4 ways x 32-byte lines. A board fact, not read
// from CCSIDR at run time: QEMU's Cortex-M7 does not report it, and the
// emulated firmware must take the board's code path. A port for another
// Cortex-M7 part sets its own geometry here.
constexpr uint32_t kDcacheSets = 32;
constexpr uint32_t kDcacheWays = 4;
constexpr uint32_t kDcacheBytes = kDcacheSets * kDcacheWays * kCacheLine;

// Clean + invalidate every line by set/way: 128 writes, however large the
// range they stand for. Maintenance by address costs one write per 32-byte
// line, so a DMA transfer of more bytes than the cache holds takes this
// instead (dcache_prepare_dma / dcache_after_dma). Single core: set/way
// operations reach every line that can hold the range.
inline void dcache_clean_invalidate_all() {
  dsb();
  for (uint32_t s = 0; s < kDcacheSets * kCacheLine; s += kCacheLine) {
    reg(kDccisw) = s;
    reg(kDccisw) = s | (1u << 30);
    reg(kDccisw) = s | (2u << 30);
    reg(kDccisw) = s | (3u << 30);
  }
  dsb();
  isb();
}

// Invalidate the lines of [addr, addr + bytes). Partial lines at either edge
// hold bytes outside the range: those are cleaned and invalidated instead so
// neighbouring data is never lost.
inline void dcache_invalidate(void* addr, uint32_t bytes) {
  if (bytes == 0) return;
  const uint32_t start = reinterpret_cast<uint32_t>(addr);
  const uint32_t end = start + bytes;
  uint32_t a = start & ~(kCacheLine - 1);
  dsb();
  for (; a < end; a += kCacheLine) {
    const bool partial = a < start || a + kCacheLine > end;
    reg(partial ? kDccimvac : kDcimvac) = a;
  }
  dsb();
  isb();
}

// Before a DMA copy of `bytes` from src to dst: the source written back to
// memory, no line of the destination left in the cache (clean + invalidate,
// so the CPU's bytes sharing an edge line are kept). Ranges larger than the
// cache go by set/way.
inline void dcache_prepare_dma(const void* src, void* dst, uint32_t src_bytes, uint32_t dst_bytes) {
  if (src_bytes + dst_bytes > kDcacheBytes) {
    dcache_clean_invalidate_all();
    return;
  }
  dcache_clean(src, src_bytes);
  uint32_t l = reinterpret_cast<uint32_t>(dst) & ~(kCacheLine - 1);
  const uint32_t end = reinterpret_cast<uint32_t>(dst) + dst_bytes;
  dsb();
  for (; l < end; l += kCacheLine) reg(kDccimvac) = l;
  dsb();
}

// After a DMA copy into [dst, dst + bytes): lines the core may have fetched
// speculatively while it ran are dropped. By set/way (clean + invalidate: no
// line of the destination is dirty, it was invalidated before the copy and
// the CPU does not write it meanwhile) when the range is larger than the cache.
inline void dcache_after_dma(void* dst, uint32_t bytes) {
  if (bytes > kDcacheBytes) {
    dcache_clean_invalidate_all();
    return;
  }
  dcache_invalidate(dst, bytes);
}

}  // namespace cm
}  // namespace tinyops_port
