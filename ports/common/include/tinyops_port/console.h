// Console printing for the firmware: a small printf of its own (no newlib
// stdio, no heap), writing through board console_write().
#pragma once
#include <cstdarg>
#include <cstdint>

namespace tinyops_port {

// Supports %% %c %s %d %i %u %x %X with optional '0' flag, width and the
// length modifiers l, ll, z.
void console_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void console_vprintf(const char* fmt, va_list args);
void console_puts(const char* s);  // no newline added

// Writes `bytes` as lowercase hex, `per_line` bytes a line, each line starting
// with `prefix`.
void console_hex_lines(const char* prefix, const uint8_t* data, uint32_t bytes, uint32_t per_line);

}  // namespace tinyops_port
