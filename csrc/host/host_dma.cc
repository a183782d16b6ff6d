#include "host/host_dma.h"

#include <chrono>
#include <cstring>

namespace tinyops {

DmaTicket SyncDma::start(void* dst, const void* src, uint32_t bytes) {
  std::memcpy(dst, src, bytes);
  bytes_ += bytes;
  return DmaTicket{next_++};
}

DmaTicket TracingDma::start(void* dst, const void* src, uint32_t bytes) {
  std::memcpy(dst, src, bytes);
  const uint32_t id = next_++;
  events_.push_back({kStart, id, bytes, src, dst});
  return DmaTicket{id};
}

AsyncDma::AsyncDma(uint32_t delay_us) : delay_us_(delay_us), thread_(&AsyncDma::worker, this) {}

AsyncDma::~AsyncDma() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

// Both sides spin briefly before blocking: tiles are short, and a condition
// variable hand-off per transfer would dominate the host run.
namespace {
constexpr int kSpins = 4000;
}  // namespace

DmaTicket AsyncDma::start(void* dst, const void* src, uint32_t bytes) {
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = ++issued_;
    jobs_.push_back(Job{dst, src, bytes, id});
    pending_.fetch_add(1, std::memory_order_release);
  }
  queued_.notify_one();
  return DmaTicket{id};
}

void AsyncDma::wait(DmaTicket ticket) {
  for (int i = 0; i < kSpins; ++i) {
    if (completed_.load(std::memory_order_acquire) >= ticket.id) return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return completed_.load(std::memory_order_acquire) >= ticket.id; });
}

void AsyncDma::wait_all() {
  uint32_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = issued_;
  }
  wait(DmaTicket{target});
}

void AsyncDma::worker() {
  for (;;) {
    for (int i = 0; i < kSpins && pending_.load(std::memory_order_acquire) == 0; ++i) {
    }
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queued_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
      pending_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (delay_us_) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    std::memcpy(job.dst, job.src, job.bytes);
    {
      // Under the lock, so a waiter between its check and its sleep cannot
      // miss the notification.
      std::lock_guard<std::mutex> lock(mu_);
      completed_.store(job.id, std::memory_order_release);
    }
    done_.notify_all();
  }
}

}  // namespace tinyops
