// One rknn_context: a loaded model (shared with its dups) plus everything that belongs to this handle alone —
// its execution state, bound inputs, last outputs, output buffers it allocated, core mask, frame counter and
// timing (rknn-api.md §6 "per-context state").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "npu/core_scheduler.hpp"
#include "npu/custom_op_registry.hpp"
#include "npu/io_binding.hpp"
#include "npu/loaded_model.hpp"
#include "npu/timing_model.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

class Context {
public:
    explicit Context(std::shared_ptr<const LoadedModel> model);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    // Serialises calls on one handle; every public member below expects the caller to hold it.
    std::mutex& mutex() { return mutex_; }

    const std::shared_ptr<const LoadedModel>& shared_model() const { return model_; }
    const LoadedModel& model() const { return *model_; }
    // The tensors at the current shape: the model's only shape, or the set rknn_set_input_shapes selected last
    // (the first set until then).
    const std::vector<IoTensor>& inputs() const { return model_->variants()[variant_].inputs; }
    const std::vector<IoTensor>& outputs() const { return model_->variants()[variant_].outputs; }

    // rknn_set_input_shapes: `attrs` give every input's dims in their fmt's order (NHWC or NCHW for 4-D inputs,
    // ONNX order otherwise); together they must be one of the model's shape sets (rknn-api.md §7.12). A new
    // shape drops the bound inputs, io mems and outputs: the caller sets them again at that shape. Throws
    // RknnError(RKNN_ERR_PARAM_INVALID) naming the allowed sets otherwise.
    void set_input_shapes(uint32_t count, const rknn_tensor_attr* attrs);
    // rknn_set_input_shape (deprecated since 1.5.2): the dims of input attr.index; the other inputs keep the
    // current set's dims, and the result must again be one of the model's shape sets.
    void set_input_shape(const rknn_tensor_attr& attr);

    // AUTO, a core of the platform, CORE_0_1, CORE_0_1_2 (rk3588) or ALL. Throws RknnError otherwise (see
    // context.cpp for the codes). An int, not rknn_core_mask: callers may pass any value (see c_enum.hpp).
    void set_core_mask(uint32_t mask);
    uint32_t core_mask() const { return core_mask_; }
    // rknn_set_batch_core_num: 1..cores on multi-core platforms (core_mask.hpp). A run of a model whose batch (first
    // dim of input 0) is > 1 then holds cores 0..min(n, batch)-1, split data parallel.
    void set_batch_core_num(int core_num);
    int batch_core_num() const { return batch_core_num_; }

    // All inputs are validated before any is stored, so a rejected call leaves the bound inputs unchanged.
    void set_inputs(uint32_t count, const rknn_input* inputs);

    // Runs on the bound inputs. RKNN_ERR_INPUT_INVALID when an input was never set, RKNN_ERR_FAIL on a
    // run-time failure. Returns the frame id of this run.
    uint64_t run();

    // Fills `outputs` from the last successful run (RKNN_ERR_OUTPUT_INVALID before one). Buffers it allocates
    // (is_prealloc = 0) belong to the context until release_outputs or destruction.
    void get_outputs(uint32_t count, rknn_output* outputs, rknn_output_extend* extend);
    // Frees buffers of `outputs` that get_outputs allocated; other pointers are left alone.
    void release_outputs(uint32_t count, rknn_output* outputs);

    // rknn_run with non_block = 1 runs to completion before it returns (the result is the same as a run that
    // finishes later) and leaves its frame id for rknn_wait, which takes it; nullopt when no such run is pending.
    void note_non_blocking_run(uint64_t frame) { pending_wait_frame_ = frame; }
    std::optional<uint64_t> take_non_blocking_run() { return std::exchange(pending_wait_frame_, std::nullopt); }

    // PERF_RUN: the modelled NPU time of the last run (its real CPU time when no latency is configured).
    int64_t last_run_microseconds() const { return last_run_us_; }

    // Latency model of this context's runs (EZRKNN_EMU_LATENCY_US / rknn.latency_us, read at rknn_init).
    void set_latency(const LatencyModel& latency) { latency_ = latency; }
    const LatencyModel& latency() const { return latency_; }

