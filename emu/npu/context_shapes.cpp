// rknn_set_input_shapes on a Context: selecting one of a dynamic-shape model's shape sets (rknn-api.md §7.12).
#include <cstring>
#include <string>

#include "kernels/kernel.hpp"
#include "npu/context.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

// The ONNX-order dims an attr gives: NHWC dims of a 4-D input are permuted to NCHW.
std::vector<int64_t> onnx_dims(const rknn_tensor_attr& attr, const IoTensor& t, const std::string& what)
{
    if (attr.n_dims != t.info.shape.size()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + " has n_dims " + std::to_string(attr.n_dims) +
                                                    ", the input has " + std::to_string(t.info.shape.size()));
    }
    std::vector<int64_t> dims(attr.dims, attr.dims + attr.n_dims);
    if (!t.nchw) return dims;
    const int fmt = static_cast<int>(attr.fmt);
    if (fmt == RKNN_TENSOR_NHWC) return {dims[0], dims[3], dims[1], dims[2]};
    if (fmt == RKNN_TENSOR_NCHW) return dims;
    throw RknnError(RKNN_ERR_PARAM_INVALID, what + " has fmt " + std::to_string(fmt) +
                                                "; a 4-D input's shape is given as RKNN_TENSOR_NHWC (as "
                                                "RKNN_QUERY_INPUT_DYNAMIC_RANGE reports it) or RKNN_TENSOR_NCHW");
}

std::string allowed_sets(const LoadedModel& model)
{
    std::string text;
    for (size_t s = 0; s < model.variants().size(); ++s) {
        text += s ? "; " : "";
        const std::vector<IoTensor>& inputs = model.variants()[s].inputs;
        for (size_t i = 0; i < inputs.size(); ++i)
            text += (i ? " " : "") + kernels::shape_to_string(inputs[i].info.shape);
    }
    return text;
}

}  // namespace

void Context::set_input_shapes(uint32_t count, const rknn_tensor_attr* attrs)
{
    const LoadedModel& m = *model_;
    const size_t n_inputs = m.inputs().size();
    if (count != n_inputs) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "n_inputs is " + std::to_string(count) + "; pass the attrs of all " +
                                                    std::to_string(n_inputs) + " inputs");
    }
    // attrs may come in any order: each names its input by index.
    std::vector<std::vector<int64_t>> wanted(n_inputs);
    std::vector<bool> seen(n_inputs, false);
    for (uint32_t k = 0; k < count; ++k) {
        const rknn_tensor_attr& a = attrs[k];
        const std::string what = "attr[" + std::to_string(k) + "]";
        if (a.index >= n_inputs || seen[a.index]) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, what + ".index is " + std::to_string(a.index) +
                                                        (a.index >= n_inputs ? ", out of range" : ", given twice") +
                                                        "; give each input's attr once");
        }
        seen[a.index] = true;
        wanted[a.index] = onnx_dims(a, m.inputs()[a.index], what + " (input " + std::to_string(a.index) + " '" +
                                                               m.inputs()[a.index].info.name + "')");
    }
    select_shapes(wanted);
}

void Context::select_variant(size_t s)
{
    if (!states_[s]) {
        states_[s] = model_->variants()[s].compiled->create_state();
        states_[s]->time_steps = perf_detail_enabled_;
    }
    variant_ = s;
    state_ = states_[s].get();
    // Data of the previous shape does not fit the new one: the caller sets inputs, mems and outputs again.
    input_bound_.assign(input_bound_.size(), false);
    for (auto& b : input_mems_) b.reset();
    for (auto& b : output_mems_) b.reset();
    outputs_valid_ = false;
}

// rknn_set_input_shape (deprecated, singular): one input's dims; the others keep the current set's.
void Context::set_input_shape(const rknn_tensor_attr& attr)
{
    const LoadedModel& m = *model_;
    const size_t n_inputs = m.inputs().size();
    if (attr.index >= n_inputs) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "attr.index is " + std::to_string(attr.index) +
                                                    ", out of range: the model has " + std::to_string(n_inputs) +
                                                    " input(s)");
    }
    std::vector<std::vector<int64_t>> wanted;
    for (const IoTensor& t : inputs()) wanted.push_back(t.info.shape);
    wanted[attr.index] = onnx_dims(attr, m.inputs()[attr.index],
                                   "attr (input " + std::to_string(attr.index) + " '" +
                                       m.inputs()[attr.index].info.name + "')");
    select_shapes(wanted);
}

// The shape set equal to `wanted` (ONNX-order dims of every input) becomes the current one.
void Context::select_shapes(const std::vector<std::vector<int64_t>>& wanted)
{
    const LoadedModel& m = *model_;
    const size_t n_inputs = m.inputs().size();
    for (size_t s = 0; s < m.variants().size(); ++s) {
        const std::vector<IoTensor>& inputs = m.variants()[s].inputs;
        bool match = true;
        for (size_t i = 0; i < n_inputs && match; ++i) match = inputs[i].info.shape == wanted[i];
        if (!match) continue;
        if (s != variant_) select_variant(s);
        return;
    }
    std::string given;
    for (size_t i = 0; i < n_inputs; ++i) given += (i ? " " : "") + kernels::shape_to_string(wanted[i]);
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    "the input shapes " + given + " (NCHW) are not " +
                        (m.is_dynamic() ? "one of the model's shape sets: " + allowed_sets(m)
                                        : "the model's; it is not a dynamic-shape model and has only " +
                                              allowed_sets(m)) +
                        " (RKNN_QUERY_INPUT_DYNAMIC_RANGE lists them)");
}

}  // namespace ezemu::npu
