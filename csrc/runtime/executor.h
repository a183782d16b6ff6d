// Runs a validated plan from caller-given memory.
//
// load() validates the plan bytes completely (every offset, index and size),
// then runs each op's prepare, which checks the op the way TFLM does. After a
// successful load, invoke() runs the ops in order with no allocation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dma_partition/dma.h"
#include "dma_partition/scheduler.h"
#include "runtime/plan_format.h"
#include "tinyops/op_descriptor.h"

namespace tinyops {

struct RegionBinding {
  void* base;      // region start (16-byte aligned)
  uint32_t bytes;  // capacity; must be >= what the plan records
};

class Executor {
 public:
  // `regions` has one binding per plan region; constant regions must already
  // hold the model constants (prepare reads them). All executor state and op
  // parameters come from `allocator`. On failure, `message` says why.
  Status load(const uint8_t* plan, size_t plan_bytes, const RegionBinding* regions,
              uint32_t num_regions, Allocator* allocator, char* message, size_t message_cap);
  // Runs every op in order. A partitioned plan moves data with `dma`
  // (required then); per-op statistics of the run are kept (op_stats()).
  Status invoke(DmaEngine* dma = nullptr);

  bool loaded() const { return ops_ != nullptr; }
  uint32_t num_tensors() const { return num_tensors_; }
  uint32_t num_ops() const { return num_ops_; }
  uint32_t num_inputs() const { return num_inputs_; }
  uint32_t num_outputs() const { return num_outputs_; }
  int32_t input_tensor(uint32_t i) const { return io_[i]; }
  int32_t output_tensor(uint32_t i) const { return io_[num_inputs_ + i]; }
  const TensorDesc& tensor(uint32_t i) const { return descs_[i]; }
  const char* tensor_name(uint32_t i) const;
  void* tensor_data(uint32_t i) const { return data_[i]; }
  int32_t op_code(uint32_t i) const { return ops_[i].kernel->opcode; }
  const OpDescriptor* op_descriptor(uint32_t i) const { return ops_[i].kernel; }
  const char* op_name(uint32_t i) const { return ops_[i].kernel->name; }
  uint32_t scratch_bytes() const { return scratch_bytes_; }
  // Prepared op i, for the planner.
  const void* op_params(uint32_t i) const { return ops_[i].params; }
  uint32_t op_scratch(uint32_t i) const { return ops_[i].scratch; }
  uint32_t op_num_inputs(uint32_t i) const { return ops_[i].num_inputs; }
  uint32_t op_num_outputs(uint32_t i) const { return ops_[i].num_outputs; }
  const int32_t* op_inputs(uint32_t i) const { return ops_[i].inputs; }
  const int32_t* op_outputs(uint32_t i) const { return ops_[i].outputs; }
  bool partitioned() const { return sched_ != nullptr; }
  uint32_t num_regions() const { return header_ ? header_->num_regions : 0; }
  // Statistics of the last invoke() of a partitioned plan.
  const OpStats& op_stats(uint32_t i) const { return stats_[i]; }
  // Highest SRAM-region byte offset any op touched in the last invoke().
  uint32_t sram_high_water() const;
  // Storage region and offset of tensor i.
  uint32_t tensor_region(uint32_t i) const { return tensor_records_[i].region; }

 private:
  struct PreparedOp {
    const OpDescriptor* kernel;
    const void* params;
    const int32_t* inputs;
    const int32_t* outputs;
    uint32_t num_inputs;
    uint32_t num_outputs;
    uint32_t scratch;
  };

  Status validate_tables(const uint8_t* plan, size_t plan_bytes, const RegionBinding* regions,
                         uint32_t num_regions, char* message, size_t cap);
  Status load_schedules(const RegionBinding* regions, Allocator* allocator, char* message,
                        size_t cap);

  const PlanHeader* header_ = nullptr;
  const RegionRecord* region_records_ = nullptr;
  const TensorRecord* tensor_records_ = nullptr;
  const OpRecord* op_records_ = nullptr;
  const char* pool_ = nullptr;
  const int32_t* io_ = nullptr;
  uint32_t num_tensors_ = 0, num_ops_ = 0, num_inputs_ = 0, num_outputs_ = 0;
  TensorDesc* descs_ = nullptr;
  void** data_ = nullptr;
  PreparedOp* ops_ = nullptr;
  const void** in_ptrs_ = nullptr;
  void** out_ptrs_ = nullptr;
  void* scratch_ = nullptr;
  uint32_t scratch_bytes_ = 0;
  ScheduledOp* sched_ = nullptr;  // partitioned plans only
  OpStats* stats_ = nullptr;
};

}  // namespace tinyops
