#include "stm32/dma2.h"

#include <cstring>

#include "stm32/stm32_regs.h"
#include "tinyops_port/cortexm.h"

#ifndef TINYOPS_DMA_BYTE_WIDE
#define TINYOPS_DMA_BYTE_WIDE 0
#endif

namespace tinyops_port {
namespace stm32 {

namespace {

Dma2Engine* g_engine = nullptr;
int g_slot_of_stream[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

constexpr uint32_t kMaxItems = 65535;

uint32_t status_reg(uint32_t stream) { return stream < 4 ? dma::kLisr : dma::kHisr; }
uint32_t clear_reg(uint32_t stream) { return stream < 4 ? dma::kLifcr : dma::kHifcr; }

uint32_t stream_flags(uint32_t stream) {
  return (reg(status_reg(stream)) >> dma::flag_shift(stream)) & dma::kFlagAll;
}
void clear_flags(uint32_t stream) {
  reg(clear_reg(stream)) = dma::kFlagAll << dma::flag_shift(stream);
}

void irq_for_stream(uint32_t stream) {
  const int slot = g_slot_of_stream[stream];
  if (g_engine && slot >= 0) g_engine->on_interrupt(slot);
  else clear_flags(stream);
}

}  // namespace

void Dma2Engine::init(const Config& cfg) {
  cfg_ = cfg;
  g_engine = this;
  reg(rcc::kAhb1enr) |= rcc::kAhb1Dma2;
  read_back(rcc::kAhb1enr);
  for (int s = 0; s < 2; ++s) {
    const uint32_t stream = cfg.streams[s];
    reg(dma::scr(stream)) = 0;
    while (reg(dma::scr(stream)) & dma::kCrEn) {
    }
    clear_flags(stream);
    slots_[s] = Slot{};
    g_slot_of_stream[stream] = s;
    if (cfg.use_interrupts) cm::nvic_enable(dma::irq(stream), cfg.irq_priority);
  }
  if (cfg.use_interrupts) cm::enable_irq();
}

bool Dma2Engine::reachable(const void* p, uint32_t bytes) const {
  const uint32_t a = reinterpret_cast<uint32_t>(p);
  return a + bytes <= cfg_.cpu_only_start || a >= cfg_.cpu_only_end;
}

void Dma2Engine::program_chunk(int s) {
  Slot& slot = slots_[s];
  const uint32_t stream = cfg_.streams[s];
  uint32_t items = slot.remaining >> slot.unit_log2;
  if (items > kMaxItems) items = slot.burst ? (kMaxItems & ~3u) : kMaxItems;
  const uint32_t bytes = items << slot.unit_log2;

  clear_flags(stream);
  // In memory-to-memory mode the "peripheral" port is the source.
  reg(dma::spar(stream)) = reinterpret_cast<uint32_t>(slot.src);
  reg(dma::sm0ar(stream)) = reinterpret_cast<uint32_t>(slot.dst);
  reg(dma::sndtr(stream)) = items;
  reg(dma::sfcr(stream)) = dma::kFcrDmdis | dma::kFcrFthFull;
  uint32_t cr = dma::kCrDirM2M | dma::kCrPinc | dma::kCrMinc | dma::cr_psize(slot.unit_log2) |
                dma::cr_msize(slot.unit_log2) | dma::kCrPlHigh;
  if (slot.burst) cr |= dma::kCrPburstIncr4 | dma::kCrMburstIncr4;
  if (cfg_.use_interrupts) cr |= dma::kCrTcie | dma::kCrTeie | dma::kCrDmeie;
  slot.src += bytes;
  slot.dst += bytes;
  slot.remaining -= bytes;
  dma_bytes_ += bytes;
  cm::dsb();
  reg(dma::scr(stream)) = cr;
  reg(dma::scr(stream)) = cr | dma::kCrEn;
}

void Dma2Engine::finish(int s) {
  Slot& slot = slots_[s];
#if !TINYOPS_MUTATE_NO_DCACHE_INVALIDATE  // mutation (tests only): no invalidate after the copy
  if (cfg_.cache_maintenance) cm::dcache_after_dma(slot.dst_start, slot.dst_bytes);
#endif
  slot.id = 0;
}

void Dma2Engine::service(int s) {
  Slot& slot = slots_[s];
  const uint32_t stream = cfg_.streams[s];
  const uint32_t flags = stream_flags(stream);
  if (flags & (dma::kFlagTeif | dma::kFlagDmeif)) {
    // Transfer error: stop the stream and finish the rest by CPU, so data is
    // never silently missing.
    reg(dma::scr(stream)) = 0;
    while (reg(dma::scr(stream)) & dma::kCrEn) {
    }
    clear_flags(stream);
    ++errors_;
    const uint32_t left = reg(dma::sndtr(stream)) << slot.unit_log2;
    const uint32_t total_left = left + slot.remaining;
    uint8_t* dst = slot.dst - left;
    const uint8_t* src = slot.src - left;
    if (cfg_.cache_maintenance) cm::dcache_invalidate(dst, total_left);
    std::memcpy(dst, src, total_left);
    if (cfg_.cache_maintenance) cm::dcache_clean(dst, total_left);
    cpu_bytes_ += total_left;
    slot.remaining = 0;
    finish(s);
    return;
  }
  if (!(flags & dma::kFlagTcif)) return;
  clear_flags(stream);
  if (slot.remaining) {
    program_chunk(s);
  } else {
    finish(s);
  }
}

void Dma2Engine::on_interrupt(int s) { service(s); }

void Dma2Engine::wait_slot(int s) {
  while (slots_[s].id != 0) {
    if (cfg_.use_interrupts) {
      // The ISR chains chunks; sleep until it runs. Interrupts are masked
      // around the check so a completion between check and WFI still wakes us.
      cm::disable_irq();
      if (slots_[s].id != 0) cm::wfi();
      cm::enable_irq();
    } else {
      service(s);
    }
  }
}

tinyops::DmaTicket Dma2Engine::start(void* dst_p, const void* src_p, uint32_t bytes) {
  auto* dst = static_cast<uint8_t*>(dst_p);
  const auto* src = static_cast<const uint8_t*>(src_p);
  uint32_t id = next_id_++;
  if (id == 0) id = next_id_++;  // 0 marks an idle slot
  if (bytes == 0) return tinyops::DmaTicket{id};

  if (!reachable(dst, bytes) || !reachable(src, bytes) || bytes < 16) {
    std::memmove(dst, src, bytes);
    cpu_bytes_ += bytes;
    return tinyops::DmaTicket{id};
  }

  // A free stream, else wait for the older transfer.
  int s = slots_[0].id == 0 ? 0 : slots_[1].id == 0 ? 1 : -1;
  if (s < 0) {
    s = static_cast<int32_t>(slots_[0].id - slots_[1].id) < 0 ? 0 : 1;
    wait_slot(s);
  }

  const uint32_t a = reinterpret_cast<uint32_t>(dst) | reinterpret_cast<uint32_t>(src);
  Slot& slot = slots_[s];
  slot.burst = (a & 15u) == 0;
#if TINYOPS_MUTATE_DMA_WORD_WIDTH
  // Mutation (tests only): word items whatever the alignment.
  slot.unit_log2 = 2;
#else
  slot.unit_log2 = (a & 3u) == 0 ? 2 : 0;
#endif
#if TINYOPS_DMA_BYTE_WIDE
  // Byte items, no bursts: the TinyOps paper's firmware setting.
  slot.burst = false;
  slot.unit_log2 = 0;
#endif
  const uint32_t dma_bytes = slot.burst ? (bytes & ~15u) : (bytes & ~((1u << slot.unit_log2) - 1));
  // The CPU copies the tail now; it is cleaned below with the rest.
  if (dma_bytes < bytes) {
    std::memcpy(dst + dma_bytes, src + dma_bytes, bytes - dma_bytes);
    cpu_bytes_ += bytes - dma_bytes;
  }
  // The destination's clean + invalidate also writes back the CPU tail.
#if TINYOPS_MUTATE_NO_DCACHE_CLEAN  // mutation (tests only): the source is not cleaned
  if (cfg_.cache_maintenance) cm::dcache_prepare_dma(src, dst, 0, bytes);
#else
  if (cfg_.cache_maintenance) cm::dcache_prepare_dma(src, dst, dma_bytes, bytes);
#endif
  slot.src = src;
  slot.dst = dst;
  slot.remaining = dma_bytes;
  slot.dst_start = dst;
  slot.dst_bytes = dma_bytes;
  slot.id = id;
  if (cfg_.use_interrupts) cm::disable_irq();
  program_chunk(s);
  if (cfg_.use_interrupts) cm::enable_irq();
  return tinyops::DmaTicket{id};
}

void Dma2Engine::wait(tinyops::DmaTicket ticket) {
  // In-order completion: the ticket and every transfer started before it.
  for (int s = 0; s < 2; ++s) {
    const uint32_t id = slots_[s].id;
    if (id != 0 && static_cast<int32_t>(id - ticket.id) <= 0) wait_slot(s);
  }
}

void Dma2Engine::wait_all() {
  wait_slot(0);
  wait_slot(1);
}

}  // namespace stm32
}  // namespace tinyops_port

extern "C" {
void DMA2_Stream0_IRQHandler() { tinyops_port::stm32::irq_for_stream(0); }
void DMA2_Stream1_IRQHandler() { tinyops_port::stm32::irq_for_stream(1); }
void DMA2_Stream2_IRQHandler() { tinyops_port::stm32::irq_for_stream(2); }
void DMA2_Stream3_IRQHandler() { tinyops_port::stm32::irq_for_stream(3); }
}
