#include "dma_partition/host_dma.h"

#include <chrono>
#include <cstring>

namespace tinyops {

DmaTicket SyncDma::start(void* dst, const void* src, uint32_t bytes) {
  std::memcpy(dst, src, bytes);
  bytes_ += bytes;
  return DmaTicket{next_++};
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

DmaTicket AsyncDma::start(void* dst, const void* src, uint32_t bytes) {
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = ++issued_;
    jobs_.push_back(Job{dst, src, bytes, id});
  }
  queued_.notify_one();
  return DmaTicket{id};
}

void AsyncDma::wait(DmaTicket ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return completed_ >= ticket.id; });
}

void AsyncDma::wait_all() {
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return completed_ >= issued_; });
}

void AsyncDma::worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queued_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    if (delay_us_) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    std::memcpy(job.dst, job.src, job.bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      completed_ = job.id;
    }
    done_.notify_all();
  }
}

}  // namespace tinyops
