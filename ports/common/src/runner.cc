// The firmware's main(): checks the DMA engine, loads the registered model's
// plan with its regions bound to the arrays the exporter placed, feeds the
// fixed input, runs it once and prints per-op cycles, the total (cycles and
// milliseconds at the core clock) and the output bytes with a checksum.
//
// Output protocol (one record a line, parsed by tinyops_tflm/firmware/emulate.py):
//   tinyops-fw board=<b> core=<c> clock_hz=<hz>
//   dma-selftest ok transfers=<n> bytes=<n>
//   model name=<n> board=<b> plan_bytes=<n>
//   region <i> kind=<arena|constant> memory=<m> base=0x<a> bytes=<n>
//   loaded ops=<n> tensors=<n> scratch=<n> partitioned=<0|1> timing=<per-op|total-only>
//   pool <tier> used=<n> capacity=<n>
//   op <i> <NAME> cycles=<n> [tiles=<n> transfers=<n> dma_bytes=<n>]
//   total cycles=<n> ms=<x.yyy>
//   stack used=<n> size=<n>        (high-water mark of the painted stack)
//   output <i> bytes=<n> fnv1a32=<hex>
//   out<i> <hex bytes ...>          (32 bytes a line)
//   DONE status=<0|error>
#include <cstdint>
#include <cstring>

#include "runtime/executor.h"
#include "tinyops/status.h"
#include "tinyops_port/board.h"
#include "tinyops_port/console.h"
#include "tinyops_port/model.h"
#include "tinyops_port/op_timing.h"
#include "tinyops_port/patterns.h"
#include "tinyops_port/pool.h"

using namespace tinyops_port;

extern "C" uint32_t __stack_bottom, __stack_top;  // the linker script's .stack

namespace {

// Copies patterns between free SRAM and free SDRAM (both directions, odd
// sizes and alignments, transfers larger than one DMA chunk) and from the
// read-only model data, checking every byte.
bool dma_selftest(TieredPool& pool, const ModelDesc& model) {
  tinyops::DmaEngine& dma = dma_engine();
  const PoolTier* sram = nullptr;
  const PoolTier* sdram = nullptr;
  for (int i = 0; i < pool.num_tiers(); ++i) {
    if (std::strcmp(pool.tier(i).name, "sram") == 0) sram = &pool.tier(i);
    if (std::strcmp(pool.tier(i).name, "sdram") == 0) sdram = &pool.tier(i);
  }
  if (!sram || !sdram || sdram->capacity() < (1u << 20)) {
    console_printf("dma-selftest skipped (no free SRAM/SDRAM)\n");
    return true;
  }
  uint8_t* s = reinterpret_cast<uint8_t*>((sram->start + 31) & ~31u);
  const uint32_t s_cap = sram->capacity() > 64 ? sram->capacity() - 64 : 0;
  uint8_t* d = reinterpret_cast<uint8_t*>((sdram->start + 31) & ~31u);
  uint8_t* d2 = d + (1u << 19);  // second half MB of the first MB
  uint32_t transfers = 0, bytes = 0;
  static const uint32_t kSizes[] = {1, 3, 4, 15, 16, 17, 31, 64, 1000, 4103, 16384, 70001};
  static const uint32_t kOffsets[] = {0, 1, 2, 3, 16};
  for (uint32_t size : kSizes) {
    for (uint32_t so : kOffsets) {
      for (uint32_t doff : kOffsets) {
        if (size + so + 8 > s_cap || size + doff + 8 > (1u << 19)) continue;
        // SDRAM -> SRAM, then SRAM -> SDRAM (second buffer): both must match.
        fill_pattern(d + doff, size, size * 7 + so * 3 + doff);
        std::memset(s + so, 0xA5, size + 4);
        tinyops::DmaTicket t = dma.start(s + so, d + doff, size);
        dma.wait(t);
        if (std::memcmp(s + so, d + doff, size) != 0 || s[so + size] != 0xA5) {
          console_printf("dma-selftest FAILED sdram->sram size=%lu src+%lu dst+%lu\n",
                         static_cast<unsigned long>(size), static_cast<unsigned long>(doff),
                         static_cast<unsigned long>(so));
          return false;
        }
        std::memset(d2 + doff, 0x5A, size + 4);
        t = dma.start(d2 + doff, s + so, size);
        dma.wait_all();
        if (std::memcmp(s + so, d2 + doff, size) != 0 || d2[doff + size] != 0x5A) {
          console_printf("dma-selftest FAILED sram->sdram size=%lu\n",
                         static_cast<unsigned long>(size));
          return false;
        }
        transfers += 2;
        bytes += 2 * size;
      }
    }
  }
  // One transfer larger than a DMA2 chunk (65535 items), SDRAM -> SDRAM, and
  // two outstanding at once.
  const uint32_t big = 300000;
  if (sdram->capacity() >= 2 * big + (1u << 20)) {
    uint8_t* a = d + (1u << 20);
    uint8_t* b = a + big + 32;
    fill_pattern(a, big, 99);
    std::memset(b, 0, big);
    const tinyops::DmaTicket t1 = dma.start(b, a, big / 2);
    const tinyops::DmaTicket t2 = dma.start(b + big / 2, a + big / 2, big - big / 2);
    dma.wait(t2);
    dma.wait(t1);
    if (std::memcmp(a, b, big) != 0) {
      console_printf("dma-selftest FAILED large sdram->sdram\n");
      return false;
    }
    transfers += 2;
    bytes += big;
  }
  // Read-only model data (flash or QSPI) -> SRAM.
  if (model.plan && model.plan_bytes) {
    const uint32_t n = model.plan_bytes < s_cap ? model.plan_bytes : s_cap;
    const tinyops::DmaTicket t = dma.start(s, model.plan, n);
    dma.wait(t);
    if (std::memcmp(s, model.plan, n) != 0) {
      console_printf("dma-selftest FAILED flash->sram\n");
      return false;
    }
    transfers += 1;
    bytes += n;
  }
  console_printf("dma-selftest ok transfers=%lu bytes=%lu\n", static_cast<unsigned long>(transfers),
                 static_cast<unsigned long>(bytes));
  return true;
}

void print_ms(const char* prefix, uint64_t cycles, uint32_t hz) {
  const uint64_t us = hz ? cycles * 1000000ull / hz : 0;
  console_printf("%scycles=%llu ms=%llu.%03llu\n", prefix, static_cast<unsigned long long>(cycles),
                 static_cast<unsigned long long>(us / 1000),
                 static_cast<unsigned long long>(us % 1000));
}

tinyops::Executor g_executor;

// Stack high-water mark: the kernels keep their hot buffers on the stack
// (tightly coupled RAM), so how deep an inference goes is worth knowing. The
// free stack below main's frame is painted once; after the inference the
// lowest overwritten word is the deepest point reached.
constexpr uint32_t kStackPaint = 0x57ac57acu;

__attribute__((noinline)) void stack_paint() {
  uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  // Leave this frame and what an interrupt might push meanwhile untouched.
  for (uint32_t* w = &__stack_bottom; w + 64 < sp; ++w) *w = kStackPaint;
}

uint32_t stack_used() {
  const uint32_t* w = &__stack_bottom;
  while (w < &__stack_top && *w == kStackPaint) ++w;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&__stack_top) -
                               reinterpret_cast<uintptr_t>(w));
}

}  // namespace

