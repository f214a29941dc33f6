#include "kernels/kernel.hpp"

#include <algorithm>
#include <cstring>

#include "graph/compiled_model.hpp"

namespace ezemu::kernels {

namespace {

const char* attribute_type_name(onnx::AttributeType t) {
    switch (t) {
        case onnx::AttributeType::Float: return "float";
        case onnx::AttributeType::Int: return "int";
        case onnx::AttributeType::String: return "string";
        case onnx::AttributeType::Tensor: return "tensor";
        case onnx::AttributeType::Graph: return "graph";
        case onnx::AttributeType::Floats: return "floats";
        case onnx::AttributeType::Ints: return "ints";
        case onnx::AttributeType::Strings: return "strings";
        case onnx::AttributeType::Tensors: return "tensors";
        case onnx::AttributeType::Graphs: return "graphs";
        case onnx::AttributeType::SparseTensor: return "sparse_tensor";
        case onnx::AttributeType::SparseTensors: return "sparse_tensors";
        case onnx::AttributeType::TypeProto: return "type_proto";
        case onnx::AttributeType::TypeProtos: return "type_protos";
        case onnx::AttributeType::Undefined: break;
    }
    return "undefined";
}

}  // namespace

int64_t shape_elements(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::string shape_to_string(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

size_t ValueDesc::byte_size() const {
    return static_cast<size_t>(element_count()) * onnx::data_type_size(dtype);
}

KernelContext::KernelContext(const onnx::Node& node, std::string label, int64_t opset,
                             std::vector<const ValueDesc*> inputs, const BuildOptions& options)
    : node_(node), label_(std::move(label)), opset_(opset), inputs_(std::move(inputs)),
      outputs_(node.outputs.size()), options_(options) {}

const ValueDesc& KernelContext::input(size_t i) const {
    if (!has_input(i)) fail("input " + std::to_string(i) + " is required but absent");
    return *inputs_[i];
}

void KernelContext::set_output(size_t i, onnx::DataType dtype, Shape shape) {
    if (i >= outputs_.size()) fail("has " + std::to_string(outputs_.size()) + " outputs, kernel needs output " +
                                   std::to_string(i));
    for (int64_t d : shape)
        if (d < 0) fail("computed a negative output dim " + shape_to_string(shape));
    outputs_[i].dtype = dtype;
    outputs_[i].shape = std::move(shape);
}

const onnx::Attribute* KernelContext::attribute(const char* name, onnx::AttributeType type) const {
    const onnx::Attribute* a = node_.find_attribute(name);
    if (a && a->type != type)
        fail(std::string("attribute '") + name + "' must be of type " + attribute_type_name(type) + ", got " +
             attribute_type_name(a->type));
    return a;
}

int64_t KernelContext::attr_int(const char* name, int64_t fallback) const {
    const onnx::Attribute* a = attribute(name, onnx::AttributeType::Int);
    return a ? a->i : fallback;
}

float KernelContext::attr_float(const char* name, float fallback) const {
    const onnx::Attribute* a = attribute(name, onnx::AttributeType::Float);
    return a ? a->f : fallback;
}

std::string KernelContext::attr_string(const char* name, const std::string& fallback) const {
    const onnx::Attribute* a = attribute(name, onnx::AttributeType::String);
    return a ? a->s : fallback;
}

std::vector<int64_t> KernelContext::attr_ints(const char* name, std::vector<int64_t> fallback) const {
    const onnx::Attribute* a = attribute(name, onnx::AttributeType::Ints);
    return a ? a->ints : fallback;
}

std::vector<int64_t> KernelContext::constant_ints(size_t i) const {
    const ValueDesc& v = input(i);
    if (!v.is_constant())
        fail("input " + std::to_string(i) + " ('" + node_.inputs[i] +
             "') must be known at load time (an initializer or a constant expression); the NPU runs static "
             "shapes only");
    std::vector<int64_t> out(static_cast<size_t>(v.element_count()));
    if (v.dtype == onnx::DataType::Int64) {
        std::memcpy(out.data(), v.data, out.size() * sizeof(int64_t));
    } else if (v.dtype == onnx::DataType::Int32) {
        const auto* p = static_cast<const int32_t*>(v.data);
        std::copy(p, p + out.size(), out.begin());
    } else {
        fail("input " + std::to_string(i) + " must be int64 or int32, got " + onnx::data_type_name(v.dtype));
    }
    return out;
}

void KernelContext::require_inputs(size_t min_count, size_t max_count) const {
    size_t n = inputs_.size();
    // Trailing absent optional inputs ("") do not count.
    while (n > 0 && inputs_[n - 1] == nullptr) --n;
    if (n < min_count || n > max_count)
        fail("takes " + (min_count == max_count ? std::to_string(min_count)
                                                : std::to_string(min_count) + " to " + std::to_string(max_count)) +
             " inputs, got " + std::to_string(n));
    for (size_t i = 0; i < min_count; ++i)
        if (inputs_[i] == nullptr) fail("input " + std::to_string(i) + " is required but absent");
}

void KernelContext::require_outputs(size_t min_count, size_t max_count) const {
    size_t n = outputs_.size();
    while (n > 0 && node_.outputs[n - 1].empty()) --n;
    if (n < min_count || n > max_count)
        fail("produces " + (min_count == max_count ? std::to_string(min_count)
                                                   : std::to_string(min_count) + " to " + std::to_string(max_count)) +
             " outputs, got " + std::to_string(n));
}

void KernelContext::require_dtype(size_t i, std::initializer_list<onnx::DataType> allowed) const {
    const ValueDesc& v = input(i);
    for (onnx::DataType t : allowed)
        if (v.dtype == t) return;
    std::string list;
    for (onnx::DataType t : allowed) list += std::string(list.empty() ? "" : ", ") + onnx::data_type_name(t);
    fail("input " + std::to_string(i) + " has dtype " + onnx::data_type_name(v.dtype) +
         ", which this kernel does not support yet (supported: " + list + ")");
}

int64_t KernelContext::normalize_axis(int64_t axis, int64_t rank, bool inclusive_end) const {
    int64_t hi = inclusive_end ? rank : rank - 1;
    if (axis < -rank || axis > hi)
        fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

void KernelContext::fail(const std::string& what) const { throw ModelError(label_ + ": " + what); }

}  // namespace ezemu::kernels
