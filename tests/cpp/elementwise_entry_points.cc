// Range / row-band entry points of the element-wise kernels against their
// whole-tensor definitions, on every kernel level (TINYOPS_ISA). Built (ASan +
// UBSan) and run by tests/test_kernels_elementwise.py::test_entry_points_equal_definitions.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_math.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quantize.h"
#include "kernels/softmax.h"
using namespace tinyops;
static std::mt19937 rng(12345);
static int R(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
static double U() { return (rng() + 0.5) / 4294967296.0; }
static int failures = 0;
#define CHECK(c, ...) \
  do { \
    if (!(c)) { \
      if (failures++ < 20) { \
        std::printf(__VA_ARGS__); \
        std::printf("\n"); \
      } \
    } \
  } while (0)

static void* arena_alloc(void*, size_t bytes, size_t align) {
  void* p = nullptr;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, bytes ? bytes : 1))
    return nullptr;
  return p;
}

// The branch-free primitives == quant.h's reference ones, rounding ties included.
static void test_primitives() {
  std::mt19937_64 r64(99);
  for (int i = 0; i < 2000000; ++i) {
    int32_t a, b;
    if (i & 1) {
      a = (int32_t)r64();
      b = (int32_t)(r64() & 0x7fffffff);
    } else {  // a * b == +/-2^30 (mod 2^31): exactly half-way
      const int k = (int)(r64() % 31);
      b = (int32_t)(1u << k);
      const int64_t mod = int64_t{1} << (31 - k);
      int64_t a64 = (int64_t{1} << (30 - k)) + mod * (int64_t)((int32_t)r64() >> (k + 1));
      if (r64() & 1) a64 = -a64;
      if (a64 > INT32_MAX || a64 < INT32_MIN) continue;
      a = (int32_t)a64;
    }
    CHECK(ew::srdhm_pos(a, b) == saturating_rounding_doubling_high_mul(a, b), "srdhm %d %d", a, b);
    const int e = (int)(r64() % 32);
    CHECK(ew::Rdbpot(e)(a) == rounding_divide_by_pot(a, e), "rdbpot %d %d", a, e);
  }
}

// ADD / MUL vectorized kernels == reference per element, all 65536 pairs.
static void test_exhaustive_binary() {
  std::vector<int8_t> a(65536), b(65536), o(65536);
  for (int i = 0; i < 65536; ++i) {
    a[i] = (int8_t)(i >> 8);
    b[i] = (int8_t)i;
  }
  for (int t = 0; t < 60; ++t) {
    float s1 = (float)std::exp(std::log(1e-4) + U() * std::log(1e5));
    float s2 = (float)(s1 * std::exp((U() - 0.5) * 8));
    int z1 = R(256) - 128, z2 = R(256) - 128, zo = R(256) - 128, act = R(4);
    AddParams p;
    std::memset(&p, 0, sizeof p);
    p.input1_offset = -z1;
    p.input2_offset = -z2;
    p.output_offset = zo;
    p.left_shift = 20;
    double tm = 2 * (double)(s1 > s2 ? s1 : s2);
    float so = (float)(tm * std::exp((U() - 0.9) * 12));
    bool ok =
        quantize_multiplier_smaller_than_one_exp(s1 / tm, &p.input1_multiplier, &p.input1_shift) &&
        quantize_multiplier_smaller_than_one_exp(s2 / tm, &p.input2_multiplier, &p.input2_shift) &&
        quantize_multiplier_smaller_than_one_exp(tm / ((1 << 20) * (double)so),
                                                 &p.output_multiplier, &p.output_shift);
    if (ok) {
      activation_range_quantized(act, DType::kInt8, so, zo, &p.act_min, &p.act_max);
      p.layout.kind = kBinarySameShape;
      add_range(p, a.data(), b.data(), o.data(), 0, 65536);
      for (int i = 0; i < 65536; ++i)
        CHECK(o[i] == add_reference(p, a[i], b[i]), "add t=%d i=%d", t, i);
    }
    MulParams m;
    std::memset(&m, 0, sizeof m);
    m.input1_offset = -z1;
    m.input2_offset = -z2;
    m.output_offset = zo;
    int sh = 0;
    quantize_multiplier(std::exp((U() - 0.6) * 40), &m.output_multiplier, &sh);
    if (sh > 31) continue;
    m.output_shift = sh;
    activation_range_quantized(act, DType::kInt8, 0.05f, zo, &m.act_min, &m.act_max);
    m.layout.kind = kBinarySameShape;
    mul_range(m, a.data(), b.data(), o.data(), 0, 65536);
    for (int i = 0; i < 65536; ++i)
      CHECK(o[i] == mul_reference(m, a[i], b[i]), "mul t=%d i=%d sh=%d", t, i, sh);
  }
}

