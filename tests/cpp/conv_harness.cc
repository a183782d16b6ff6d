// Test harness for the CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED kernels.
//
// Built by tests/test_kernels_conv.py in two ways:
//  * as a shared library (ctypes): h_run() prepares one op from tensor
//    descriptions and runs eval, the reference tile loops, or randomized tile
//    checks, so Python can compare against the TFLM oracle;
//  * with -DCONV_HARNESS_MAIN (and sanitizers) as an executable running a
//    randomized self-test: random ops, whole-op fast path vs reference, and
//    random row-band x channel tiles computed from exactly-sized copies of the
//    input band, filter slice and scratch (so out-of-bounds reads are caught by
//    AddressSanitizer, signed overflow by UBSan).
// Test code: uses the heap and the standard library freely.
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fully_connected.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/requant.h"
#include "kernels/tile.h"
#include "kernels/x86/dispatch.h"

using namespace tinyops;

namespace {

constexpr int kOpConv = 3;
constexpr int kOpDepthwise = 4;
constexpr int kOpFullyConnected = 9;

struct Bump {
  std::vector<uint8_t> buf;
  size_t used = 0;
};

void* bump_alloc(void* self, size_t bytes, size_t align) {
  Bump* b = static_cast<Bump*>(self);
  uintptr_t base = reinterpret_cast<uintptr_t>(b->buf.data());
  uintptr_t p = (base + b->used + align - 1) & ~(uintptr_t(align) - 1);
  if (p + bytes > base + b->buf.size()) return nullptr;
  b->used = p + bytes - base;
  return reinterpret_cast<void*>(p);
}

// Exactly-sized heap copy (at least 1 byte) so ASan sees any overrun.
struct Buf {
  uint8_t* p = nullptr;
  size_t n = 0;
  Buf() = default;
  explicit Buf(size_t bytes) : p(static_cast<uint8_t*>(std::malloc(bytes ? bytes : 1))), n(bytes) {}
  Buf(const void* src, size_t bytes) : Buf(bytes) {
    if (bytes) std::memcpy(p, src, bytes);
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { std::free(p); }
};

struct Prepared {
  Bump bump;
  char msg[512] = {0};
  std::vector<TensorDesc> descs;
  std::vector<const TensorDesc*> in_ptrs;
  const TensorDesc* out_ptr = nullptr;
  const void* params = nullptr;
  uint32_t scratch_bytes = 0;
  Status status = Status::kOk;
};

Status run_prepare(int op, const OpOptions& opt, int n_in, const TensorDesc* ins,
                   const bool* present, const TensorDesc& out, Prepared& pr) {
  // Persistent memory: params, per-channel arrays, packed weights.
  const size_t filter_bytes = n_in > 1 ? static_cast<size_t>(ins[1].shape.num_elements()) : 0;
  pr.bump.buf.assign((size_t{256} << 10) + 2 * filter_bytes, 0);
  pr.descs.assign(ins, ins + n_in);
  pr.descs.push_back(out);
  pr.in_ptrs.clear();
  for (int i = 0; i < n_in; ++i) pr.in_ptrs.push_back(present[i] ? &pr.descs[i] : nullptr);
  pr.out_ptr = &pr.descs[n_in];
  Allocator a{bump_alloc, &pr.bump};
  PrepareContext ctx{};
  ctx.opcode = op;
  ctx.op_index = 0;
  ctx.options = &opt;
  ctx.num_inputs = n_in;
  ctx.inputs = pr.in_ptrs.data();
  ctx.num_outputs = 1;
  ctx.outputs = &pr.out_ptr;
  ctx.allocator = &a;
  ctx.message = pr.msg;
  ctx.message_cap = sizeof(pr.msg);
  Status s = Status::kInternal;
  if (op == kOpConv) s = conv2d_prepare(ctx);
  if (op == kOpDepthwise) s = depthwise_conv2d_prepare(ctx);
  if (op == kOpFullyConnected) s = fully_connected_prepare(ctx);
  pr.status = s;
  pr.params = ctx.params;
  pr.scratch_bytes = ctx.scratch_bytes;
  return s;
}

Status run_eval(int op, const Prepared& pr, const void* const* data, void* out) {
  std::vector<uint8_t> scratch(pr.scratch_bytes + 64);
  void* sp =
      reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 15) & ~uintptr_t(15));
  void* outs[1] = {out};
  EvalContext ectx{pr.params, data, outs, sp};
  if (op == kOpConv) return conv2d_eval(ectx);
  if (op == kOpDepthwise) return depthwise_conv2d_eval(ectx);
  return fully_connected_eval(ectx);
}

