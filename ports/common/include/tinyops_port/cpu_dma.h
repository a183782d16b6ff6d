// The emulated variants' DMA engine: the CPU does the copy, behind the same
// DmaEngine interface as the STM32 DMA2 driver.
//
// By default copies are *deferred* until wait()/wait_all() (or until the
// queue is full, oldest first), so a scheduler that forgets a wait, or
// reuses a source before its copy completed, gets wrong bytes in emulation
// instead of passing by luck. Completion is in start order: wait(t) completes
// t and every copy started before it (as the hardware engine does).
#pragma once
#include <cstdint>

#include "dma_partition/dma.h"

namespace tinyops_port {

class CpuCopyDma final : public tinyops::DmaEngine {
 public:
  explicit CpuCopyDma(bool deferred = true) : deferred_(deferred) {}
  tinyops::DmaTicket start(void* dst, const void* src, uint32_t bytes) override;
  void wait(tinyops::DmaTicket ticket) override;
  void wait_all() override;

  uint64_t bytes_copied() const { return bytes_copied_; }
  uint32_t transfers() const { return transfers_; }

 private:
  struct Job {
    uint32_t id;
    uint8_t* dst;
    const uint8_t* src;
    uint32_t bytes;
  };
  static constexpr int kQueue = 16;
  void run(int slot);

  bool deferred_;
  Job queue_[kQueue] = {};
  int pending_ = 0;          // jobs in queue_[0 .. pending_)
  uint32_t next_id_ = 1;
  uint64_t bytes_copied_ = 0;
  uint32_t transfers_ = 0;
};

}  // namespace tinyops_port
