// DMA events for the QEMU cycle model (ports/common/qemu_plugin/tinyops_cycles.c).
//
// The emulated boards copy DMA transfers with the CPU (cpu_dma.cc); on the
// real boards the DMA2 engine does it while the CPU runs on. So that the
// cycle model can cost a transfer as the DMA would -- and leave the CPU copy
// out of the CPU's time -- the emulated DMA reports what it does by calling
// tinyops_dma_event(). QEMU 7.2's plugin API cannot read registers, so the
// function passes its five 32-bit arguments as the addresses of byte loads
// from a 256-byte aligned mailbox (4 loads a word, low byte first); the
// plugin decodes them from its memory callbacks and does not count the
// function's own instructions. Without the plugin these calls only cost a
// few instructions.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  // a = ticket id, b = destination, c = source, d = bytes the DMA moves;
  // event bits 8..9 = log2(item width), bit 10 = INCR4 bursts
  TINYOPS_DMA_EV_START = 1,
  TINYOPS_DMA_EV_COPY_BEGIN = 2,  // a = ticket id: the CPU stand-in copy starts
  TINYOPS_DMA_EV_COPY_END = 3,    // a = ticket id: ... and ends
  TINYOPS_DMA_EV_WAIT = 4,        // a = ticket id, b = 1 to wait for every job
};

void tinyops_dma_event(uint32_t event, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

#ifdef __cplusplus
}
#endif
