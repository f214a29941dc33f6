#include "npu/context.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "npu/core_mask.hpp"
#include "npu/io_conversion.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {

Context::Context(std::shared_ptr<const LoadedModel> model)
    : model_(std::move(model)), cores_(CoreScheduler::for_platform(model_->platform()))
{
    const LoadedModel& m = *model_;
    states_.resize(m.variants().size());
    states_[0] = m.compiled().create_state();
    state_ = states_[0].get();
    // Every buffer of the data path is sized here, for the largest shape set, so inputs_set/run/outputs_get
    // allocate nothing but what the caller asks for (is_prealloc = 0).
    input_data_.resize(m.inputs().size());
    output_data_.resize(m.outputs().size());
    size_t largest = 0;
    for (const ShapeVariant& v : m.variants()) {
        for (size_t i = 0; i < v.inputs.size(); ++i) {
            const size_t bytes = v.inputs[i].executor_bytes;
            if (input_data_[i].size() < bytes) input_data_[i].resize(bytes);
            largest = std::max(largest, bytes);
        }
        for (size_t i = 0; i < v.outputs.size(); ++i) {
            const size_t bytes = v.outputs[i].executor_bytes;
            if (output_data_[i].size() < bytes) output_data_[i].resize(bytes);
        }
    }
    input_bound_.assign(m.inputs().size(), false);
    scratch_.resize(largest);
    input_pointers_.resize(input_data_.size());
    output_pointers_.resize(output_data_.size());
    input_mems_.resize(input_data_.size());
    output_mems_.resize(output_data_.size());
}

Context::~Context()
{
    for (void* p : allocated_outputs_) std::free(p);
}

void Context::set_core_mask(uint32_t value)
{
    check_core_mask(value, model_->platform());
    core_mask_ = value;
}

void Context::set_batch_core_num(int core_num)
{
    check_batch_core_num(core_num, model_->platform());
    batch_core_num_ = core_num;
}

void Context::set_inputs(uint32_t count, const rknn_input* inputs)
{
    const std::vector<IoTensor>& tensors = this->inputs();
    if (count == 0 || count > tensors.size()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "n_inputs is " + std::to_string(count) + ", the model has " +
                                                    std::to_string(tensors.size()) + " inputs");
    }
    for (uint32_t i = 0; i < count; ++i) {
        const rknn_input& in = inputs[i];
        if (in.index >= tensors.size()) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "inputs[" + std::to_string(i) + "].index is " +
                                                        std::to_string(in.index) + ", the model has " +
                                                        std::to_string(tensors.size()) + " inputs");
        }
        check_input(tensors[in.index], model_->platform(), in);
    }
    for (uint32_t i = 0; i < count; ++i) {
        const rknn_input& in = inputs[i];
        write_input(tensors[in.index], model_->platform(), in, input_data_[in.index].data(), scratch_);
        input_mems_[in.index].reset();  // the copying API replaces a zero-copy binding
        input_bound_[in.index] = true;
    }
}

uint64_t Context::run()
{
    const std::vector<IoTensor>& tensors = inputs();
    std::string missing;
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (input_bound_[i]) continue;
        if (!missing.empty()) missing += ", ";
        missing += std::to_string(i) + " ('" + tensors[i].info.name + "')";
    }
    if (!missing.empty()) {
        throw RknnError(RKNN_ERR_INPUT_INVALID,
                        "input " + missing +
                            " has not been set; call rknn_inputs_set (or rknn_set_io_mem) for every input first");
    }
    check_outside_memory();
    for (size_t i = 0; i < input_data_.size(); ++i) input_pointers_[i] = stage_input(i);
    for (size_t i = 0; i < output_data_.size(); ++i) output_pointers_[i] = output_data_[i].data();

    outputs_valid_ = false;
    perf_detail_.clear();
    // The run holds its core(s) for max(real CPU time, modelled NPU time): the emulated hardware is busy that long.
    // It starts when the core finishes the run handed over before it (ready_at), and hands the core over at its own
    // modelled end, so the next run on the core does not also wait for this thread to wake up.
    // rknn_set_batch_core_num: a batched run is split over the first `split` cores (data parallel, docs/emulator.md).
    const uint32_t batch = batch_size();
    const uint32_t split = batch_core_num_ > 1 && batch > 1 ? std::min<uint32_t>(batch_core_num_, batch) : 1;
    CoreLease lease = cores_.acquire(split > 1 ? (1u << split) - 1u : cores_of_mask(core_mask_, model_->platform()));
    const auto computing = std::chrono::steady_clock::now();
    const auto start = std::max(computing, lease.ready_at());
    try {
        model_->variants()[variant_].compiled->run(*state_, input_pointers_.data(), output_pointers_.data());
    } catch (const RunError& e) {
        throw RknnError(RKNN_ERR_FAIL, e.what());
    }
    const auto computed = std::chrono::steady_clock::now();
    const int64_t modelled_us =
        split > 1 ? latency_.data_parallel_us(lease.cores(), batch) : latency_.modelled_us(lease.cores());
    const auto end = std::max(computed, start + std::chrono::microseconds(modelled_us));
    lease.release_at(end);
    if (end > computed) sleep_until_precisely(end);
    last_run_us_ = latency_.configured()
                       ? modelled_us
                       : std::chrono::duration_cast<std::chrono::microseconds>(computed - computing).count();
    write_output_memories();
    outputs_valid_ = true;
    outputs_frame_ = ++frame_counter_;
    return outputs_frame_;
}

