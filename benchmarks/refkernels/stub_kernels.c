/* The self-test's kernels (see stub_calls.c): deliberately simple loops whose
 * cost is linear in MACs / elements. */
#include <stdint.h>

int32_t stub_fc_s8(const int8_t* in, const int8_t* w, const int32_t* bias, int8_t* out,
                   int32_t depth, int32_t units) {
  for (int32_t u = 0; u < units; ++u) {
    int32_t acc = bias[u] >> 16;
    for (int32_t d = 0; d < depth; ++d) acc += (int32_t)in[d] * w[u * depth + d];
    acc >>= 8;
    out[u] = (int8_t)(acc > 127 ? 127 : acc < -128 ? -128 : acc);
  }
  return 0;
}

int32_t stub_add_s8(const int8_t* a, const int8_t* b, int8_t* out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    int32_t v = ((int32_t)a[i] + b[i]) >> 1;
    out[i] = (int8_t)v;
  }
  return 0;
}