// Whole-tensor eval, row bands and flat ranges == a naive broadcast loop.
static void test_bands() {
  for (int t = 0; t < 3000; ++t) {
    int D = 1 + R(6);
    Shape o{}, a{}, b{};
    o.rank = D;
    for (int i = 0; i < D; ++i) o.dims[i] = R(4) == 0 ? 1 : 1 + R(5);
    int ra = R(D + 1), rb = R(D + 1);
    if (R(3) == 0) ra = D;
    a.rank = ra;
    b.rank = rb;
    for (int i = 0; i < ra; ++i) a.dims[i] = o.dims[D - ra + i];
    for (int i = 0; i < rb; ++i) b.dims[i] = o.dims[D - rb + i];
    for (int i = 0; i < D; ++i) {
      int r = R(3), ai = i - (D - ra), bi = i - (D - rb);
      if (r == 1 && ai >= 0 && bi >= 0) a.dims[ai] = 1;
      if (r == 2 && bi >= 0 && ai >= 0) b.dims[bi] = 1;
    }
    for (int i = 0; i < D; ++i) {
      int ai = i - (D - ra), bi = i - (D - rb);
      int ad = ai >= 0 ? a.dims[ai] : 1, bd = bi >= 0 ? b.dims[bi] : 1;
      o.dims[i] = ad == 1 ? bd : ad;
    }
    bool is_mul = t & 1;
    AddParams p;
    std::memset(&p, 0, sizeof p);
    MulParams m;
    std::memset(&m, 0, sizeof m);
    int32_t bad_dim = 0;
    if (const char* err = binary_layout_init(a, b, o, &p.layout, &bad_dim)) {
      CHECK(false, "layout: %s", err);
      continue;
    }
    m.layout = p.layout;
    p.input1_offset = m.input1_offset = R(256) - 128;
    p.input2_offset = m.input2_offset = R(256) - 128;
    p.output_offset = m.output_offset = R(256) - 128;
    p.left_shift = 20;
    quantize_multiplier_smaller_than_one_exp(0.5, &p.input1_multiplier, &p.input1_shift);
    quantize_multiplier_smaller_than_one_exp(0.37, &p.input2_multiplier, &p.input2_shift);
    quantize_multiplier_smaller_than_one_exp(1e-5 * (1 + R(50)), &p.output_multiplier,
                                             &p.output_shift);
    int sh;
    quantize_multiplier(1e-3 * (1 + R(50)), &m.output_multiplier, &sh);
    m.output_shift = sh;
    p.act_min = m.act_min = -128;
    p.act_max = m.act_max = 127;
    int64_t na = a.num_elements(), nb = b.num_elements(), no = o.num_elements();
    std::vector<int8_t> A(na), B(nb), E(no), O(no), Band(no);
    for (auto& v : A) v = (int8_t)R(256);
    for (auto& v : B) v = (int8_t)R(256);
    for (int64_t k = 0; k < no; ++k) {
      int64_t rem = k, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int i = D - 1; i >= 0; --i) {
        int idx = (int)(rem % o.dims[i]);
        rem /= o.dims[i];
        int ai = i - (D - ra), bi = i - (D - rb);
        if (ai >= 0) {
          if (a.dims[ai] != 1) ia += idx * sa;
          sa *= a.dims[ai];
        }
        if (bi >= 0) {
          if (b.dims[bi] != 1) ib += idx * sb;
          sb *= b.dims[bi];
        }
      }
      E[k] = is_mul ? mul_reference(m, A[ia], B[ib]) : add_reference(p, A[ia], B[ib]);
    }
    const void* ins[2] = {A.data(), B.data()};
    void* outs[1] = {O.data()};
    EvalContext ec{is_mul ? (const void*)&m : (const void*)&p, ins, outs, nullptr};
    if (is_mul) mul_eval(ec);
    else add_eval(ec);
    CHECK(O == E, "eval t=%d D=%d", t, D);
    int64_t rows = binary_num_rows(p.layout), re = binary_row_elems(p.layout);
    CHECK(rows * re == no, "rows t=%d", t);
    for (int64_t r0 = 0; r0 < rows;) {
      int64_t r1 = r0 + 1 + R((int)rows);
      if (r1 > rows) r1 = rows;
      int64_t fa, la, fb, lb;
      binary_input_rows(p.layout, 0, r0, r1, &fa, &la);
      binary_input_rows(p.layout, 1, r0, r1, &fb, &lb);
      // copies, so a read outside the reported rows is an ASan error
      std::vector<int8_t> ba(A.begin() + fa * p.layout.a_row_elems,
                             A.begin() + la * p.layout.a_row_elems);
      std::vector<int8_t> bb(B.begin() + fb * p.layout.b_row_elems,
                             B.begin() + lb * p.layout.b_row_elems);
      InputBand IA{ba.data(), (int32_t)fa, (int32_t)la}, IB{bb.data(), (int32_t)fb, (int32_t)lb};
      if (is_mul) mul_rows(m, IA, IB, Band.data() + r0 * re, r0, r1);
      else add_rows(p, IA, IB, Band.data() + r0 * re, r0, r1);
      r0 = r1;
    }
    CHECK(Band == E, "band t=%d D=%d", t, D);
    {
      std::vector<int8_t> F(no);
      int64_t s1 = R((int)no + 1), s2 = s1 + R((int)(no - s1) + 1);
      const int64_t cuts[4] = {0, s1, s2, no};
      for (int c = 0; c < 3; ++c) {
        if (is_mul) mul_range(m, A.data(), B.data(), F.data(), cuts[c], cuts[c + 1]);
        else add_range(p, A.data(), B.data(), F.data(), cuts[c], cuts[c + 1]);
      }
      CHECK(F == E, "range t=%d kind=%d", t, (int)p.layout.kind);
    }
  }
}

