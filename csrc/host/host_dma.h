// Host DMA engines (not built into firmware).
//   SyncDma:  start() copies at once; wait() is a no-op.
//   AsyncDma: a worker thread performs each copy `delay_us` after start(), in
//             start order; wait() blocks until the ticket's copy is done. A
//             schedule that reads a buffer before waiting for it gets stale
//             bytes, so tests run on this engine.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "dma_partition/dma.h"

namespace tinyops {

class SyncDma final : public DmaEngine {
 public:
  DmaTicket start(void* dst, const void* src, uint32_t bytes) override;
  void wait(DmaTicket) override {}
  void wait_all() override {}
  uint64_t bytes_moved() const { return bytes_; }

 private:
  uint32_t next_ = 1;
  uint64_t bytes_ = 0;
};

class AsyncDma final : public DmaEngine {
 public:
  explicit AsyncDma(uint32_t delay_us = 20);
  ~AsyncDma();
  AsyncDma(const AsyncDma&) = delete;
  AsyncDma& operator=(const AsyncDma&) = delete;

  DmaTicket start(void* dst, const void* src, uint32_t bytes) override;
  void wait(DmaTicket ticket) override;
  void wait_all() override;

 private:
  struct Job {
    void* dst;
    const void* src;
    uint32_t bytes;
    uint32_t id;
  };
  void worker();

  uint32_t delay_us_;
  std::mutex mu_;
  std::condition_variable queued_, done_;
  std::deque<Job> jobs_;
  uint32_t issued_ = 0;
  std::atomic<uint32_t> completed_{0};
  std::atomic<uint32_t> pending_{0};  // jobs queued and not yet taken
  bool stop_ = false;
  std::thread thread_;
};

// Copies at start() like SyncDma and records the run's timeline: op
// boundaries, copies (source, destination, bytes), waits and kernel calls, in
// order. The latency estimator replays it on a board's timing model
// (tinyops_tflm.estimate), so its DMA overlap is the schedule's own.
class TracingDma final : public DmaEngine {
 public:
  enum Kind : uint32_t { kOp = 0, kKernel = 1, kStart = 2, kWait = 3, kWaitAll = 4 };
  struct Event {
    uint32_t kind;
    uint32_t id;      // op index (kOp), ticket (kStart, kWait)
    uint64_t work;    // kernel work (kKernel), bytes (kStart)
    const void* src;  // kStart
    void* dst;        // kStart
  };

  DmaTicket start(void* dst, const void* src, uint32_t bytes) override;
  void wait(DmaTicket ticket) override {
    events_.push_back({kWait, ticket.id, 0, nullptr, nullptr});
  }
  void wait_all() override { events_.push_back({kWaitAll, 0, 0, nullptr, nullptr}); }
  void note_op(uint32_t op) override { events_.push_back({kOp, op, 0, nullptr, nullptr}); }
  void note_kernel(uint64_t work) override {
    events_.push_back({kKernel, 0, work, nullptr, nullptr});
  }
  const std::vector<Event>& events() const { return events_; }

 private:
  uint32_t next_ = 1;
  std::vector<Event> events_;
};

}  // namespace tinyops