    // RKNN_FLAG_COLLECT_PERF_MASK: time every node of each run for RKNN_QUERY_PERF_DETAIL.
    void enable_perf_detail();
    bool perf_detail_enabled() const { return perf_detail_enabled_; }
    // Runtime-owned text for RKNN_QUERY_PERF_DETAIL, valid until the next run or destruction.
    const std::string& perf_detail_text();

    // rknn_set_io_mem: a bound input is read from its mem at every run (rknn_inputs_set on that input drops the
    // binding); a bound output is written at the end of every successful run.
    void bind_io_memory(IoBinding binding);
    // RKNN_FLAG_MEM_ALLOC_OUTSIDE (weights and internal) / RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE: run() refuses until
    // rknn_set_weight_mem / rknn_set_internal_mem gave the memory (the emulator computes in its own buffers).
    void require_outside_memory(bool weights, bool internal);
    bool needs_weight_memory() const { return needs_weight_mem_; }
    bool needs_internal_memory() const { return needs_internal_mem_; }
    void set_weight_memory(MemoryView memory) { weight_mem_ = std::move(memory); }
    void set_internal_memory(MemoryView memory) { internal_mem_ = std::move(memory); }
    // The model buffer as RKNN_QUERY_DEVICE_MEM_INFO describes it.
    void set_model_memory(const rknn_tensor_mem& memory) { model_memory_ = memory; }
    const rknn_tensor_mem& model_memory() const { return model_memory_; }

    // Custom ops registered on this handle (rknn_register_custom_ops), and the state their nodes run in.
    CustomOpRegistry& custom_ops() { return custom_ops_; }
    ExecutionState& execution_state() { return *state_; }

    // Set by rknn_destroy under the mutex: a call that found the handle just before it was destroyed then fails
    // with RKNN_ERR_CTX_INVALID instead of working on a context that is going away.
    void mark_destroyed() { destroyed_ = true; }
    bool destroyed() const { return destroyed_; }

private:
    // Makes shape set `s` current (context_shapes.cpp).
    void select_variant(size_t s);
    // The shape set whose inputs have exactly these ONNX-order dims becomes current; RknnError otherwise.
    void select_shapes(const std::vector<std::vector<int64_t>>& wanted);
    // Pieces of run() for zero-copy memory (context_io_memory.cpp).
    void check_outside_memory() const;
    const void* stage_input(size_t index);
    void write_output_memories();
    uint32_t batch_size() const;

    std::mutex mutex_;
    std::shared_ptr<const LoadedModel> model_;
    size_t variant_ = 0;                                    // index into model_->variants()
    std::vector<std::unique_ptr<ExecutionState>> states_;  // per shape set, created when first selected
    ExecutionState* state_ = nullptr;                       // states_[variant_]
    CustomOpRegistry custom_ops_;

    std::vector<std::vector<unsigned char>> input_data_;   // executor layout (dense NCHW, ONNX dtype)
    std::vector<bool> input_bound_;
    std::vector<std::vector<unsigned char>> output_data_;  // executor layout, from the last successful run
    bool outputs_valid_ = false;
    std::vector<unsigned char> scratch_;
    std::vector<const void*> input_pointers_;
    std::vector<void*> output_pointers_;
    std::unordered_set<void*> allocated_outputs_;

    std::vector<std::optional<IoBinding>> input_mems_;
    std::vector<std::optional<IoBinding>> output_mems_;
    bool needs_weight_mem_ = false;
    bool needs_internal_mem_ = false;
    MemoryView weight_mem_;
    MemoryView internal_mem_;
    rknn_tensor_mem model_memory_{};

    uint32_t core_mask_ = RKNN_NPU_CORE_AUTO;
    int batch_core_num_ = 1;
    CoreScheduler& cores_;
    LatencyModel latency_;
    bool perf_detail_enabled_ = false;
    std::string perf_detail_;
    uint64_t frame_counter_ = 0;
    std::optional<uint64_t> pending_wait_frame_;
    uint64_t outputs_frame_ = 0;
    int64_t last_run_us_ = 0;
    bool destroyed_ = false;
};

}  // namespace ezemu::npu