// Vectorized float quantization == the definition, on hard floats.
static void test_quantize_fast() {
  const int N = 1 << 16;
  std::vector<float> x(N);
  std::vector<int8_t> o(N);
  const float scales[] = {1.0f, 0.5f, 0.1f, 0.0039215689f, 1e-6f, 3.3e-3f, 1e-30f, 7.0f, 1e20f};
  for (int t = 0; t < 36; ++t) {
    for (int i = 0; i < N; ++i) {
      uint32_t bits = rng();
      switch (R(4)) {
        case 0: std::memcpy(&x[i], &bits, 4); break;
        case 1: x[i] = (float)(R(2001) - 1000) * 0.5f; break;
        case 2: x[i] = std::ldexp((float)(int32_t)rng(), R(40) - 30); break;
        default: x[i] = std::nextafter((float)(R(600) - 300) + 0.5f, R(2) ? 1e9f : -1e9f);
      }
    }
    QuantizeParams p;
    std::memset(&p, 0, sizeof p);
    p.from_float = 1;
    p.scale = scales[t % 9];
    p.zero_point = R(256) - 128;
    quantize_range(p, x.data(), o.data(), 0, N);
    for (int i = 0; i < N; ++i)
      CHECK(o[i] == quantize_float_value(x[i], p.scale, p.zero_point), "quantize x=%a s=%g", x[i],
            p.scale);
  }
}

// Prepared LUT ops: any split of the range == the whole; softmax rows likewise.
static void test_unary_and_softmax_ranges() {
  Allocator al{arena_alloc, nullptr};
  char msg[256];
  TensorDesc in{}, out{};
  in.type = out.type = DType::kInt8;
  in.shape.rank = out.shape.rank = 2;
  in.shape.dims[0] = out.shape.dims[0] = 7;
  in.shape.dims[1] = out.shape.dims[1] = 37;
  float s1 = 0.07f, s2 = 0.05f, s3 = 1.0f / 256;
  in.quant = QuantInfo{s1, 3, &s1, 1, 0};
  out.quant = QuantInfo{s2, -9, &s2, 1, 0};
  OpOptions opts{};
  opts.alpha = 0.2f;
  opts.beta = 1.0f;
  const TensorDesc* ins[1] = {&in};
  const TensorDesc* outs[1] = {&out};
  const int n = 7 * 37;
  std::vector<int8_t> x(n), whole(n), part(n);
  for (auto& v : x) v = (int8_t)R(256);
  PrepareFn preps[] = {relu_prepare, relu6_prepare, leaky_relu_prepare, hard_swish_prepare};
  for (PrepareFn prep : preps) {
    PrepareContext ctx{0, 0, &opts, 1, ins, 1, outs, &al, msg, sizeof msg};
    CHECK(prep(ctx) == Status::kOk, "prepare: %s", msg);
    const ActivationParams& p = *static_cast<const ActivationParams*>(ctx.params);
    activation_range(p, x.data(), whole.data(), 0, n);
    for (int s = 0; s <= n; s += 13) {
      activation_range(p, x.data(), part.data(), 0, s);
      activation_range(p, x.data(), part.data(), s, n);
      CHECK(part == whole, "activation split %d", s);
    }
    for (int i = 0; i < n; ++i) CHECK(whole[i] == p.lut[(uint8_t)x[i]], "lut");
  }
  out.quant = QuantInfo{s3, -128, &s3, 1, 0};
  PrepareContext ctx{0, 0, &opts, 1, ins, 1, outs, &al, msg, sizeof msg};
  CHECK(softmax_prepare(ctx) == Status::kOk, "softmax prepare: %s", msg);
  const SoftmaxParams& sp = *static_cast<const SoftmaxParams*>(ctx.params);
  softmax_rows(sp, x.data(), whole.data(), 0, sp.num_rows);
  for (int r = 0; r <= 7; ++r) {
    std::memset(part.data(), 0, n);
    softmax_rows(sp, x.data(), part.data(), 0, r);
    softmax_rows(sp, x.data(), part.data(), r, 7);
    CHECK(part == whole, "softmax split %d", r);
  }
}

int main() {
  test_primitives();
  test_exhaustive_binary();
  test_bands();
  test_quantize_fast();
  test_unary_and_softmax_ranges();
  std::printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
