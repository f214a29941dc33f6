#include "npu/context.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

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

}  // namespace

Context::Context(std::shared_ptr<const LoadedModel> model) : model_(std::move(model))
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
    if (value == RKNN_NPU_CORE_AUTO || (is_single_core_mask(value) && (value & platform.all_cores_mask()))) {
        core_mask_ = value;
        return;
    }
    if (value == RKNN_NPU_CORE_0_1 || value == RKNN_NPU_CORE_0_1_2 || value == RKNN_NPU_CORE_ALL) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "core mask " + hex(value) +
                            " (several cores for one inference) is not supported by the ezrknn emulator yet; use "
                            "RKNN_NPU_CORE_AUTO or one core (RKNN_NPU_CORE_0, _1, ...)");
    }
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    "core mask " + hex(value) + " is not valid on " + std::string(platform.name) + " (" +
                        std::to_string(platform.core_count) + " NPU cores, mask " + hex(platform.all_cores_mask()) +
                        "); use RKNN_NPU_CORE_AUTO or one core");
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
        check_input(tensors[in.index], in);
    }
    for (uint32_t i = 0; i < count; ++i) {
        const rknn_input& in = inputs[i];
        write_input(tensors[in.index], in, input_data_[in.index].data(), scratch_);
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
                        "input " + missing + " has not been set; call rknn_inputs_set for every input first");
    }
    for (size_t i = 0; i < input_data_.size(); ++i) input_pointers_[i] = input_data_[i].data();
    for (size_t i = 0; i < output_data_.size(); ++i) output_pointers_[i] = output_data_[i].data();

    outputs_valid_ = false;
    const auto start = std::chrono::steady_clock::now();
    try {
        model_->compiled().run(*state_, input_pointers_.data(), output_pointers_.data());
    } catch (const RunError& e) {
        throw RknnError(RKNN_ERR_FAIL, e.what());
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    last_run_us_ = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    outputs_valid_ = true;
    outputs_frame_ = ++frame_counter_;
    return outputs_frame_;
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
