// The DMA engine interface the tile scheduler moves data with.
//
// start() queues a copy and returns at once; the copy is only guaranteed
// complete after wait() on its ticket (or wait_all()). Copies complete in the
// order they were started, so waiting on a ticket also waits for every copy
// started before it. Source and destination never overlap. Implementations: a
// synchronous memcpy engine and an asynchronous worker-thread engine on the
// host (csrc/host/host_dma.*), STM32 DMA2 memory-to-memory streams
// and a CPU-copy engine in firmware (ports/).
#pragma once
#include <cstdint>

namespace tinyops {

struct DmaTicket {
  uint32_t id;
};

class DmaEngine {
 public:
  virtual DmaTicket start(void* dst, const void* src, uint32_t bytes) = 0;
  virtual void wait(DmaTicket ticket) = 0;
  virtual void wait_all() = 0;

  // Where compute sits between copies: the executor announces each op and the
  // scheduler each kernel call (`work` = output elements of the tile). Engines
  // that move data ignore them; a tracing engine records them so a timing
  // model can replay the schedule (host: TracingDma).
  virtual void note_op(uint32_t op) { (void)op; }
  virtual void note_kernel(uint64_t work) { (void)work; }

 protected:
  // Engines live in caller-owned storage; never deleted through this type.
  ~DmaEngine() = default;
};

}  // namespace tinyops