// The op's reference tile over each whole image of the batch.
template <class P, class RefTile>
void reference_per_image(const Prepared& pr, const void* const* data, int8_t* out, RefTile tile) {
  const P& p = *static_cast<const P*>(pr.params);
  const int8_t* input = static_cast<const int8_t*>(data[0]);
  const int8_t* filter = static_cast<const int8_t*>(data[1]);
  const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(data[2]) : nullptr;
  for (int b = 0; b < p.batches; ++b) {
    InputBand in{input + size_t(b) * p.in_h * p.in_w * p.in_c, 0, p.in_h};
    OutputTile o{out + size_t(b) * p.out_h * p.out_w * p.out_c,
                 0,
                 p.out_h,
                 0,
                 p.out_c,
                 p.out_w * p.out_c,
                 p.out_c};
    tile(p, in, filter, bias, o);
  }
}

void run_reference(int op, const Prepared& pr, const void* const* data, int8_t* out) {
  if (op == kOpConv) {
    reference_per_image<Conv2DParams>(pr, data, out, conv2d_tile_reference);
  } else if (op == kOpDepthwise) {
    reference_per_image<DepthwiseConv2DParams>(pr, data, out, depthwise_conv2d_tile_reference);
  } else {
    const FullyConnectedParams& p = *static_cast<const FullyConnectedParams*>(pr.params);
    const int8_t* input = static_cast<const int8_t*>(data[0]);
    const int8_t* filter = static_cast<const int8_t*>(data[1]);
    const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(data[2]) : nullptr;
    fully_connected_tile_reference(p, input, filter, bias, out, p.units, 0, p.units, 0, p.batches);
  }
}

// The geometry the tile checks read, from either window op's params.
struct WindowDims {
  int H, W, C, OH, OW, OC, sh, dh, kh, pt, batches;
};
template <class P>
WindowDims window_dims(const void* params) {
  const P& p = *static_cast<const P*>(params);
  return WindowDims{p.in_h,     p.in_w,       p.in_c,     p.out_h,   p.out_w,  p.out_c,
                    p.stride_h, p.dilation_h, p.filter_h, p.pad_top, p.batches};
}

