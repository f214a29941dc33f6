#include "npu/context.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "npu/io_conversion.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

std::string hex(uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    std::string text;
    do {
        text.insert(text.begin(), digits[value & 0xf]);
        value >>= 4;
    } while (value);
    return "0x" + text;
}

bool is_single_core_mask(uint32_t mask) { return mask != 0 && (mask & (mask - 1)) == 0; }

// The cores a run with `mask` must hold: 0 = any one idle core (AUTO, and the one core of single-core SoCs).
uint32_t cores_of_mask(uint32_t mask, const Platform& platform)
{
    if (mask == RKNN_NPU_CORE_ALL) return platform.all_cores_mask();
    return mask & platform.all_cores_mask();
}

}  // namespace

Context::Context(std::shared_ptr<const LoadedModel> model)
    : model_(std::move(model)), cores_(CoreScheduler::for_platform(model_->platform()))
{
    const LoadedModel& m = *model_;
    state_ = m.compiled().create_state();
    // Every buffer of the data path is sized here, so inputs_set/run/outputs_get allocate nothing but what the
    // caller asks for (is_prealloc = 0).
    size_t largest = 0;
    for (const IoTensor& t : m.inputs()) {
        input_data_.emplace_back(t.executor_bytes);
        largest = std::max(largest, t.executor_bytes);
    }
    input_bound_.assign(m.inputs().size(), false);
    for (const IoTensor& t : m.outputs()) output_data_.emplace_back(t.executor_bytes);
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
    const Platform& platform = model_->platform();
    if (platform.core_count == 1) {
        // The vendor runtime refuses every mask on single-core SoCs, AUTO included (rknn-api.md §4, §7.4).
        throw RknnError(RKNN_ERR_TARGET_PLATFORM_UNMATCH,
                        "core masks are only valid on multi-core NPUs (rk3588, rk3576); the emulated " +
                            std::string(platform.name) + " has one NPU core, which every run uses");
    }
    const bool fits = (value & ~platform.all_cores_mask()) == 0;
    // Tensor-parallel masks are the enum's combinations only: 0_1 and 0_1_2 (rknn-api.md §7.4); 5 or 6 are not.
    const bool combination = value == RKNN_NPU_CORE_0_1 || value == RKNN_NPU_CORE_0_1_2;
    if (value == RKNN_NPU_CORE_AUTO || value == RKNN_NPU_CORE_ALL || (fits && (is_single_core_mask(value) || combination))) {
        core_mask_ = value;
        return;
    }
    // Wording after the vendor's "The core mode 6 is not supported currently".
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    "core mode " + std::to_string(static_cast<int32_t>(value)) + " (" + hex(value) +
                        ") is not supported on " + std::string(platform.name) + " (" +
                        std::to_string(platform.core_count) + " NPU cores, mask " + hex(platform.all_cores_mask()) +
                        "); use RKNN_NPU_CORE_AUTO, one core, RKNN_NPU_CORE_0_1" +
                        (platform.core_count >= 3 ? ", RKNN_NPU_CORE_0_1_2" : "") + " or RKNN_NPU_CORE_ALL");
}

void Context::set_inputs(uint32_t count, const rknn_input* inputs)
{
    const std::vector<IoTensor>& tensors = model_->inputs();
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
    const std::vector<IoTensor>& inputs = model_->inputs();
    std::string missing;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (input_bound_[i]) continue;
        if (!missing.empty()) missing += ", ";
        missing += std::to_string(i) + " ('" + inputs[i].info.name + "')";
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
    CoreLease lease = cores_.acquire(cores_of_mask(core_mask_, model_->platform()));
    const auto computing = std::chrono::steady_clock::now();
    const auto start = std::max(computing, lease.ready_at());
    try {
        model_->compiled().run(*state_, input_pointers_.data(), output_pointers_.data());
    } catch (const RunError& e) {
        throw RknnError(RKNN_ERR_FAIL, e.what());
    }
    const auto computed = std::chrono::steady_clock::now();
    const int64_t modelled_us = latency_.modelled_us(lease.cores());
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
    const std::vector<std::string> labels = model_->compiled().step_labels();
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
    const std::vector<IoTensor>& tensors = model_->outputs();
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
