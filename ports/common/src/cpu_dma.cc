#include "tinyops_port/cpu_dma.h"

#include <cstring>

namespace tinyops_port {

void CpuCopyDma::run(int slot) {
  const Job job = queue_[slot];
  for (int i = slot; i + 1 < pending_; ++i) queue_[i] = queue_[i + 1];
  --pending_;
  std::memmove(job.dst, job.src, job.bytes);
  bytes_copied_ += job.bytes;
}

tinyops::DmaTicket CpuCopyDma::start(void* dst, const void* src, uint32_t bytes) {
  const uint32_t id = next_id_++;
  ++transfers_;
  if (!deferred_) {
    std::memmove(dst, src, bytes);
    bytes_copied_ += bytes;
    return tinyops::DmaTicket{id};
  }
  if (pending_ == kQueue) run(0);
  queue_[pending_++] = Job{id, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), bytes};
  return tinyops::DmaTicket{id};
}

void CpuCopyDma::wait(tinyops::DmaTicket ticket) {
  // Completion is in start order: waiting for a ticket completes it and every
  // copy started before it (the engine's scheduler waits only for the last
  // of several copies). Later copies stay pending, so a missing wait still
  // shows as wrong bytes.
  while (pending_ > 0 && static_cast<int32_t>(queue_[0].id - ticket.id) <= 0) run(0);
}

void CpuCopyDma::wait_all() {
  while (pending_ > 0) run(0);
}

}  // namespace tinyops_port