int main() {
  stack_paint();
  const BoardInfo& info = board_info();
  console_printf("tinyops-fw board=%s core=%s clock_hz=%lu\n", info.name, info.core,
                 static_cast<unsigned long>(info.core_hz));
  TieredPool& pool = firmware_pool();
  const ModelDesc& model = selected_model();
  if (!dma_selftest(pool, model)) {
    console_puts("DONE status=dma\n");
    return 5;
  }
  if (model.plan == nullptr) {
    console_puts("no model registered in this firmware\nDONE status=0\n");
    return 0;
  }
  console_printf("model name=%s board=%s plan_bytes=%lu\n", model.name, model.board,
                 static_cast<unsigned long>(model.plan_bytes));
  constexpr uint32_t kMaxRegions = 16;
  tinyops::RegionBinding bindings[kMaxRegions];
  if (model.num_regions > kMaxRegions) {
    console_puts("too many plan regions\nDONE status=regions\n");
    return 2;
  }
  for (uint32_t r = 0; r < model.num_regions; ++r) {
    const RegionDesc& rd = model.regions[r];
    bindings[r] = tinyops::RegionBinding{rd.base, rd.bytes};
    console_printf("region %lu kind=%s memory=%s base=0x%08lx bytes=%lu\n",
                   static_cast<unsigned long>(r), rd.kind == 0 ? "arena" : "constant",
                   memory_name(rd.memory),
                   static_cast<unsigned long>(reinterpret_cast<uintptr_t>(rd.base)),
                   static_cast<unsigned long>(rd.bytes));
  }

  tinyops::Allocator allocator = pool.allocator();
  static char message[256];
  tinyops_op_marker(0xFFFF0000u);  // load begins
  tinyops::Status s = g_executor.load(model.plan, model.plan_bytes, bindings, model.num_regions,
                                      &allocator, message, sizeof(message));
  tinyops_op_marker(0xFFFF0001u);  // load ends
  if (s != tinyops::Status::kOk) {
    console_printf("load failed: %s: %s\nDONE status=load\n", tinyops::status_name(s), message);
    return 2;
  }
  console_printf("loaded ops=%lu tensors=%lu scratch=%lu partitioned=%d timing=%s\n",
                 static_cast<unsigned long>(g_executor.num_ops()),
                 static_cast<unsigned long>(g_executor.num_tensors()),
                 static_cast<unsigned long>(g_executor.scratch_bytes()),
                 g_executor.partitioned() ? 1 : 0, op_timing_active() ? "per-op" : "total-only");

  if (model.num_inputs != g_executor.num_inputs()) {
    console_printf("model has %lu inputs, %lu given\nDONE status=input\n",
                   static_cast<unsigned long>(g_executor.num_inputs()),
                   static_cast<unsigned long>(model.num_inputs));
    return 2;
  }
  for (uint32_t i = 0; i < model.num_inputs; ++i) {
    const int32_t t = g_executor.input_tensor(i);
    const uint32_t need = g_executor.tensor(static_cast<uint32_t>(t)).bytes;
    if (model.inputs[i].bytes != need) {
      console_printf("input %lu: %lu bytes given, tensor needs %lu\nDONE status=input\n",
                     static_cast<unsigned long>(i),
                     static_cast<unsigned long>(model.inputs[i].bytes),
                     static_cast<unsigned long>(need));
      return 2;
    }
    std::memcpy(g_executor.tensor_data(static_cast<uint32_t>(t)), model.inputs[i].data, need);
  }

  const uint32_t num_ops = g_executor.num_ops();
  auto* cycles = static_cast<uint32_t*>(pool.alloc(4 * (num_ops ? num_ops : 1), 4));
  if (!cycles) {
    console_puts("no memory for timing\nDONE status=memory\n");
    return 2;
  }
  op_timing_begin(cycles, num_ops);
  const uint32_t c0 = cycle_count();
  // A partitioned plan streams tiles through internal SRAM with the DMA engine.
  s = g_executor.invoke(g_executor.partitioned() ? &dma_engine() : nullptr);
  const uint32_t c1 = cycle_count();
  op_timing_end();
  if (s != tinyops::Status::kOk) {
    console_printf("invoke failed: %s\nDONE status=invoke\n", tinyops::status_name(s));
    return 3;
  }

  for (int i = 0; i < pool.num_tiers(); ++i) {
    const PoolTier& t = pool.tier(i);
    console_printf("pool %s used=%lu capacity=%lu\n", t.name, static_cast<unsigned long>(t.used()),
                   static_cast<unsigned long>(t.capacity()));
  }
  uint64_t sum = 0;
  const bool partitioned = g_executor.partitioned();
  for (uint32_t o = 0; o < num_ops; ++o) {
    if (partitioned) {
      const tinyops::OpStats& st = g_executor.op_stats(o);
      uint64_t dma_bytes = 0;
      const uint32_t nr = g_executor.num_regions() < tinyops::kMaxStatRegions
                              ? g_executor.num_regions()
                              : tinyops::kMaxStatRegions;
      for (uint32_t r = 0; r < nr; ++r) dma_bytes += st.read_bytes[r];
      console_printf("op %lu %s cycles=%lu tiles=%lu transfers=%lu dma_bytes=%llu\n",
                     static_cast<unsigned long>(o), g_executor.op_name(o),
                     static_cast<unsigned long>(cycles[o]), static_cast<unsigned long>(st.tiles),
                     static_cast<unsigned long>(st.transfers),
                     static_cast<unsigned long long>(dma_bytes));
    } else {
      console_printf("op %lu %s cycles=%lu\n", static_cast<unsigned long>(o), g_executor.op_name(o),
                     static_cast<unsigned long>(cycles[o]));
    }
    sum += cycles[o];
  }
  const uint64_t total = op_timing_active() ? sum : static_cast<uint32_t>(c1 - c0);
  print_ms("total ", total, info.core_hz);
  console_printf("stack used=%lu size=%lu\n", static_cast<unsigned long>(stack_used()),
                 static_cast<unsigned long>(reinterpret_cast<uintptr_t>(&__stack_top) -
                                            reinterpret_cast<uintptr_t>(&__stack_bottom)));

  for (uint32_t i = 0; i < g_executor.num_outputs(); ++i) {
    const uint32_t t = static_cast<uint32_t>(g_executor.output_tensor(i));
    const auto* data = static_cast<const uint8_t*>(g_executor.tensor_data(t));
    const uint32_t n = g_executor.tensor(t).bytes;
    console_printf("output %lu bytes=%lu fnv1a32=%08lx\n", static_cast<unsigned long>(i),
                   static_cast<unsigned long>(n), static_cast<unsigned long>(fnv1a32(data, n)));
    char prefix[16] = "out";
    uint32_t k = 3;
    uint32_t v = i;
    char digits[10];
    uint32_t nd = 0;
    do {
      digits[nd++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (nd) prefix[k++] = digits[--nd];
    prefix[k++] = ' ';
    prefix[k] = 0;
    console_hex_lines(prefix, data, n, 32);
  }
  console_puts("DONE status=0\n");
  return 0;
}
