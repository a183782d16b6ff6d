// pybind11 module tinyops_tflm._core: the engine as the Python front end sees
// it. Plans and constants cross as bytes; tensors as numpy arrays (copies).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host/host_dma.h"
#include "host/planner.h"
#include "kernels/x86/dispatch.h"
#include "plan_layout.h"
#include "runtime/executor.h"
#include "runtime/op_registry.h"

namespace py = pybind11;
using namespace tinyops;

namespace {

PyObject* g_core_error = nullptr;

[[noreturn]] void raise_core_error(Status s, const std::string& message) {
  // Messages quote tensor names from the plan, which may not be valid UTF-8.
  py::object text = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace"));
  PyErr_SetObject(g_core_error, py::make_tuple(static_cast<int>(s), status_name(s), text).ptr());
  throw py::error_already_set();
}

// 64-byte aligned, zeroed storage owned by the host engine.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n) : bytes(n) {
    data = static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64));
    if (!data) throw std::bad_alloc();
    std::memset(data, 0, n);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  uint8_t* data;
  size_t bytes;
};

// Load-time allocator: heap blocks on the host (firmware uses a bump arena).
struct HeapAllocator {
  std::vector<std::unique_ptr<AlignedBuffer>> blocks;
  size_t total = 0;
  static void* alloc(void* self, size_t bytes, size_t align) {
    (void)align;  // AlignedBuffer is 64-byte aligned
    auto* a = static_cast<HeapAllocator*>(self);
    a->blocks.push_back(std::make_unique<AlignedBuffer>(bytes ? bytes : 1));
    a->total += bytes;
    return a->blocks.back()->data;
  }
};

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: return py::dtype::of<float>();
    case DType::kInt32: return py::dtype::of<int32_t>();
    case DType::kUInt8: return py::dtype::of<uint8_t>();
    case DType::kInt64: return py::dtype::of<int64_t>();
    case DType::kBool: return py::dtype::of<bool>();
    case DType::kInt16: return py::dtype::of<int16_t>();
    case DType::kInt8: return py::dtype::of<int8_t>();
  }
  return py::dtype::of<uint8_t>();
}

class HostEngine {
 public:
  // regions: list of (kind, bytes, contents or None) in plan region order.
  HostEngine(py::bytes plan, py::list regions, const std::string& dma, uint32_t dma_delay_us) {
    if (const char* e = x86::isa_error()) raise_core_error(Status::kBadArgument, e);
    if (dma == "async") {
      async_ = std::make_unique<AsyncDma>(dma_delay_us);
    } else if (dma != "sync") {
      throw py::value_error("dma must be 'sync' or 'async'");
    }
    std::string plan_str = plan;
    plan_ = std::make_unique<AlignedBuffer>(plan_str.size());
    std::memcpy(plan_->data, plan_str.data(), plan_str.size());
    std::vector<RegionBinding> bindings;
    for (py::handle item : regions) {
      auto tup = item.cast<py::tuple>();
      const size_t bytes = tup[0].cast<size_t>();
      py::object contents = tup[1];
      auto buf = std::make_unique<AlignedBuffer>(bytes);
      if (!contents.is_none()) {
        py::buffer_info info = contents.cast<py::buffer>().request();
        const size_t n = static_cast<size_t>(info.size * info.itemsize);
        if (n > bytes) throw py::value_error("region contents larger than the region");
        std::memcpy(buf->data, info.ptr, n);
      }
      bindings.push_back(RegionBinding{buf->data, static_cast<uint32_t>(bytes)});
      regions_.push_back(std::move(buf));
    }
    allocator_.alloc_fn = &HeapAllocator::alloc;
    allocator_.self = &heap_;
    char message[512] = {0};
    const Status s =
        exec_.load(plan_->data, plan_->bytes, bindings.data(),
                   static_cast<uint32_t>(bindings.size()), &allocator_, message, sizeof(message));
    if (s != Status::kOk) raise_core_error(s, message);
  }

  void invoke() {
    Status s;
    {
      py::gil_scoped_release release;
      DmaEngine* engine = async_ ? static_cast<DmaEngine*>(async_.get()) : &sync_;
      s = exec_.invoke(engine);
    }
    if (s != Status::kOk) raise_core_error(s, "invoke failed");
  }

