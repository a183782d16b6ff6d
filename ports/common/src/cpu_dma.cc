#include "tinyops_port/cpu_dma.h"

#include <cstring>

#include "tinyops_port/cortexm.h"
#include "tinyops_port/dma_events.h"

#ifndef TINYOPS_DMA_BYTE_WIDE
#define TINYOPS_DMA_BYTE_WIDE 0
#endif

namespace tinyops_port {

bool CpuCopyDma::reachable(const void* p, uint32_t bytes) const {
  const uint32_t a = reinterpret_cast<uint32_t>(p);
  return a + bytes <= cpu_only_start_ || a >= cpu_only_end_;
}

void CpuCopyDma::run(int slot) {
  const Job job = queue_[slot];
  for (int i = slot; i + 1 < pending_; ++i) queue_[i] = queue_[i + 1];
  --pending_;
  // The DMA engine's work: the cycle model leaves this copy out of CPU time.
  tinyops_dma_event(TINYOPS_DMA_EV_COPY_BEGIN, job.id, 0, 0, 0);
  std::memmove(job.dst, job.src, job.bytes);
  tinyops_dma_event(TINYOPS_DMA_EV_COPY_END, job.id, 0, 0, 0);
#if defined(TINYOPS_CORTEX_M7)
  // The board driver's completion (Dma2Engine::finish).
  cm::dcache_after_dma(job.dst, job.bytes);
#endif
  bytes_copied_ += job.bytes;
}

tinyops::DmaTicket CpuCopyDma::start(void* dst_p, const void* src_p, uint32_t bytes) {
  auto* dst = static_cast<uint8_t*>(dst_p);
  const auto* src = static_cast<const uint8_t*>(src_p);
  uint32_t id = next_id_++;
  if (id == 0) id = next_id_++;
  ++transfers_;
  if (bytes == 0) return tinyops::DmaTicket{id};

  // As the board driver: small copies and unreachable memory go by CPU.
  if (bytes < 16 || !reachable(dst, bytes) || !reachable(src, bytes)) {
    std::memmove(dst, src, bytes);
    bytes_copied_ += bytes;
    return tinyops::DmaTicket{id};
  }
  const uint32_t a = reinterpret_cast<uint32_t>(dst) | reinterpret_cast<uint32_t>(src);
  bool burst = (a & 15u) == 0;
  uint32_t unit_log2 = (a & 3u) == 0 ? 2 : 0;
  if (TINYOPS_DMA_BYTE_WIDE) {
    burst = false;
    unit_log2 = 0;
  }
  const uint32_t dma_bytes = burst ? (bytes & ~15u) : (bytes & ~((1u << unit_log2) - 1));
  if (dma_bytes < bytes) {
    std::memmove(dst + dma_bytes, src + dma_bytes, bytes - dma_bytes);
    bytes_copied_ += bytes - dma_bytes;
  }
#if defined(TINYOPS_CORTEX_M7)
  // The board driver's cache maintenance (QEMU ignores the operations; the
  // instructions cost the same as on the board).
  cm::dcache_prepare_dma(src, dst, dma_bytes, bytes);
#endif
  tinyops_dma_event(TINYOPS_DMA_EV_START | (unit_log2 << 8) | (burst ? 1u << 10 : 0u), id,
                    reinterpret_cast<uint32_t>(dst), reinterpret_cast<uint32_t>(src), dma_bytes);
  if (pending_ == kQueue) run(0);
  queue_[pending_++] = Job{id, dst, src, dma_bytes};
  if (!deferred_) run(pending_ - 1);
  return tinyops::DmaTicket{id};
}

void CpuCopyDma::wait(tinyops::DmaTicket ticket) {
  tinyops_dma_event(TINYOPS_DMA_EV_WAIT, ticket.id, 0, 0, 0);
  // Completion is in start order: waiting for a ticket completes it and every
  // copy started before it (the engine's scheduler waits only for the last
  // of several copies). Later copies stay pending, so a missing wait still
  // shows as wrong bytes.
  while (pending_ > 0 && static_cast<int32_t>(queue_[0].id - ticket.id) <= 0) run(0);
}

void CpuCopyDma::wait_all() {
  tinyops_dma_event(TINYOPS_DMA_EV_WAIT, 0, 1, 0, 0);
  while (pending_ > 0) run(0);
}

}  // namespace tinyops_port
