// Runs a partitioned plan (written by tests/test_tsan_schedule.py) on the
// asynchronous DMA engine, twice, and checks the output bytes. Built with
// -fsanitize=thread: a scheduler that reads a tile buffer before waiting for
// the DMA filling it, or overwrites one a transfer still reads, is a data race
// between the DMA worker thread and the kernels, which ThreadSanitizer reports.
// usage: tsan_schedule_driver BASE DELAY_US  (files BASE.plan, .regions, .rN, .io, .x, .y)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#include "host/host_dma.h"
#include "runtime/executor.h"
using namespace tinyops;
static std::vector<char> slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), {});
}
static void* heap_alloc(void*, size_t n, size_t) {
  return aligned_alloc(64, (n + 63) / 64 * 64 + 64);
}
int main(int argc, char** argv) {
  std::string base = argv[1];
  auto planv = slurp(base + ".plan");
  uint8_t* plan = (uint8_t*)aligned_alloc(64, (planv.size() + 127) / 64 * 64);
  memcpy(plan, planv.data(), planv.size());
  std::ifstream rf(base + ".regions");
  std::vector<RegionBinding> regs;
  uint32_t size;
  int has;
  int i = 0;
  while (rf >> size >> has) {
    uint8_t* b = (uint8_t*)aligned_alloc(64, (size + 127) / 64 * 64);
    memset(b, 0, size);
    if (has) {
      auto c = slurp(base + ".r" + std::to_string(i));
      memcpy(b, c.data(), c.size());
    }
    regs.push_back({b, size});
    ++i;
  }
  Allocator a{heap_alloc, nullptr};
  Executor ex;
  char msg[512];
  if (ex.load(plan, planv.size(), regs.data(), regs.size(), &a, msg, sizeof msg) != Status::kOk) {
    printf("load: %s\n", msg);
    return 2;
  }
  std::ifstream io(base + ".io");
  int in, out;
  io >> in >> out;
  auto x = slurp(base + ".x"), y = slurp(base + ".y");
  AsyncDma dma(atoi(argv[2]));
  for (int rep = 0; rep < 2; ++rep) {
    memcpy(ex.tensor_data(in), x.data(), x.size());
    if (ex.invoke(&dma) != Status::kOk) {
      printf("invoke failed\n");
      return 3;
    }
    if (memcmp(ex.tensor_data(out), y.data(), y.size()) != 0) {
      printf("MISMATCH\n");
      return 4;
    }
  }
  printf("%s ok\n", base.c_str());
  return 0;
}
