// One rknn_context: a loaded model (shared with its dups) plus everything that belongs to this handle alone —
// its execution state, bound inputs, last outputs, output buffers it allocated, core mask, frame counter and
// timing (rknn-api.md §6 "per-context state").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "npu/loaded_model.hpp"
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

    // AUTO or a single core of the platform. Throws RknnError otherwise (see context.cpp for the codes).
    // An int, not rknn_core_mask: callers may pass any value (see c_enum.hpp).
    void set_core_mask(uint32_t mask);
    uint32_t core_mask() const { return core_mask_; }

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

    int64_t last_run_microseconds() const { return last_run_us_; }

    // Set by rknn_destroy under the mutex: a call that found the handle just before it was destroyed then fails
    // with RKNN_ERR_CTX_INVALID instead of working on a context that is going away.
    void mark_destroyed() { destroyed_ = true; }
    bool destroyed() const { return destroyed_; }

private:
    std::mutex mutex_;
    std::shared_ptr<const LoadedModel> model_;
    std::unique_ptr<ExecutionState> state_;

    std::vector<std::vector<unsigned char>> input_data_;   // executor layout (dense NCHW, ONNX dtype)
    std::vector<bool> input_bound_;
    std::vector<std::vector<unsigned char>> output_data_;  // executor layout, from the last successful run
    bool outputs_valid_ = false;
    std::vector<unsigned char> scratch_;
    std::vector<const void*> input_pointers_;
    std::vector<void*> output_pointers_;
    std::unordered_set<void*> allocated_outputs_;

    uint32_t core_mask_ = RKNN_NPU_CORE_AUTO;
    uint64_t frame_counter_ = 0;
    uint64_t outputs_frame_ = 0;
    int64_t last_run_us_ = 0;
    bool destroyed_ = false;
};

}  // namespace ezemu::npu