uint32_t Context::batch_size() const
{
    const std::vector<IoTensor>& inputs = model_->inputs();
    if (inputs.empty() || inputs[0].attr.n_dims == 0) return 1;
    return inputs[0].attr.dims[0];
}

void Context::enable_perf_detail()
{
    perf_detail_enabled_ = true;
    state_->time_steps = true;
}

const std::string& Context::perf_detail_text()
{
    if (!perf_detail_enabled_) {
        perf_detail_ = "no per-node times: the context was created without RKNN_FLAG_COLLECT_PERF_MASK; pass that "
                       "flag to rknn_init (or rknn_dup_context of such a context) to collect them";
        return perf_detail_;
    }
    if (!perf_detail_.empty()) return perf_detail_;
    if (frame_counter_ == 0 || state_->step_nanoseconds.empty()) {
        perf_detail_ = "no per-node times yet: call rknn_run first";
        return perf_detail_;
    }
    const std::vector<std::string> labels = model_->variants()[variant_].compiled->step_labels();
    char line[512];
    int64_t total_ns = 0;
    perf_detail_ = "   ID   Time(us)  Node\n";
    for (size_t i = 0; i < labels.size() && i < state_->step_nanoseconds.size(); ++i) {
        const int64_t ns = state_->step_nanoseconds[i];
        total_ns += ns;
        std::snprintf(line, sizeof line, "%5zu %10.1f  %s\n", i, static_cast<double>(ns) / 1000.0, labels[i].c_str());
        perf_detail_ += line;
    }
    std::snprintf(line, sizeof line, "Total node time: %.1f us; run time reported by RKNN_QUERY_PERF_RUN: %lld us\n",
                  static_cast<double>(total_ns) / 1000.0, static_cast<long long>(last_run_us_));
    perf_detail_ += line;
    return perf_detail_;
}

void Context::get_outputs(uint32_t count, rknn_output* outputs, rknn_output_extend* extend)
{
    const std::vector<IoTensor>& tensors = this->outputs();
    if (count == 0 || count > tensors.size()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "n_outputs is " + std::to_string(count) + ", the model has " +
                                                    std::to_string(tensors.size()) + " outputs");
    }
    if (!outputs_valid_) {
        throw RknnError(RKNN_ERR_OUTPUT_INVALID, "there are no outputs yet: call rknn_run successfully first");
    }
    for (uint32_t i = 0; i < count; ++i) {
        const rknn_output& out = outputs[i];
        if (out.index >= tensors.size()) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "outputs[" + std::to_string(i) + "].index is " +
                                                        std::to_string(out.index) + ", the model has " +
                                                        std::to_string(tensors.size()) + " outputs");
        }
        if (out.is_prealloc) {
            const size_t needed = output_byte_size(tensors[out.index], out.want_float != 0);
            if (out.buf == nullptr) {
                throw RknnError(RKNN_ERR_PARAM_INVALID,
                                "outputs[" + std::to_string(i) + "] has is_prealloc=1 but buf is NULL");
            }
            if (out.size < needed) {
                throw RknnError(RKNN_ERR_PARAM_INVALID,
                                "outputs[" + std::to_string(i) + "] (output " + std::to_string(out.index) + " '" +
                                    tensors[out.index].info.name + "') has size " + std::to_string(out.size) +
                                    " bytes, needs " + std::to_string(needed) +
                                    (out.want_float ? " (float32)" : " (the attr type)"));
            }
        }
    }
    // Allocate everything first, so a failure hands nothing half-filled back to the caller.
    std::vector<void*> fresh(count, nullptr);
    try {
        for (uint32_t i = 0; i < count; ++i) {
            if (outputs[i].is_prealloc) continue;
            const size_t bytes = output_byte_size(tensors[outputs[i].index], outputs[i].want_float != 0);
            fresh[i] = std::malloc(bytes ? bytes : 1);
            if (!fresh[i]) throw std::bad_alloc();
        }
        for (void* p : fresh) {
            if (p) allocated_outputs_.insert(p);
        }
    } catch (...) {
        for (void* p : fresh) {
            allocated_outputs_.erase(p);
            std::free(p);
        }
        throw;
    }
    for (uint32_t i = 0; i < count; ++i) {
        rknn_output& out = outputs[i];
        const IoTensor& t = tensors[out.index];
        const bool want_float = out.want_float != 0;
        if (!out.is_prealloc) {
            out.buf = fresh[i];
            out.size = static_cast<uint32_t>(output_byte_size(t, want_float));
        }
        read_output(t, output_data_[out.index].data(), want_float, out.buf);
    }
    if (extend) extend->frame_id = outputs_frame_;
}

void Context::release_outputs(uint32_t count, rknn_output* outputs)
{
    for (uint32_t i = 0; i < count; ++i) {
        rknn_output& out = outputs[i];
        // Ownership is decided by the pointer, not by is_prealloc: a caller that flipped the flag still gets its
        // allocation freed, and a caller's own buffer is never touched.
        if (out.buf == nullptr) continue;
        const auto it = allocated_outputs_.find(out.buf);
        if (it == allocated_outputs_.end()) continue;
        allocated_outputs_.erase(it);
        std::free(out.buf);
        out.buf = nullptr;
    }
}

}  // namespace ezemu::npu
