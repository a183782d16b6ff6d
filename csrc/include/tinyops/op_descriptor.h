// One descriptor per op (the pattern of TFLM's TFLMRegistration): everything
// the runtime, the tiler, the scheduler, the TFLM adapter and the Python side
// need to know about an op, defined once beside its kernel and listed once in
// the registry (csrc/runtime/op_registry.cc). Nothing outside the kernel file
// switches on the op's code or casts its params: the hooks below do, in the
// file that owns the params type.
#pragma once
#include <cstdint>

#include "tinyops/builtin_ops.h"
#include "tinyops/op_api.h"

namespace tinyops {

struct InputBand;     // kernels/tile.h
struct OutputTile;    // kernels/tile.h
struct BinaryLayout;  // kernels/elementwise.h

// How an op can be partitioned (decided by its family hook from its prepared
// params). Values index TileCostModel::work_cycles_milli.
enum class OpFamily : uint32_t {
  kOther = 0,       // whole tensors only (kInPlace / kStaged)
  kCopy,            // RESHAPE, SQUEEZE
  kConv,            // CONV_2D: row bands x output-channel tiles
  kDepthwise,       // DEPTHWISE_CONV_2D: row bands
  kPool,            // AVERAGE_POOL_2D, MAX_POOL_2D: row bands x channel ranges
  kMeanRows,        // MEAN over H, W of a 4-D tensor: accumulated band by band
  kUnary,           // LUT activations: flat chunks
  kBinaryFlat,      // ADD / MUL, same shape or scalar operand: flat chunks
  kBinaryRows,      // ADD / MUL with broadcasting: output row bands
  kFullyConnected,  // output-channel tiles of the weights
};
constexpr int kNumOpFamilies = 10;

// The sizes a tiled op's buffers are computed from (geometry hook).
struct TileGeometry {
  int32_t batches;
  int32_t in_h, in_w, in_c;     // window ops; MEAN: its input's H, W, C
  int32_t out_h, out_w, out_c;  // window ops; FULLY_CONNECTED: out_c = units
  int32_t stride_h, dilation_h, filter_h;
  int32_t weights_per_channel;  // weight bytes per output channel (conv, fully connected)
  uint64_t work;                // MACs of one inference; 0: one per output element
};

// The tile hooks. Which ones an op sets depends on its family:
//   kConv, kDepthwise, kPool: geometry, input_rows, window (+ scratch_bytes)
//   kUnary: range (+ run_params); kBinaryFlat / kBinaryRows: binary_layout, range, rows
//   kMeanRows: geometry, accumulate, finish; kFullyConnected: geometry,
//   channels (+ scratch_bytes). kCopy and kOther need none.
struct TileHooks {
  // The op's family for these params; nullptr: kOther.
  OpFamily (*family)(const void* params);
  void (*geometry)(const void* params, TileGeometry* g);
  // Input rows [*first, *last) that output rows [r0, r1) read.
  void (*input_rows)(const void* params, int32_t r0, int32_t r1, int32_t* first, int32_t* last);
  // Kernel scratch for a tile of `rows` output rows (fully connected: batches)
  // x `channels` output channels; nullptr: none.
  uint32_t (*scratch_bytes)(const void* params, int32_t rows, int32_t channels);
  const BinaryLayout* (*binary_layout)(const void* params);

  // Tile functions.
  void (*window)(const void* params, const InputBand& in, const int8_t* filter, const int32_t* bias,
                 const OutputTile& out, void* scratch);
  // Elements [begin, end) of flat operands (b is nullptr for unary ops).
  void (*range)(const void* params, const int8_t* a, const int8_t* b, int8_t* out, int64_t begin,
                int64_t end);
  // Output rows [r0, r1) of a broadcasting binary op into `out`.
  void (*rows)(const void* params, const InputBand& a, const InputBand& b, int8_t* out, int64_t r0,
               int64_t r1);
  void (*accumulate)(const void* params, const int8_t* rows, int32_t num_rows, int32_t* acc);
  void (*finish)(const void* params, const int32_t* acc, int8_t* out);
  // Output channels [c0, c1) of batches [b0, b1); out row stride out_stride.
  void (*channels)(const void* params, const int8_t* input, const int8_t* filter,
                   const int32_t* bias, int8_t* out, int32_t out_stride, int32_t c0, int32_t c1,
                   int32_t b0, int32_t b1, void* scratch);
  // What `range` receives for one run of the op, set up once with the op's
  // scratch (nullptr when it has none): e.g. a LUT copied into internal SRAM.
  // nullptr: the prepared params.
  const void* (*run_params)(const void* params, void* scratch);
};

enum OpDescriptorFlags : uint32_t {
  // The TFLM adapter (csrc/tflm) serves this op inside a TFLM interpreter;
  // bits 8-15 say which TFLM builtin-data struct holds its options
  // (served_in_tflm()).
  kServedInTflm = 1u << 0,
};

// The TFLM builtin-data struct of a served op's options: the adapter reads
// options by struct, so a new op with one of these needs no adapter change.
enum class TflmOptions : uint32_t {
  kNone = 0,  // no builtin data read
  kConv,
  kDepthwiseConv,
  kPool,
  kFullyConnected,
  kAdd,
  kMul,
  kReducer,
};

constexpr uint32_t served_in_tflm(TflmOptions options) {
  return kServedInTflm | (static_cast<uint32_t>(options) << 8);
}
constexpr TflmOptions tflm_options(uint32_t flags) {
  return static_cast<TflmOptions>((flags >> 8) & 0xFFu);
}

struct OpDescriptor {
  int32_t opcode;    // BuiltinOperator
  const char* name;  // builtin_op_name(opcode)
  PrepareFn prepare;
  EvalFn eval;
  // The latency estimator's cost-table family (tinyops_tflm.latency.cost_class
  // refines "conv" and "depthwise" by kernel shape).
  const char* cost_class;
  uint32_t flags;  // OpDescriptorFlags
  TileHooks tile;  // all nullptr: whole tensors only
};

template <OpFamily F>
OpFamily fixed_family(const void*) {
  return F;
}

}  // namespace tinyops
