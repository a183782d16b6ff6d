// STM32F4/F7 DMA2 memory-to-memory engine behind tinyops::DmaEngine.
//
// Two streams work in parallel (a third start() waits for the older one).
// Each transfer is split into chunks of at most 65535 items: word items with
// 4-beat bursts (INCR4, FIFO threshold full) when source and destination are
// both 16-byte aligned, single words when both are word aligned, bytes
// otherwise (always bytes, no bursts, with TINYOPS_DMA_BYTE_WIDE: the TinyOps
// paper's setting); the tail the chunking leaves (< 16 bytes) is copied by the CPU
// before the stream starts. Completion is signalled by the transfer-complete
// interrupt (which also chains the next chunk) or found by polling in wait().
// wait(t) returns when t and every transfer started before it are complete.
//
// Cortex-M7 (D-cache on): start() cleans the source lines and cleans +
// invalidates the destination lines; completion invalidates the destination
// again (lines the core may have speculatively refetched); a transfer larger
// than the 4 KB cache cleans + invalidates the whole cache by set/way instead
// (128 writes rather than one per line: cortexm.h). Destinations should
// be 32-byte aligned and sized: the edge lines of an unaligned destination are
// cleaned, so the CPU must not write their other bytes while a copy runs.
//
// Addresses the DMA cannot reach (the F469's CCM) are copied by the CPU.
// A transfer error (TEIF/DMEIF) completes the copy by CPU too and is counted.
#pragma once
#include <cstdint>

#include "dma_partition/dma.h"

namespace tinyops_port {
namespace stm32 {

class Dma2Engine final : public tinyops::DmaEngine {
 public:
  struct Config {
    uint8_t streams[2];       // DMA2 streams to use (any: all do memory-to-memory)
    bool use_interrupts;      // false: completion by polling in wait()
    bool cache_maintenance;   // Cortex-M7 with D-cache enabled
    uint32_t cpu_only_start;  // [start, end) not reachable by DMA (F469 CCM)
    uint32_t cpu_only_end;
    uint8_t irq_priority;  // 0 (highest) .. 15
  };

  void init(const Config& cfg);
  tinyops::DmaTicket start(void* dst, const void* src, uint32_t bytes) override;
  void wait(tinyops::DmaTicket ticket) override;
  void wait_all() override;

  // Called from DMA2_StreamN_IRQHandler.
  void on_interrupt(int slot);

  uint32_t transfer_errors() const { return errors_; }
  uint64_t bytes_by_dma() const { return dma_bytes_; }
  uint64_t bytes_by_cpu() const { return cpu_bytes_; }

 private:
  struct Slot {
    volatile uint32_t id;  // 0: idle
    uint8_t* dst;          // next chunk
    const uint8_t* src;
    uint32_t remaining;  // bytes still to program (DMA part)
    uint32_t unit_log2;  // 0 byte, 2 word
    bool burst;
    uint8_t* dst_start;  // whole transfer, for the final invalidate
    uint32_t dst_bytes;
  };

  bool reachable(const void* p, uint32_t bytes) const;
  void program_chunk(int slot);
  void service(int slot);  // handle a finished chunk (IRQ or polling)
  void finish(int slot);
  void wait_slot(int slot);

  Config cfg_{};
  Slot slots_[2] = {};
  uint32_t next_id_ = 1;
  uint32_t errors_ = 0;
  uint64_t dma_bytes_ = 0;
  uint64_t cpu_bytes_ = 0;
};

}  // namespace stm32
}  // namespace tinyops_port
