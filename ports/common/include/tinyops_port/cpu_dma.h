// The emulated variants' DMA engine: the CPU does the copy, behind the same
// DmaEngine interface as the STM32 DMA2 driver (stm32/dma2.cc), whose choices
// it mirrors: copies under 16 bytes and memory the DMA cannot reach (the
// F469's CCM) are CPU copies at start(); the rest moves in items of 4 bytes
// with INCR4 bursts when source and destination are 16-byte aligned, words
// when 4-byte aligned, bytes otherwise (always bytes, no bursts, with
// TINYOPS_DMA_BYTE_WIDE, as the TinyOps paper's firmware did), and the tail
// the bursts leave is copied by the CPU at start(). On the Cortex-M7 start()
// runs the same D-cache maintenance as the board driver.
//
// By default the DMA part is *deferred* until wait()/wait_all() (or until
// the queue is full, oldest first), so a scheduler that forgets a wait, or
// reuses a source before its copy completed, gets wrong bytes in emulation
// instead of passing by luck. Completion is in start order: wait(t)
// completes t and every copy started before it (as the hardware engine does).
//
// Every transfer is reported to the QEMU cycle model (dma_events.h), which
// costs it as the board's DMA would and leaves the CPU copy out of the CPU's
// time.
#pragma once
#include <cstdint>

#include "dma_partition/dma.h"

namespace tinyops_port {

class CpuCopyDma final : public tinyops::DmaEngine {
 public:
  // [cpu_only_start, cpu_only_end): addresses the DMA cannot reach.
  explicit CpuCopyDma(bool deferred = true, uint32_t cpu_only_start = 0, uint32_t cpu_only_end = 0)
      : deferred_(deferred), cpu_only_start_(cpu_only_start), cpu_only_end_(cpu_only_end) {}
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
  bool reachable(const void* p, uint32_t bytes) const;

  bool deferred_;
  uint32_t cpu_only_start_;
  uint32_t cpu_only_end_;
  Job queue_[kQueue] = {};
  int pending_ = 0;  // jobs in queue_[0 .. pending_)
  uint32_t next_id_ = 1;
  uint64_t bytes_copied_ = 0;
  uint32_t transfers_ = 0;
};

}  // namespace tinyops_port