  // One invoke on the tracing DMA engine: the schedule's timeline as an int64
  // array of rows (kind, id, work, src_region, dst_region); kinds and fields
  // as TracingDma::Event, regions = plan region index of the copy's source /
  // destination (-1: none).
  py::array_t<int64_t> trace_invoke() {
    if (!exec_.partitioned()) throw py::value_error("trace_invoke needs a partitioned plan");
    TracingDma tracer;
    Status s;
    {
      py::gil_scoped_release release;
      s = exec_.invoke(&tracer);
    }
    if (s != Status::kOk) raise_core_error(s, "invoke failed");
    const auto& ev = tracer.events();
    py::array_t<int64_t> out({static_cast<py::ssize_t>(ev.size()), py::ssize_t{5}});
    auto a = out.mutable_unchecked<2>();
    for (size_t i = 0; i < ev.size(); ++i) {
      a(i, 0) = ev[i].kind;
      a(i, 1) = ev[i].id;
      a(i, 2) = static_cast<int64_t>(ev[i].work);
      a(i, 3) = region_of(ev[i].src);
      a(i, 4) = region_of(ev[i].dst);
    }
    return out;
  }

  int64_t region_of(const void* p) const {
    if (p == nullptr) return -1;
    const uint8_t* b = static_cast<const uint8_t*>(p);
    for (size_t r = 0; r < regions_.size(); ++r) {
      if (b >= regions_[r]->data && b < regions_[r]->data + regions_[r]->bytes) {
        return static_cast<int64_t>(r);
      }
    }
    return -1;
  }

  uint32_t check_tensor(int64_t t) const {
    if (t < 0 || t >= exec_.num_tensors()) throw py::index_error("tensor index out of range");
    return static_cast<uint32_t>(t);
  }

  void set_tensor(int64_t index, py::buffer data) {
    const uint32_t t = check_tensor(index);
    py::buffer_info info = data.request();
    const TensorDesc& d = exec_.tensor(t);
    const size_t n = static_cast<size_t>(info.size * info.itemsize);
    if (n != d.bytes) throw py::value_error("byte size does not match the tensor");
    void* dst = exec_.tensor_data(t);
    if (d.is_constant() || (dst == nullptr && n)) throw py::value_error("tensor is not writable");
    if (n) std::memcpy(dst, info.ptr, n);
  }

  py::array get_tensor(int64_t index) const {
    const uint32_t t = check_tensor(index);
    const TensorDesc& d = exec_.tensor(t);
    std::vector<py::ssize_t> shape(d.shape.dims, d.shape.dims + d.shape.rank);
    py::array out(numpy_dtype(d.type), shape);
    if (d.bytes && exec_.tensor_data(t))
      std::memcpy(out.mutable_data(), exec_.tensor_data(t), d.bytes);
    return out;
  }

  const Executor& exec() const { return exec_; }

  py::list op_stats() const {
    py::list out;
    if (!exec_.partitioned()) return out;
    for (uint32_t o = 0; o < exec_.num_ops(); ++o) {
      const OpStats& st = exec_.op_stats(o);
      py::list reads, writes;
      for (uint32_t r = 0; r < exec_.num_regions() && r < kMaxStatRegions; ++r) {
        reads.append(st.read_bytes[r]);
        writes.append(st.write_bytes[r]);
      }
      py::dict d;
      d["tiles"] = st.tiles;
      d["transfers"] = st.transfers;
      d["read_bytes"] = reads;
      d["write_bytes"] = writes;
      d["sram_high_water"] = st.sram_high_water;
      out.append(d);
    }
    return out;
  }