// Random tiles, each compared with the matching slice of `full` (the whole-op
// result). Returns the number of failing tiles; describes the first in msg.
int check_tiles(int op, const Prepared& pr, const void* const* data, const int8_t* full,
                uint32_t seed, int ntiles, std::string* msg) {
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) {  // inclusive
    return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1));
  };
  const int8_t* input = static_cast<const int8_t*>(data[0]);
  const int8_t* filter = static_cast<const int8_t*>(data[1]);
  const uint8_t kSentinel = 0xA5;
  int failures = 0;
  for (int t = 0; t < ntiles; ++t) {
    for (int variant = 0; variant < 2; ++variant) {  // 0: fast tile, 1: reference tile
      if (op == kOpFullyConnected) {
        const FullyConnectedParams& p = *static_cast<const FullyConnectedParams*>(pr.params);
        const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(data[2]) : nullptr;
        int b0 = uni(0, p.batches - 1), b1 = uni(b0 + 1, p.batches);
        int c0 = uni(0, p.units - 1), c1 = uni(c0 + 1, p.units);
        if (t == 0) {
          b0 = 0;
          b1 = p.batches;
          c0 = 0;
          c1 = p.units;
        }
        const int K = p.accum_depth, nch = c1 - c0, nb = b1 - b0;
        Buf in(input + size_t(b0) * K, size_t(nb) * K);
        Buf w(filter + size_t(c0) * K, size_t(nch) * K);
        Buf bias_copy(bias, bias ? size_t(p.units) * 4 : 0);
        const int stride = nch + uni(0, 3);
        Buf o(size_t(nb) * stride);
        std::memset(o.p, kSentinel, o.n);
        const uint32_t sbytes = fully_connected_tile_scratch_size(p, nb, nch);
        Buf scratch(sbytes);
        if (variant == 0) {
          fully_connected_tile(p, reinterpret_cast<int8_t*>(in.p), reinterpret_cast<int8_t*>(w.p),
                               bias ? reinterpret_cast<int32_t*>(bias_copy.p) : nullptr,
                               reinterpret_cast<int8_t*>(o.p), stride, c0, c1, b0, b1, scratch.p);
        } else {
          fully_connected_tile_reference(p, reinterpret_cast<int8_t*>(in.p),
                                         reinterpret_cast<int8_t*>(w.p),
                                         bias ? reinterpret_cast<int32_t*>(bias_copy.p) : nullptr,
                                         reinterpret_cast<int8_t*>(o.p), stride, c0, c1, b0, b1);
        }
        bool bad = false;
        for (int b = b0; b < b1 && !bad; ++b)
          for (int j = 0; j < stride && !bad; ++j) {
            const uint8_t got = o.p[size_t(b - b0) * stride + j];
            if (j < nch) {
              bad = static_cast<int8_t>(got) != full[size_t(b) * p.units + c0 + j];
            } else {
              bad = got != kSentinel;
            }
          }
        if (bad) {
          if (failures++ == 0) {
            char buf[256];
            std::snprintf(buf, sizeof buf, "FC tile (%s) batches [%d,%d) units [%d,%d) differs",
                          variant ? "reference" : "fast", b0, b1, c0, c1);
            *msg = buf;
          }
        }
        continue;
      }
      // Spatial ops.
      const auto [H, W, C, OH, OW, OC, sh, dh, kh, pt, batches] =
          op == kOpConv ? window_dims<Conv2DParams>(pr.params)
                        : window_dims<DepthwiseConv2DParams>(pr.params);
      const int b = uni(0, batches - 1);
      int r0 = uni(0, OH - 1), r1 = uni(r0 + 1, OH);
      int c0 = uni(0, OC - 1), c1 = uni(c0 + 1, OC);
      if (t == 0) {
        r0 = 0;
        r1 = OH;
        c0 = 0;
        c1 = OC;
      }
      if (t == 1) {
        r1 = r0 + 1;
      }
      const int nch = c1 - c0, rows = r1 - r0;
      int first = 0, last = 0;
      window_input_rows(r0, r1, sh, dh, kh, pt, H, &first, &last);
      const size_t row_bytes = size_t(W) * C;
      const int8_t* img = input + size_t(b) * H * row_bytes;
      Buf band(img + size_t(first) * row_bytes, size_t(last - first) * row_bytes);
      InputBand in{reinterpret_cast<int8_t*>(band.p), first, last};
      const int pixel_stride = nch + uni(0, 3);
      const int row_stride = OW * pixel_stride + uni(0, 5);
      Buf o(size_t(rows) * row_stride);
      std::memset(o.p, kSentinel, o.n);
      OutputTile tile{reinterpret_cast<int8_t*>(o.p), r0, r1, c0, c1, row_stride, pixel_stride};
      const int8_t* fullimg = full + size_t(b) * OH * OW * OC;
      if (op == kOpConv) {
        const Conv2DParams& p = *static_cast<const Conv2DParams*>(pr.params);
        const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(data[2]) : nullptr;
        const size_t K = size_t(p.filter_volume);
        Buf w(filter + size_t(c0) * K, size_t(nch) * K);
        Buf bias_copy(bias, bias ? size_t(OC) * 4 : 0);
        Buf scratch(conv2d_tile_scratch_size(p, rows, nch));
        const int32_t* bp = bias ? reinterpret_cast<int32_t*>(bias_copy.p) : nullptr;
        if (variant == 0) {
          conv2d_tile(p, in, reinterpret_cast<int8_t*>(w.p), bp, tile, scratch.p);
        } else {
          conv2d_tile_reference(p, in, reinterpret_cast<int8_t*>(w.p), bp, tile);
        }
      } else {
        const DepthwiseConv2DParams& p = *static_cast<const DepthwiseConv2DParams*>(pr.params);
        const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(data[2]) : nullptr;
        Buf w(filter, size_t(p.filter_h) * p.filter_w * OC);
        Buf bias_copy(bias, bias ? size_t(OC) * 4 : 0);
        Buf scratch(depthwise_conv2d_tile_scratch_size(p, rows, nch));
        const int32_t* bp = bias ? reinterpret_cast<int32_t*>(bias_copy.p) : nullptr;
        if (variant == 0) {
          depthwise_conv2d_tile(p, in, reinterpret_cast<int8_t*>(w.p), bp, tile, scratch.p);
        } else {
          depthwise_conv2d_tile_reference(p, in, reinterpret_cast<int8_t*>(w.p), bp, tile);
        }
      }
      bool bad = false;
      for (int y = 0; y < rows && !bad; ++y)
        for (int j = 0; j < row_stride && !bad; ++j) {
          const uint8_t got = o.p[size_t(y) * row_stride + j];
          const int x = j / pixel_stride, k = j % pixel_stride;
          if (x < OW && k < nch) {
            bad = static_cast<int8_t>(got) != fullimg[(size_t(r0 + y) * OW + x) * OC + c0 + k];
          } else {
            bad = got != kSentinel;
          }
        }
      if (bad && failures++ == 0) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "%s tile (%s) batch %d rows [%d,%d) channels [%d,%d) differs",
                      op == kOpConv ? "CONV_2D" : "DEPTHWISE_CONV_2D",
                      variant ? "reference" : "fast", b, r0, r1, c0, c1);
        *msg = buf;
      }
    }
  }
  return failures;
}

}  // namespace

