// The few C library hooks the firmware links against.
//
// There is no heap: newlib's allocator entry points are replaced by ones that
// stop the firmware with a message (newlib-nano's vsnprintf references them
// for its asprintf path but never calls them for snprintf), and _sbrk always
// fails. Any heap use is a bug reported loudly, never memory taken silently.
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>

#include "tinyops_port/board.h"
#include "tinyops_port/console.h"

extern "C" {

struct _reent;

static void heap_used(const char* what) {
  tinyops_port::console_printf("\nFATAL: heap use (%s) in firmware\n", what);
  tinyops_port::board_exit(7);
}

void* _malloc_r(struct _reent*, size_t) {
  heap_used("malloc");
  return nullptr;
}
void* _calloc_r(struct _reent*, size_t, size_t) {
  heap_used("calloc");
  return nullptr;
}
void* _realloc_r(struct _reent*, void*, size_t) {
  heap_used("realloc");
  return nullptr;
}
void _free_r(struct _reent*, void* p) {
  if (p) heap_used("free");
}
void* malloc(size_t) {
  heap_used("malloc");
  return nullptr;
}
void free(void* p) {
  if (p) heap_used("free");
}

void* _sbrk(ptrdiff_t) {
  errno = ENOMEM;
  return reinterpret_cast<void*>(-1);
}

int _write(int, const char* data, int bytes) {
  tinyops_port::console_write(data, static_cast<uint32_t>(bytes));
  return bytes;
}
int _read(int, char*, int) { return 0; }
int _close(int) { return -1; }
int _lseek(int, int, int) { return 0; }
int _fstat(int, struct stat* st) {
  st->st_mode = S_IFCHR;
  return 0;
}
int _isatty(int) { return 1; }
int _getpid() { return 1; }
int _kill(int, int) {
  errno = EINVAL;
  return -1;
}
void _exit(int code) { tinyops_port::board_exit(code); }

void abort() {
  tinyops_port::console_puts("\nFATAL: abort()\n");
  tinyops_port::board_exit(6);
}

// Pure virtual call (DmaEngine is an interface): a firmware bug, never silent.
void __cxa_pure_virtual() {
  tinyops_port::console_puts("\nFATAL: pure virtual call\n");
  tinyops_port::board_exit(6);
}

}  // extern "C"
