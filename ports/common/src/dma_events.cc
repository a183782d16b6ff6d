#include "tinyops_port/dma_events.h"

// 256-byte aligned: a load of tinyops_dma_mailbox[v] tells the plugin the byte v.
extern "C" __attribute__((aligned(256), used)) volatile uint8_t tinyops_dma_mailbox[256];
volatile uint8_t tinyops_dma_mailbox[256];

namespace {
inline void send(uint32_t w) {
  (void)tinyops_dma_mailbox[w & 0xFFu];
  (void)tinyops_dma_mailbox[(w >> 8) & 0xFFu];
  (void)tinyops_dma_mailbox[(w >> 16) & 0xFFu];
  (void)tinyops_dma_mailbox[w >> 24];
}
}  // namespace

extern "C" __attribute__((noinline, used)) void tinyops_dma_event(uint32_t event, uint32_t a,
                                                                  uint32_t b, uint32_t c,
                                                                  uint32_t d) {
  send(event);
  send(a);
  send(b);
  send(c);
  send(d);
}