  py::dict partition(py::list memories, uint32_t sram_budget, bool resident, bool prefetch,
                     py::object cost) const {
    PlannerConfig cfg;
    if (!cost.is_none()) {
      auto d = cost.cast<py::dict>();
      auto work = d["work_cycles_milli"].cast<std::vector<uint32_t>>();
      if (work.size() != static_cast<size_t>(kNumOpFamilies)) {
        throw py::value_error("cost model: work_cycles_milli needs one rate per op family");
      }
      for (int f = 0; f < kNumOpFamilies; ++f) cfg.cost.work_cycles_milli[f] = work[f];
      cfg.cost.dma_cycles_per_kib = d["dma_cycles_per_kib"].cast<uint32_t>();
      cfg.cost.transfer_cycles = d["transfer_cycles"].cast<uint32_t>();
      cfg.cost.step_cycles = d["step_cycles"].cast<uint32_t>();
      if (d.contains("reread_cycles_milli")) {
        auto reread = d["reread_cycles_milli"].cast<std::vector<uint32_t>>();
        if (reread.size() != static_cast<size_t>(kNumOpFamilies)) {
          throw py::value_error("cost model: reread_cycles_milli needs one rate per op family");
        }
        for (int f = 0; f < kNumOpFamilies; ++f) cfg.cost.reread_cycles_milli[f] = reread[f];
      } else {
        for (int f = 0; f < kNumOpFamilies; ++f) cfg.cost.reread_cycles_milli[f] = 0;
      }
    }
    for (py::handle m : memories) {
      auto d = m.cast<py::dict>();
      MemorySpec spec;
      spec.kind = static_cast<MemoryKind>(d["kind"].cast<uint32_t>());
      spec.capacity = d["capacity"].cast<uint32_t>();
      spec.dma = d["dma"].cast<bool>();
      spec.writable = d["writable"].cast<bool>();
      spec.cpu_direct = d["cpu_direct"].cast<bool>();
      if (d.contains("dma_cycles_per_kib")) {
        spec.dma_cycles_per_kib = d["dma_cycles_per_kib"].cast<uint32_t>();
      }
      cfg.memories.push_back(spec);
    }
    cfg.sram_budget = sram_budget;
    cfg.resident_activations = resident;
    cfg.prefetch_weights = prefetch;
    PlanResult r;
    {
      py::gil_scoped_release release;
      r = plan_partition(exec_, cfg);
    }
    py::dict out;
    out["ok"] = r.ok;
    out["error"] = r.error;
    out["failed_op"] = r.failed_op;
    out["needed_bytes"] = r.needed_bytes;
    out["sram_peak"] = r.sram_peak;
    out["memory_used"] = r.memory_used;
    py::list tensors;
    for (const TensorPlacement& t : r.tensors) {
      tensors.append(py::make_tuple(t.memory, t.offset, t.first_op, t.last_op));
    }
    out["tensors"] = tensors;
    py::list ops;
    for (const OpPlan& p : r.ops) {
      py::dict d;
      d["strategy"] = static_cast<uint32_t>(p.request.strategy);
      d["order"] = static_cast<uint32_t>(p.request.order);
      d["rows"] = p.request.rows;
      d["channels"] = p.request.channels;
      d["cost"] = p.cost;
      d["steps"] = p.needs.steps;
      d["transfers"] = p.needs.transfers;
      d["dma_bytes"] = p.needs.dma_bytes;
      d["sram_bytes"] = p.needs.sram_total;
      d["schedule"] = py::bytes(reinterpret_cast<const char*>(&p.schedule), sizeof(OpSchedule));
      d["operand_slots"] = py::bytes(reinterpret_cast<const char*>(p.operand_slots.data()),
                                     p.operand_slots.size() * sizeof(BufferSlot));
      d["buffers"] = schedule_buffers(p.schedule);
      py::list staged;
      for (const BufferSlot& b : p.operand_slots) staged.append(py::make_tuple(b.offset, b.bytes));
      d["staged"] = staged;
      ops.append(d);
    }
    out["ops"] = ops;
    return out;
  }
  size_t persistent_bytes() const { return heap_.total; }

 private:
  std::unique_ptr<AlignedBuffer> plan_;
  std::vector<std::unique_ptr<AlignedBuffer>> regions_;
  HeapAllocator heap_;
  Allocator allocator_{};
  Executor exec_;
  SyncDma sync_;
  std::unique_ptr<AsyncDma> async_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "tinyops-tflm C++ engine";
  g_core_error = PyErr_NewException("tinyops_tflm._core.CoreError", PyExc_RuntimeError, nullptr);
  m.attr("CoreError") = py::handle(g_core_error);

