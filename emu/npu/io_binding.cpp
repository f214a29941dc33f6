#include "npu/io_binding.hpp"

#include <cstring>
#include <string>

#include "npu/c_enum.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

std::string names_of(const std::vector<IoTensor>& tensors)
{
    std::string text;
    for (const IoTensor& t : tensors) text += (text.empty() ? "'" : ", '") + t.info.name + "'";
    return text.empty() ? "none" : text;
}

const IoTensor* find_by_name(const std::vector<IoTensor>& tensors, const std::string& name)
{
    for (const IoTensor& t : tensors) {
        if (t.info.name == name) return &t;
    }
    return nullptr;
}

}  // namespace

IoBinding bind_io_memory(const std::vector<IoTensor>& inputs, const std::vector<IoTensor>& outputs,
                         const Platform& platform, const rknn_tensor_attr& attr, MemoryView memory)
{
    IoBinding b;
    const std::string name(attr.name, strnlen(attr.name, sizeof attr.name));
    const IoTensor* t = nullptr;
    if (!name.empty()) {
        t = find_by_name(inputs, name);
        b.role = TensorRole::Input;
        if (!t) {
            t = find_by_name(outputs, name);
            b.role = TensorRole::Output;
        }
        if (!t) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "attr->name '" + name +
                                                        "' is neither an input nor an output of the model (inputs: " +
                                                        names_of(inputs) + "; outputs: " + names_of(outputs) + ")");
        }
        if (attr.index != t->attr.index) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            "attr->index is " + std::to_string(attr.index) + " but '" + name + "' is " +
                                (b.role == TensorRole::Input ? "input " : "output ") +
                                std::to_string(t->attr.index) + "; pass the attr rknn_query returned");
        }
    } else {
        // Without a name the index is ambiguous; like rknn_inputs_set it is taken as an input's.
        if (attr.index >= inputs.size()) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            "attr->name is empty and attr->index " + std::to_string(attr.index) +
                                " is not an input (the model has " + std::to_string(inputs.size()) +
                                " inputs); outputs are bound by name: pass the attr rknn_query returned");
        }
        t = &inputs[attr.index];
        b.role = TensorRole::Input;
    }
    b.index = t->attr.index;

    const bool input = b.role == TensorRole::Input;
    const std::string what = std::string(input ? "input " : "output ") + std::to_string(b.index) + " ('" +
                             t->info.name + "')";
    int type = raw_enum(attr.type);
    int fmt = raw_enum(attr.fmt);
    if (input && attr.pass_through) {
        type = t->native.type;  // pass_through: the native type and layout, whatever type/fmt say
        fmt = t->native.fmt;
    }
    if (input && !is_accepted_input_type(*t, type)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        what + ": type " + rknn_type_name(type) + " (" + std::to_string(type) +
                            ") cannot feed a model input of type " + rknn_type_name(t->attr.type) + "; use " +
                            accepted_input_types(*t));
    }
    if (!input && !is_accepted_output_type(*t, type)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + ": type " + rknn_type_name(type) + " (" +
                                                    std::to_string(type) + ") is not available; use " +
                                                    rknn_type_name(t->attr.type) + " or RKNN_TENSOR_FLOAT32");
    }
    b.layout = describe_buffer(*t, platform, type, fmt, attr.w_stride, what);
    b.layout.pass_through = input && attr.pass_through;
    if (memory.size < b.layout.bytes) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        what + ": mem->size is " + std::to_string(memory.size) + " bytes, the buffer needs " +
                            std::to_string(b.layout.bytes) + " (" + rknn_format_name(b.layout.fmt) + " " +
                            rknn_type_name(b.layout.type) +
                            (b.layout.w_stride ? ", w_stride " + std::to_string(b.layout.w_stride) : std::string()) +
                            "); allocate size_with_stride bytes of the attr");
    }
    b.in_place = is_executor_layout(*t, b.layout);
    b.memory = std::move(memory);
    return b;
}

}  // namespace ezemu::npu
