// The one place where the host engine picks its x86 SIMD kernels.
//
// The engine is compiled for baseline x86-64 (so a wheel runs on any x86-64
// CPU); the SIMD kernels in this folder are compiled per function with target
// attributes (x86/isa.h) and reached only through the table returned by
// kernels(), filled once, at first use, from CPUID and the TINYOPS_ISA
// environment variable:
//   unset, "" or "auto"  the best level this CPU supports;
//   "portable"           no SIMD kernels (the portable C++ paths);
//   "avx2"               AVX2 kernels (x86-64-v3: AVX2, FMA, BMI1/2);
//   "avx512"             AVX-512 kernels (F, BW, VL, DQ and VNNI).
// An unknown name, or a level this CPU lacks, is an error (isa_error()), not
// a crash: the table then stays portable and the Python engine, the TFLM
// adapter and the test harnesses refuse to run with that message.
//
// A null entry means "use the portable C++ path". Every level computes the
// same bytes (TFLM's), so which one runs changes only the speed.
//
// Builds that are not x86-64 hosts (firmware, other hosts) and builds with
// TINYOPS_PORTABLE_ONLY get a constant all-null table here, so the call sites
// need no #if and the compiler folds the checks away; x86/*.cc is compiled
// only into the host engine (CMakeLists.txt), never into firmware.
#pragma once
#include <cstdint>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(TINYOPS_FIRMWARE) && \
    !defined(TINYOPS_PORTABLE_ONLY)
#define TINYOPS_X86_DISPATCH 1
#else
#define TINYOPS_X86_DISPATCH 0
#endif

namespace tinyops {

struct DepthwiseConv2DParams;
namespace conv_detail {
struct Requant;
}
namespace ew {
struct AddMath;
struct MulMath;
}  // namespace ew

namespace x86 {

enum class Isa : int32_t { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };
constexpr int32_t kNumIsas = 3;

// Taps of one depthwise filter (KH * KW) up to which dw_row applies.
constexpr int32_t kDwMaxRowTaps = 49;

// Operand forms of the ADD / MUL loops: both inputs vectors of n elements, or
// one of them a single element (read at [0]).
enum BinaryForm : int32_t { kVectorVector = 0, kScalarVector = 1, kVectorScalar = 2 };

struct Kernels {
  Isa isa;

  // conv_detail::requant_rows (requant.h): outs[r][out_off + i] = requant(acc[r * acc_stride
  // + i] + bias[i]) for r < rows, i < n, absolute channels c0 + i.
  void (*requant_rows)(const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n,
                       const int32_t* bias, const conv_detail::Requant& rq, int32_t c0,
                       int8_t* const* outs, int32_t out_off);

  // GEMM over constant weights packed once at prepare time (gemm_pack_bytes
  // bytes for a [nch, K] matrix, laid out by gemm_pack): for the npix pixels
  // xs[p] (K int8 each) and matrix rows [row0, row0 + nch) (absolute output
  // channels [c0, c0 + nch) of rq),
  //   outs[p][i] = requant(bias_eff[i] + sum_k (x_p[k] - gemm_input_shift) * w[row0 + i][k]).
  // `acc` is the portable GEMM's accumulator scratch (kPixelBlock *
  // kChannelBlock int32).
  uint32_t (*gemm_pack_bytes)(int32_t K, int32_t nch);
  void (*gemm_pack)(const int8_t* w, int32_t K, int32_t nch, int8_t* dst);
  void (*gemm_packed)(const int8_t* const* xs, int32_t npix, const int8_t* packed, int32_t K,
                      int32_t row0, int32_t nch, const int32_t* bias_eff,
                      const conv_detail::Requant& rq, int32_t c0, int8_t* const* outs,
                      int32_t* acc);
  // What to add to input_offset when computing bias_eff = bias + (input_offset
  // + shift) * sum(w) for packed weights: -128 when the GEMM multiplies the
  // unsigned bytes x + 128 (VNNI), as sum w*x == sum w*(x + 128) - 128 * sum w.
  int32_t gemm_input_shift;

  // One depthwise output row, depth multiplier 1, at most kDwMaxRowTaps taps:
  // rows[ky] is input row (y * stride_h - pad_top + ky * dilation_h)'s start,
  // or nullptr outside the image; init[i] = bias + input_offset * (weights of
  // the rows inside) for interior columns [xa, xb); border columns sum
  // bias + w * (x + input_offset) over their taps inside. Channels [c0, c0 + n).
  void (*dw_row)(const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
                 const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa,
                 int32_t xb, const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride);

  // out[i] = lut[(uint8_t)in[i]] for i in [begin, end).
  void (*lut8)(const int8_t* lut, const int8_t* in, int8_t* out, int64_t begin, int64_t end);

  // ADD / MUL: out[i] = op.out(op.pa(a[i]), op.pb(b[i])) for i < n (elementwise.h),
  // a or b read at [0] only in the scalar forms. out may be a or b (in place).
  void (*add)(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
              BinaryForm form);
  void (*mul)(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
              BinaryForm form);
};

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

#if TINYOPS_X86_DISPATCH
// The kernels of the selected level (read TINYOPS_ISA and CPUID on first call).
const Kernels& kernels();
// nullptr, or why TINYOPS_ISA cannot be honoured (the kernels are then portable).
const char* isa_error();
// Bit (1 << int(isa)) set for each level this CPU (and OS) can run.
uint32_t supported_isas();
#else
inline const Kernels& kernels() {
  static constexpr Kernels k{Isa::kPortable, nullptr, nullptr, nullptr, nullptr, 0,
                             nullptr,        nullptr, nullptr, nullptr};
  return k;
}
inline const char* isa_error() { return nullptr; }
inline uint32_t supported_isas() { return 1u; }
#endif

}  // namespace x86
}  // namespace tinyops