extern "C" {

// The kernel level in use ("portable", "avx2", "avx512"), or why TINYOPS_ISA
// cannot be honoured.
const char* h_isa() {
  if (const char* e = x86::isa_error()) return e;
  return x86::isa_name(x86::kernels().isa);
}

// Mirrors the ctypes structure in tests/test_kernels_conv.py.
struct HTensor {
  int32_t type;
  int32_t rank;
  int32_t dims[6];
  float scale;
  int32_t zero_point;
  const float* scales;
  int32_t num_scales;
  int32_t quantized_dimension;
  const void* data;
  int32_t is_const;
  int32_t present;
};

static TensorDesc to_desc(const HTensor& h) {
  TensorDesc d{};
  d.type = static_cast<DType>(h.type);
  d.shape.rank = h.rank;
  for (int i = 0; i < kMaxRank; ++i) d.shape.dims[i] = i < h.rank ? h.dims[i] : 0;
  d.quant.scale = h.scale;
  d.quant.zero_point = h.zero_point;
  d.quant.scales = h.scales;
  d.quant.num_scales = h.num_scales;
  d.quant.quantized_dimension = h.quantized_dimension;
  d.const_data = h.is_const ? h.data : nullptr;
  d.bytes = static_cast<uint32_t>(d.shape.num_elements() * dtype_size(d.type));
  return d;
}

// mode 0: eval into out_data; 1: reference loops into out_data; 2: eval, then
// `ntiles` random tiles (fast and reference) checked against it; 3: eval timed
// `ntiles` times (returns 0, writes nanoseconds per run into *ns).
// Returns 0 on success, the prepare Status (1..6) on rejection, 100 + n for n
// failing tiles. msg receives prepare's message or the first tile failure.
int32_t h_run(int32_t op, const int32_t* options, int32_t n_in, const HTensor* ins,
              const HTensor* out, void* out_data, int32_t mode, uint32_t seed, int32_t ntiles,
              double* ns, char* msg, int32_t msg_cap) {
  OpOptions opt;
  std::memcpy(&opt, options, sizeof opt);
  std::vector<TensorDesc> descs;
  bool present[8] = {false};
  std::vector<const void*> data(8, nullptr);
  for (int i = 0; i < n_in; ++i) {
    descs.push_back(to_desc(ins[i]));
    present[i] = ins[i].present != 0;
    data[i] = present[i] ? ins[i].data : nullptr;
  }
  Prepared pr;
  Status s = run_prepare(op, opt, n_in, descs.data(), present, to_desc(*out), pr);
  if (msg && msg_cap > 0) std::snprintf(msg, size_t(msg_cap), "%s", pr.msg);
  if (s != Status::kOk) return static_cast<int32_t>(s);
  int8_t* o = static_cast<int8_t*>(out_data);
  if (mode == 1) {
    run_reference(op, pr, data.data(), o);
    return 0;
  }
  if (mode == 3) {
    run_eval(op, pr, data.data(), o);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < ntiles; ++i) run_eval(op, pr, data.data(), o);
    const auto t1 = std::chrono::steady_clock::now();
    if (ns) *ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / (ntiles ? ntiles : 1);
    return 0;
  }
  run_eval(op, pr, data.data(), o);
  if (mode == 2) {
    std::string m;
    const int fails = check_tiles(op, pr, data.data(), o, seed, ntiles, &m);
    if (fails) {
      if (msg && msg_cap > 0) std::snprintf(msg, size_t(msg_cap), "%s", m.c_str());
      return 100 + fails;
    }
  }
  return 0;
}

}  // extern "C"

