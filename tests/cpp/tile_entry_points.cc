// Tile entry points of pooling, MEAN and PAD against whole-tensor runs: any
// partition of the output into tiles must give the same bytes. Built (ASan +
// UBSan) and run by tests/test_kernels_data.py::test_tile_partitions_equal_whole_tensor.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/mean.h"
#include "kernels/pad.h"
#include "kernels/pooling.h"

using namespace tinyops;

static std::mt19937 rng(12345);
static int R(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
static std::vector<void*> g_blocks;
static void* heap_alloc(void*, size_t n, size_t) {
  void* p = std::calloc(1, n + 64);
  g_blocks.push_back(p);
  return p;
}
static Allocator g_alloc{heap_alloc, nullptr};
static int failures = 0;
#define CHECK(c, ...) \
  do { \
    if (!(c)) { \
      ++failures; \
      std::printf(__VA_ARGS__); \
      std::printf("\n"); \
    } \
  } while (0)

static TensorDesc desc(DType t, std::initializer_list<int> dims, float scale, int zp,
                       const void* data = nullptr) {
  TensorDesc d{};
  d.type = t;
  d.shape.rank = (int)dims.size();
  int i = 0;
  for (int v : dims) d.shape.dims[i++] = v;
  d.quant.scale = scale;
  d.quant.zero_point = zp;
  d.quant.num_scales = 1;
  d.quant.scales = &d.quant.scale;
  d.const_data = data;
  d.bytes = (uint32_t)(d.shape.num_elements() * (int64_t)dtype_size(t));
  return d;
}

static char msg[256];
static const void* prepare(PrepareFn fn, int opcode, const OpOptions& o,
                           std::vector<const TensorDesc*> in, const TensorDesc* out) {
  PrepareContext ctx{};
  ctx.opcode = opcode;
  ctx.options = &o;
  ctx.num_inputs = (int)in.size();
  ctx.inputs = in.data();
  ctx.num_outputs = 1;
  ctx.outputs = &out;
  ctx.allocator = &g_alloc;
  ctx.message = msg;
  ctx.message_cap = sizeof msg;
  Status s = fn(ctx);
  if (s != Status::kOk) {
    std::printf("prepare failed: %s\n", msg);
    std::exit(2);
  }
  return ctx.params;
}

// Random cut points of [0, n) into consecutive ranges.
static std::vector<int> cuts(int n) {
  std::vector<int> c{0};
  for (int i = 1; i < n; ++i)
    if (R(0, 2) == 0) c.push_back(i);
  c.push_back(n);
  return c;
}

static void test_pool(bool avg) {
  for (int trial = 0; trial < 300; ++trial) {
    int H = R(1, 12), W = R(1, 12), C = R(0, 9) == 0 ? R(257, 300) : R(1, 24);
    int fh = R(1, 6), fw = R(1, 6);
    OpOptions o{};
    o.padding = (fh <= H && fw <= W && R(0, 1)) ? kPaddingValid : kPaddingSame;
    o.stride_h = R(1, 3);
    o.stride_w = R(1, 3);
    o.filter_h = fh;
    o.filter_w = fw;
    o.activation = R(0, 3);
    int OH = conv_output_size(o.padding, H, fh, o.stride_h, 1),
        OW = conv_output_size(o.padding, W, fw, o.stride_w, 1);
    TensorDesc in = desc(DType::kInt8, {1, H, W, C}, 0.05f, R(-20, 20));
    TensorDesc out = desc(DType::kInt8, {1, OH, OW, C}, 0.05f, in.quant.zero_point);
    const PoolParams& p = *(const PoolParams*)prepare(
        avg ? average_pool2d_prepare : max_pool2d_prepare, avg ? 1 : 17, o, {&in}, &out);
    std::vector<int8_t> x((size_t)H * W * C);
    for (auto& v : x) v = (int8_t)R(-128, 127);
    std::vector<int8_t> full((size_t)OH * OW * C), tiled(full.size(), 0x55);
    const void* ins[1] = {x.data()};
    void* outs[1] = {full.data()};
    EvalContext ec{&p, ins, outs, nullptr};
    (avg ? average_pool2d_eval : max_pool2d_eval)(ec);
    std::vector<int> rc = cuts(OH), cc = cuts(C);
    for (size_t a = 0; a + 1 < rc.size(); ++a) {
      int first, last;
      pool_input_rows(p, rc[a], rc[a + 1], &first, &last);
      // exactly the band, in its own allocation (ASan catches reads outside it)
      std::vector<int8_t> band(x.begin() + (size_t)first * W * C, x.begin() + (size_t)last * W * C);
      for (size_t b = 0; b + 1 < cc.size(); ++b) {
        OutputTile t{tiled.data() + (size_t)rc[a] * OW * C + cc[b],
                     rc[a],
                     rc[a + 1],
                     cc[b],
                     cc[b + 1],
                     OW * C,
                     C};
        (avg ? average_pool2d_tile : max_pool2d_tile)(p, InputBand{band.data(), first, last}, t);
      }
    }
    CHECK(full == tiled, "%s pool tile mismatch H=%d W=%d C=%d f=%dx%d s=%dx%d pad=%d",
          avg ? "avg" : "max", H, W, C, fh, fw, o.stride_h, o.stride_w, o.padding);
  }
}

static void test_mean() {
  for (int trial = 0; trial < 200; ++trial) {
    int N = R(1, 2), H = R(1, 12), W = R(1, 12), C = R(1, 40);
    int32_t axes[2] = {R(0, 1) ? 1 : -3, 2};
    OpOptions o{};
    o.keep_dims = R(0, 1);
    TensorDesc in = desc(DType::kInt8, {N, H, W, C}, 0.02f + 0.001f * R(0, 50), R(-128, 127));
    TensorDesc ax = desc(DType::kInt32, {2}, 0.f, 0, axes);
    TensorDesc out = o.keep_dims
                         ? desc(DType::kInt8, {N, 1, 1, C}, 0.01f + 0.001f * R(0, 50), R(-128, 127))
                         : desc(DType::kInt8, {N, C}, 0.01f + 0.001f * R(0, 50), R(-128, 127));
    const MeanParams& p = *(const MeanParams*)prepare(mean_prepare, 40, o, {&in, &ax}, &out);
    CHECK(p.hw_path, "MEAN over {1,2} should take the HW path");
    std::vector<int8_t> x((size_t)N * H * W * C);
    for (auto& v : x) v = (int8_t)R(-128, 127);
    std::vector<int8_t> full((size_t)N * C), banded(full.size(), 0x55);
    std::vector<int32_t> scratch(mean_scratch_size(p) / 4);
    const void* ins[2] = {x.data(), axes};
    void* outs[1] = {full.data()};
    EvalContext ec{&p, ins, outs, scratch.data()};
    mean_eval(ec);
    for (int b = 0; b < N; ++b) {
      std::vector<int32_t> acc(C, 0);
      std::vector<int> rc = cuts(H);
      for (size_t a = rc.size() - 1; a-- > 0;) {  // bands in reverse order on purpose
        std::vector<int8_t> band(x.begin() + ((size_t)b * H + rc[a]) * W * C,
                                 x.begin() + ((size_t)b * H + rc[a + 1]) * W * C);
        mean_hw_accumulate(p, band.data(), rc[a + 1] - rc[a], acc.data());
      }
      mean_hw_finish(p, acc.data(), banded.data() + (size_t)b * C);
    }
    CHECK(full == banded, "mean band mismatch N=%d H=%d W=%d C=%d", N, H, W, C);
  }
}

static void test_pad() {
  for (int trial = 0; trial < 200; ++trial) {
    int N = R(1, 2), H = R(1, 8), W = R(1, 8), C = R(1, 9);
    int32_t pads[8];
    for (int i = 0; i < 8; ++i) pads[i] = R(0, 3);
    OpOptions o{};
    int zp = R(-128, 127);
    TensorDesc in = desc(DType::kInt8, {N, H, W, C}, 0.1f, zp);
    TensorDesc pd = desc(DType::kInt32, {4, 2}, 0.f, 0, pads);
    int OH = H + pads[2] + pads[3], OW = W + pads[4] + pads[5], OC = C + pads[6] + pads[7];
    int ON = N + pads[0] + pads[1];
    TensorDesc out = desc(DType::kInt8, {ON, OH, OW, OC}, 0.1f, zp);
    const PadParams& p = *(const PadParams*)prepare(pad_prepare, 34, o, {&in, &pd}, &out);
    std::vector<int8_t> x((size_t)N * H * W * C);
    for (auto& v : x) v = (int8_t)R(-128, 127);
    size_t out_image = (size_t)OH * OW * OC;
    std::vector<int8_t> full(ON * out_image), tiled(full.size(), 0x55);
    const void* ins[2] = {x.data(), pads};
    void* outs[1] = {full.data()};
    EvalContext ec{&p, ins, outs, nullptr};
    pad_eval(ec);
    for (int b = 0; b < ON; ++b) {
      int8_t* img = tiled.data() + b * out_image;
      int ib = b - pads[0];
      if (ib < 0 || ib >= N) {
        pad_fill(p, img, (int64_t)out_image);
        continue;
      }
      std::vector<int> rc = cuts(OH);
      for (size_t a = 0; a + 1 < rc.size(); ++a) {
        int first, last;
        pad_input_rows(p, rc[a], rc[a + 1], &first, &last);
        std::vector<int8_t> band(x.begin() + ((size_t)ib * H + first) * W * C,
                                 x.begin() + ((size_t)ib * H + last) * W * C);
        band.reserve(band.size() + 1);
        pad_rows(p, InputBand{band.data(), first, last}, rc[a], rc[a + 1],
                 img + (size_t)rc[a] * OW * OC);
      }
    }
    CHECK(full == tiled, "pad band mismatch");
  }
}

int main() {
  test_pool(true);
  test_pool(false);
  test_mean();
  test_pad();
  for (void* p : g_blocks) std::free(p);
  std::printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
