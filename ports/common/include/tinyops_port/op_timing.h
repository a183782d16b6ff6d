// Per-op timing without touching the engine: the firmware links with
// -Wl,--wrap on tinyops::find_op_kernel, so every kernel the executor looks up
// is a copy whose eval is a trampoline that calls tinyops_op_marker(op) and
// reads the cycle counter around the real eval.
#pragma once
#include <cstdint>

namespace tinyops_port {

// Starts a timed run of `num_ops` ops; `cycles` receives per-op cycle counts
// (accumulated). Op indices count eval calls from this call on.
void op_timing_begin(uint32_t* cycles, uint32_t num_ops);
// Marks the end of the run (emits the final marker).
void op_timing_end();
// True when the link-time wrap is in place (find_op_kernel was intercepted).
bool op_timing_active();

}  // namespace tinyops_port