#ifdef CONV_HARNESS_MAIN
// Randomized self-test: random valid ops with random data; whole-op fast path
// vs reference loops, plus random tiles.
int main(int argc, char** argv) {
  const int cases = argc > 1 ? std::atoi(argv[1]) : 300;
  const uint32_t seed0 = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 1;
  std::mt19937 rng(seed0);
  auto uni = [&](int lo, int hi) { return lo + static_cast<int>(rng() % uint32_t(hi - lo + 1)); };
  auto unif = [&](double lo, double hi) {
    return lo + (hi - lo) * (static_cast<double>(rng()) / 4294967296.0);
  };
  if (const char* e = x86::isa_error()) {
    std::printf("%s\n", e);
    return 2;
  }
  std::printf("kernels: %s\n", x86::isa_name(x86::kernels().isa));
  int failures = 0, rejected = 0;
  // The fast output stage (scalar and SIMD) against quant.h's TFLM-style
  // MultiplyByQuantizedMultiplier, including extreme accumulators and shifts.
  {
    const int32_t specials[] = {0,
                                1,
                                -1,
                                2,
                                -2,
                                1 << 30,
                                -(1 << 30),
                                INT32_MAX,
                                INT32_MIN,
                                INT32_MAX - 1,
                                INT32_MIN + 1,
                                12345,
                                -12345};
    // 4096 + 13 values: the SIMD paths' partial last vectors too.
    std::vector<int32_t> acc(4109), mult(4109), ls(4109), rs(4109), shift(4109);
    for (size_t i = 0; i < acc.size(); ++i) {
      acc[i] = i < 13 * 8 ? specials[i % 13] : static_cast<int32_t>(rng()) >> uni(0, 31);
      mult[i] =
          uni(0, 7) == 0 ? (1 << 30) + uni(0, 3) : static_cast<int32_t>((rng() >> 1) | (1u << 30));
      if (uni(0, 15) == 0) mult[i] = 0;
      shift[i] = uni(0, 9) == 0 ? uni(1, 31) : uni(-31, 0);
      ls[i] = shift[i] > 0 ? shift[i] : 0;
      rs[i] = shift[i] > 0 ? 0 : -shift[i];
    }
    std::vector<int8_t> out(acc.size());
    const conv_detail::Requant rq{mult.data(), ls.data(), rs.data(), uni(-128, 127), -128, 127};
    conv_detail::requant_row(acc.data(), static_cast<int32_t>(acc.size()), nullptr, rq, 0,
                             out.data());
    int bad = 0;
    for (size_t i = 0; i < acc.size(); ++i) {
      int32_t v = multiply_by_quantized_multiplier(acc[i], mult[i], shift[i]) + rq.output_offset;
      v = v < -128 ? -128 : (v > 127 ? 127 : v);
      const int32_t s = conv_detail::requant_value(acc[i], mult[i], ls[i], rs[i]);
      if (out[i] != v || s != multiply_by_quantized_multiplier(acc[i], mult[i], shift[i])) ++bad;
    }
    if (bad) {
      ++failures;
      std::printf("output stage: %d of %zu values differ\n", bad, acc.size());
    }
  }
  for (int ci = 0; ci < cases; ++ci) {
    const int op = ci % 3 == 0 ? kOpConv : (ci % 3 == 1 ? kOpDepthwise : kOpFullyConnected);
    OpOptions opt{};
    opt.padding = uni(0, 1);
    opt.stride_h = uni(1, 3);
    opt.stride_w = uni(1, 3);
    opt.dilation_h = uni(1, 3) == 3 ? uni(2, 3) : 1;
    opt.dilation_w = uni(1, 3) == 3 ? uni(2, 3) : 1;
    opt.activation = uni(0, 3);
    opt.depth_multiplier = uni(1, 4) == 4 ? uni(2, 3) : 1;
    const int N = uni(1, 2), H = uni(1, 12), W = uni(1, 12);
    int C = uni(1, 5) == 5 ? uni(17, 70) : uni(1, 16);
    int kh = uni(1, 5), kw = uni(1, 5);
    if (uni(0, 5) == 0) {
      kh = 7;
      kw = 7;
    }
    if (uni(0, 3) == 0) {
      kh = kw = 1;
      opt.padding = uni(0, 1);
    }
    const bool has_bias = uni(0, 4) != 0;
    const bool per_channel = uni(0, 3) != 0;
    const float in_scale = static_cast<float>(std::exp(unif(std::log(1e-3), std::log(1.0))));
    const float out_scale = static_cast<float>(std::exp(unif(std::log(1e-3), std::log(10.0))));
    const int in_zp = uni(-128, 127), out_zp = uni(-128, 127);
    std::vector<TensorDesc> d(4);
    std::vector<int8_t> input, filter, output, out_ref;
    std::vector<int32_t> bias;
    std::vector<float> fscales;
    int OC = 0;
    auto set_shape = [](TensorDesc& t, std::initializer_list<int> dims) {
      t.shape.rank = static_cast<int32_t>(dims.size());
      int i = 0;
      for (int v : dims) t.shape.dims[i++] = v;
    };
    int groups = 1;
    if (op == kOpConv) {
      OC = uni(1, 4) == 4 ? uni(17, 70) : uni(1, 16);
      if (uni(0, 6) == 0 && C % 2 == 0 && OC % 2 == 0) groups = 2;
      set_shape(d[0], {N, H, W, C});
      set_shape(d[1], {OC, kh, kw, C / groups});
    } else if (op == kOpDepthwise) {
      OC = C * opt.depth_multiplier;
      set_shape(d[0], {N, H, W, C});
      set_shape(d[1], {1, kh, kw, OC});
    } else {
      OC = uni(1, 3) == 3 ? uni(17, 90) : uni(1, 16);
      const int K = uni(1, 4) == 4 ? uni(49, 300) : uni(1, 48);
      set_shape(d[0], {N, uni(1, 3), K});
      set_shape(d[1], {OC, K});
    }
    int out_h = 1, out_w = 1;
    if (op != kOpFullyConnected) {
      out_h = conv_output_size(opt.padding, H, kh, opt.stride_h, opt.dilation_h);
      out_w = conv_output_size(opt.padding, W, kw, opt.stride_w, opt.dilation_w);
      if (out_h < 1 || out_w < 1) {
        opt.padding = kPaddingSame;
        out_h = conv_output_size(0, H, kh, opt.stride_h, opt.dilation_h);
        out_w = conv_output_size(0, W, kw, opt.stride_w, opt.dilation_w);
      }
      set_shape(d[3], {N, out_h, out_w, OC});
    } else {
      set_shape(d[3], {N, d[0].shape.dims[1], OC});
    }
    set_shape(d[2], {OC});
    const int nscales = per_channel ? OC : 1;
    const double base = std::exp(unif(std::log(1e-4), std::log(1e-1)));
    for (int i = 0; i < nscales; ++i)
      fscales.push_back(static_cast<float>(base * std::exp(unif(-3.0, 3.0))));
    input.resize(d[0].shape.num_elements());
    for (auto& v : input) v = static_cast<int8_t>(uni(-128, 127));
    filter.resize(d[1].shape.num_elements());
    for (auto& v : filter) v = static_cast<int8_t>(uni(-127, 127));
    bias.resize(OC);
    for (auto& v : bias) v = uni(0, 9) == 0 ? static_cast<int32_t>(rng()) : uni(-30000, 30000);
    output.assign(d[3].shape.num_elements(), 0);
    out_ref.assign(d[3].shape.num_elements(), 0);
    for (int i = 0; i < 4; ++i) d[i].type = DType::kInt8;
    d[2].type = DType::kInt32;
    d[0].quant = QuantInfo{in_scale, in_zp, nullptr, 1, 0};
    d[3].quant = QuantInfo{out_scale, out_zp, nullptr, 1, 0};
    const int fzp = (op == kOpFullyConnected && !per_channel && uni(0, 1)) ? uni(-128, 127) : 0;
    d[1].quant = QuantInfo{fscales[0], fzp, fscales.data(), nscales, op == kOpDepthwise ? 3 : 0};
    float bscale = in_scale * fscales[0];
    d[2].quant = QuantInfo{bscale, 0, &bscale, 1, 0};
    d[1].const_data = (ci / 3) % 2 ? filter.data() : nullptr;  // constant or runtime weights
    bool present[3] = {true, true, has_bias};
    Prepared pr;
    Status s = run_prepare(op, opt, 3, d.data(), present, d[3], pr);
    if (s != Status::kOk) {
      ++rejected;
      std::printf("case %d rejected: %s\n", ci, pr.msg);
      continue;
    }
    const void* data[3] = {input.data(), filter.data(), has_bias ? bias.data() : nullptr};
    run_eval(op, pr, data, output.data());
    run_reference(op, pr, data, out_ref.data());
    if (output != out_ref) {
      ++failures;
      std::printf("case %d (op %d): eval != reference\n", ci, op);
      continue;
    }
    std::string m;
    const int f = check_tiles(op, pr, data, output.data(), seed0 * 7919u + ci, 12, &m);
    if (f) {
      ++failures;
      std::printf("case %d (op %d): %s\n", ci, op, m.c_str());
    }
  }
  std::printf("self-test: %d cases, %d failures, %d rejected\n", cases, failures, rejected);
  return failures ? 1 : 0;
}
#endif
