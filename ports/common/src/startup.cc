// Reset handler, vector table and fault reporting shared by every variant.
//
// Boot order: FPU on -> internal .data copied / .bss zeroed -> board_init()
// (clocks, caches, FMC SDRAM, QSPI memory-mapped, console) -> external-memory
// sections copied / zeroed -> static constructors -> main() -> board_exit().
#include <cstdint>
#include <cstring>

#include "tinyops_port/board.h"
#include "tinyops_port/console.h"
#include "tinyops_port/cortexm.h"

extern "C" {
// Linker script symbols (ports/common/ld/sections.ld).
extern uint32_t __stack_top;
extern uint8_t __data_load, __data_start, __data_end;
extern uint8_t __fast_data_load, __fast_data_start, __fast_data_end;
extern uint8_t __bss_start, __bss_end;
extern uint8_t __fast_bss_start, __fast_bss_end;
extern uint8_t __sdram_data_load, __sdram_data_start, __sdram_data_end;
extern uint8_t __sdram_qdata_load, __sdram_qdata_start, __sdram_qdata_end;
extern uint8_t __sdram_bss_start, __sdram_bss_end;
extern void (*__preinit_array_start[])();
extern void (*__preinit_array_end[])();
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

int main();
void Reset_Handler();
void tinyops_reset_c();
void Default_Handler();
void HardFault_Handler();
void NMI_Handler() __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler();
void BusFault_Handler();
void UsageFault_Handler();
void SVC_Handler() __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler() __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler() __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler() __attribute__((weak, alias("Default_Handler")));
// STM32F4/F7 DMA2 stream interrupts (IRQ 56..60, 68..70); the DMA driver
// defines the ones it uses.
void DMA2_Stream0_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream1_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream2_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream3_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream4_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream5_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream6_IRQHandler() __attribute__((weak, alias("Default_Handler")));
void DMA2_Stream7_IRQHandler() __attribute__((weak, alias("Default_Handler")));
}

namespace {

constexpr int kNumIrqs = 112;  // covers STM32F469 (93) and STM32F746 (98)
using Handler = void (*)();

struct VectorTable {
  uint32_t* initial_sp;
  Handler system[15];
  Handler irq[kNumIrqs];
};

constexpr VectorTable make_vectors() {
  VectorTable v{};
  v.initial_sp = &__stack_top;
  v.system[0] = Reset_Handler;
  v.system[1] = NMI_Handler;
  v.system[2] = HardFault_Handler;
  v.system[3] = MemManage_Handler;
  v.system[4] = BusFault_Handler;
  v.system[5] = UsageFault_Handler;
  v.system[10] = SVC_Handler;
  v.system[11] = DebugMon_Handler;
  v.system[13] = PendSV_Handler;
  v.system[14] = SysTick_Handler;
  for (int i = 0; i < kNumIrqs; ++i) v.irq[i] = Default_Handler;
  v.irq[56] = DMA2_Stream0_IRQHandler;
  v.irq[57] = DMA2_Stream1_IRQHandler;
  v.irq[58] = DMA2_Stream2_IRQHandler;
  v.irq[59] = DMA2_Stream3_IRQHandler;
  v.irq[60] = DMA2_Stream4_IRQHandler;
  v.irq[68] = DMA2_Stream5_IRQHandler;
  v.irq[69] = DMA2_Stream6_IRQHandler;
  v.irq[70] = DMA2_Stream7_IRQHandler;
  return v;
}

void copy_section(uint8_t* dst, const uint8_t* src, const uint8_t* dst_end) {
  if (dst != src && dst_end > dst) std::memcpy(dst, src, static_cast<size_t>(dst_end - dst));
}
void zero_section(uint8_t* start, const uint8_t* end) {
  if (end > start) std::memset(start, 0, static_cast<size_t>(end - start));
}

}  // namespace

// 512-byte aligned (128 entries) as VTOR requires.
__attribute__((section(".vectors"), used, aligned(512))) extern const VectorTable g_vectors =
    make_vectors();

// The FPU must be on before compiled code runs: with -mfloat-abi=hard the
// compiler may use FP registers anywhere (memcpy, struct copies, ...).
extern "C" __attribute__((naked, noreturn)) void Reset_Handler() {
  __asm volatile(
      "ldr r0, =0xE000ED88\n"
      "ldr r1, [r0]\n"
      "orr r1, r1, #(0xF << 20)\n"
      "str r1, [r0]\n"
      "dsb\n"
      "isb\n"
      "ldr r0, =__stack_top\n"
      "mov sp, r0\n"
      "b tinyops_reset_c\n");
}

extern "C" __attribute__((noreturn, used)) void tinyops_reset_c() {
  tinyops_port::cm::reg(tinyops_port::cm::kScbVtor) = reinterpret_cast<uint32_t>(&g_vectors);
  // Fault exceptions get their own handlers (and messages) instead of HardFault.
  tinyops_port::cm::reg(tinyops_port::cm::kScbShcsr) |= (1u << 16) | (1u << 17) | (1u << 18);
  copy_section(&__data_start, &__data_load, &__data_end);
  copy_section(&__fast_data_start, &__fast_data_load, &__fast_data_end);
  zero_section(&__bss_start, &__bss_end);
  zero_section(&__fast_bss_start, &__fast_bss_end);

  tinyops_port::board_init();

  // External memories are up: their sections can be filled now.
  copy_section(&__sdram_data_start, &__sdram_data_load, &__sdram_data_end);
  copy_section(&__sdram_qdata_start, &__sdram_qdata_load, &__sdram_qdata_end);
  zero_section(&__sdram_bss_start, &__sdram_bss_end);

  for (auto* f = __preinit_array_start; f != __preinit_array_end; ++f) (*f)();
  for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();

  tinyops_port::board_exit(main());
}

extern "C" void Default_Handler() {
  uint32_t ipsr;
  __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  tinyops_port::console_printf("\nFATAL: unexpected exception %lu\n",
                               static_cast<unsigned long>(ipsr & 0x1FF));
  tinyops_port::board_exit(4);
}

extern "C" __attribute__((used)) void tinyops_fault_report(const uint32_t* frame, uint32_t exc) {
  using namespace tinyops_port::cm;
  tinyops_port::console_printf(
      "\nFATAL: fault (exception %lu) pc=0x%08lx lr=0x%08lx cfsr=0x%08lx hfsr=0x%08lx "
      "bfar=0x%08lx mmfar=0x%08lx\n",
      static_cast<unsigned long>(exc & 0x1FF), static_cast<unsigned long>(frame[6]),
      static_cast<unsigned long>(frame[5]), static_cast<unsigned long>(reg(kScbCfsr)),
      static_cast<unsigned long>(reg(kScbHfsr)), static_cast<unsigned long>(reg(kScbBfar)),
      static_cast<unsigned long>(reg(kScbMmfar)));
  tinyops_port::board_exit(3);
}

// MemManage, BusFault and UsageFault report like HardFault (weak: a board may
// override them).
extern "C" __attribute__((naked, weak)) void MemManage_Handler() {
  __asm volatile("b HardFault_Handler");
}
extern "C" __attribute__((naked, weak)) void BusFault_Handler() {
  __asm volatile("b HardFault_Handler");
}
extern "C" __attribute__((naked, weak)) void UsageFault_Handler() {
  __asm volatile("b HardFault_Handler");
}

extern "C" __attribute__((naked)) void HardFault_Handler() {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mrs r1, ipsr\n"
      "b tinyops_fault_report\n");
}