  m.def("supported_ops", []() {
    int32_t n = 0;
    const OpDescriptor* const* ds = op_descriptors(&n);
    py::dict out;
    for (int32_t i = 0; i < n; ++i) out[py::str(ds[i]->name)] = ds[i]->opcode;
    return out;
  });
  // The registry's descriptors, in registry order: what Python needs of each
  // op (tinyops_tflm.ops, latency.cost_class, tflm.SERVED_OPS).
  m.def("op_descriptors", []() {
    int32_t n = 0;
    const OpDescriptor* const* ds = op_descriptors(&n);
    py::list out;
    for (int32_t i = 0; i < n; ++i) {
      py::dict d;
      d["name"] = ds[i]->name;
      d["code"] = ds[i]->opcode;
      d["cost_class"] = ds[i]->cost_class;
      d["tiled"] = ds[i]->tile.family != nullptr;
      d["served_in_tflm"] = (ds[i]->flags & kServedInTflm) != 0;
      out.append(d);
    }
    return out;
  });
  m.attr("PLAN_VERSION") = kPlanVersion;
  m.attr("PLAN_LAYOUT") = plan_layout();
  // The x86 kernel level (csrc/kernels/x86/dispatch.h), chosen on first use
  // from CPUID and TINYOPS_ISA.
  m.def("isa", []() { return x86::isa_name(x86::kernels().isa); });
  m.def("isa_error", []() -> py::object {
    const char* e = x86::isa_error();
    return e ? py::object(py::str(e)) : py::object(py::none());
  });
  m.def("supported_isas", []() {
    py::list out;
    const uint32_t mask = x86::supported_isas();
    for (int32_t i = 0; i < x86::kNumIsas; ++i) {
      if (mask & (1u << i)) out.append(x86::isa_name(static_cast<x86::Isa>(i)));
    }
    return out;
  });
  // Test aid: shows the asynchronous DMA engine copies late. Returns the
  // destination before and after wait().
  m.def("async_dma_probe", [](uint32_t delay_us) {
    uint8_t src[64], dst[64] = {0};
    for (int i = 0; i < 64; ++i) src[i] = static_cast<uint8_t>(i);
    AsyncDma dma(delay_us);
    const DmaTicket t = dma.start(dst, src, sizeof(src));
    py::bytes before(reinterpret_cast<const char*>(dst), sizeof(dst));
    dma.wait(t);
    py::bytes after(reinterpret_cast<const char*>(dst), sizeof(dst));
    return py::make_tuple(before, after);
  });
  m.attr("TENSOR_RECORD_BYTES") = sizeof(TensorRecord);
  m.attr("OP_RECORD_BYTES") = sizeof(OpRecord);
  m.attr("OP_SCHEDULE_BYTES") = sizeof(OpSchedule);

  py::class_<HostEngine>(m, "HostEngine")
      .def(py::init<py::bytes, py::list, const std::string&, uint32_t>(), py::arg("plan"),
           py::arg("regions"), py::arg("dma") = "sync", py::arg("dma_delay_us") = 0)
      .def("partition", &HostEngine::partition, py::arg("memories"), py::arg("sram_budget"),
           py::arg("resident") = true, py::arg("prefetch") = true, py::arg("cost") = py::none())
      .def("op_stats", &HostEngine::op_stats)
      .def_property_readonly("partitioned",
                             [](const HostEngine& e) { return e.exec().partitioned(); })
      .def_property_readonly("sram_high_water",
                             [](const HostEngine& e) { return e.exec().sram_high_water(); })
      .def("invoke", &HostEngine::invoke)
      .def("trace_invoke", &HostEngine::trace_invoke)
      .def("set_tensor", &HostEngine::set_tensor)
      .def("get_tensor", &HostEngine::get_tensor)
      .def_property_readonly("num_tensors",
                             [](const HostEngine& e) { return e.exec().num_tensors(); })
      .def_property_readonly("num_ops", [](const HostEngine& e) { return e.exec().num_ops(); })
      .def_property_readonly("scratch_bytes",
                             [](const HostEngine& e) { return e.exec().scratch_bytes(); })
      .def_property_readonly("persistent_bytes", &HostEngine::persistent_bytes)
      .def("op_name", [](const HostEngine& e, uint32_t i) {
        if (i >= e.exec().num_ops()) throw py::index_error("op index out of range");
        return std::string(e.exec().op_name(i));
      });
}
