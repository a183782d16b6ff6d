#include "tinyops_port/console.h"

#include <cstring>

#include "tinyops_port/board.h"

namespace tinyops_port {

namespace {

// Output is staged in a small line buffer so each console_write (a UART burst
// or one semihosting call) carries many characters.
struct Out {
  char buf[128];
  uint32_t n = 0;
  void put(char c) {
    buf[n++] = c;
    if (n == sizeof(buf) || c == '\n') flush();
  }
  void flush() {
    if (n) console_write(buf, n);
    n = 0;
  }
};

void put_number(Out& out, uint64_t value, bool negative, unsigned base, bool upper, int width,
                char pad) {
  char digits[24];
  int n = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = set[value % base];
    value /= base;
  } while (value != 0);
  if (negative) {
    if (pad == '0') {
      out.put('-');
      --width;
    } else {
      digits[n++] = '-';
    }
  }
  for (int i = n; i < width; ++i) out.put(pad);
  while (n > 0) out.put(digits[--n]);
}

}  // namespace

void console_vprintf(const char* fmt, va_list args) {
  Out out;
  for (const char* p = fmt; *p; ++p) {
    if (*p != '%') {
      out.put(*p);
      continue;
    }
    ++p;
    char pad = ' ';
    int width = 0;
    if (*p == '0') {
      pad = '0';
      ++p;
    }
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    bool size_t_mod = false;
    while (*p == 'l' || *p == 'z') {
      if (*p == 'z') size_t_mod = true;
      else ++longs;
      ++p;
    }
    switch (*p) {
      case '%': out.put('%'); break;
      case 'c': out.put(static_cast<char>(va_arg(args, int))); break;
      case 's': {
        const char* s = va_arg(args, const char*);
        if (!s) s = "(null)";
        const int len = static_cast<int>(std::strlen(s));
        for (int i = len; i < width; ++i) out.put(' ');
        while (*s) out.put(*s++);
        break;
      }
      case 'd':
      case 'i': {
        int64_t v;
        if (longs >= 2) v = va_arg(args, long long);
        else if (longs == 1) v = va_arg(args, long);
        else if (size_t_mod) v = static_cast<int64_t>(va_arg(args, long));
        else v = va_arg(args, int);
        const bool neg = v < 0;
        put_number(out, neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v), neg,
                   10, false, width, pad);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v;
        if (longs >= 2) v = va_arg(args, unsigned long long);
        else if (longs == 1) v = va_arg(args, unsigned long);
        else if (size_t_mod) v = va_arg(args, size_t);
        else v = va_arg(args, unsigned);
        put_number(out, v, false, *p == 'u' ? 10 : 16, *p == 'X', width, pad);
        break;
      }
      case '\0': --p; break;
      default:
        out.put('%');
        out.put(*p);
        break;
    }
  }
  out.flush();
}

void console_printf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  console_vprintf(fmt, args);
  va_end(args);
}

void console_puts(const char* s) { console_write(s, static_cast<uint32_t>(std::strlen(s))); }

void console_hex_lines(const char* prefix, const uint8_t* data, uint32_t bytes, uint32_t per_line) {
  static const char kHex[] = "0123456789abcdef";
  char line[16 + 2 * 64 + 2];
  if (per_line == 0 || per_line > 64) per_line = 64;
  const uint32_t plen = static_cast<uint32_t>(std::strlen(prefix));
  for (uint32_t at = 0; at < bytes; at += per_line) {
    const uint32_t n = bytes - at < per_line ? bytes - at : per_line;
    uint32_t k = 0;
    if (plen < 16) {
      std::memcpy(line, prefix, plen);
      k = plen;
    }
    for (uint32_t i = 0; i < n; ++i) {
      line[k++] = kHex[data[at + i] >> 4];
      line[k++] = kHex[data[at + i] & 15];
    }
    line[k++] = '\n';
    console_write(line, k);
  }
}

}  // namespace tinyops_port
