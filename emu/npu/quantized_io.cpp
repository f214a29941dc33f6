#include "npu/quantized_io.hpp"

#include <cmath>
#include <cstring>

#include "rknn/rknn_api.h"

namespace ezemu::npu {

namespace {

using DT = onnx::DataType;

const onnx::Tensor* initializer(const onnx::Graph& graph, const std::string& name) {
    for (const onnx::Tensor& t : graph.initializers)
        if (t.name == name) return &t;
    return nullptr;
}

// q with the type and the zero point of a one-value zero-point tensor of element type T.
template <typename T>
std::optional<IoQuantization> with_zero_point(IoQuantization q, int type, const onnx::Tensor& z) {
    if (z.byte_size() != sizeof(T)) return std::nullopt;
    T value;
    std::memcpy(&value, z.data(), sizeof value);
    q.type = type;
    q.zero_point = value;
    return q;
}

// The per-tensor parameters of a Q/DQ node with initializer scale (float32, one value, > 0) and an 8- or 16-bit
// zero point (one value).
std::optional<IoQuantization> parameters(const onnx::Graph& graph, const onnx::Node& node) {
    if (node.inputs.size() < 3 || node.inputs[2].empty()) return std::nullopt;
    const onnx::Tensor* s = initializer(graph, node.inputs[1]);
    const onnx::Tensor* z = initializer(graph, node.inputs[2]);
    if (!s || !z || s->data_type != DT::Float || s->byte_size() != 4) return std::nullopt;
    IoQuantization q;
    std::memcpy(&q.scale, s->data(), 4);
    if (!(q.scale > 0.0f) || !std::isfinite(q.scale)) return std::nullopt;
    switch (z->data_type) {
    case DT::Int8: return with_zero_point<int8_t>(q, RKNN_TENSOR_INT8, *z);
    case DT::Uint8: return with_zero_point<uint8_t>(q, RKNN_TENSOR_UINT8, *z);
    case DT::Int16: return with_zero_point<int16_t>(q, RKNN_TENSOR_INT16, *z);
    case DT::Uint16: return with_zero_point<uint16_t>(q, RKNN_TENSOR_UINT16, *z);
    default: return std::nullopt;
    }
}

}  // namespace

int32_t IoQuantization::lowest() const {
    switch (type) {
    case RKNN_TENSOR_INT8: return -128;
    case RKNN_TENSOR_INT16: return -32768;
    default: return 0;
    }
}

int32_t IoQuantization::highest() const {
    switch (type) {
    case RKNN_TENSOR_INT8: return 127;
    case RKNN_TENSOR_UINT8: return 255;
    case RKNN_TENSOR_INT16: return 32767;
    default: return 65535;
    }
}

std::optional<IoQuantization> input_quantization(const onnx::Model& model, const std::string& input) {
    const onnx::Graph& g = model.graph;
    std::optional<IoQuantization> found;
    for (const onnx::Node& n : g.nodes)
        for (const std::string& in : n.inputs) {
            if (in != input) continue;
            if (!n.is_default_domain() || n.op_type != "QuantizeLinear" || n.inputs[0] != input) return std::nullopt;
            const std::optional<IoQuantization> q = parameters(g, n);
            if (!q) return std::nullopt;
            if (found && (found->type != q->type || found->zero_point != q->zero_point || found->scale != q->scale))
                return std::nullopt;
            found = q;
        }
    for (const onnx::ValueInfo& vi : g.outputs)
        if (vi.name == input) return std::nullopt;  // also a graph output: the float value itself is seen
    return found;
}

std::optional<IoQuantization> output_quantization(const onnx::Model& model, const std::string& output) {
    const onnx::Graph& g = model.graph;
    for (const onnx::Node& n : g.nodes)
        if (!n.outputs.empty() && n.outputs[0] == output)
            return n.is_default_domain() && n.op_type == "DequantizeLinear" ? parameters(g, n) : std::nullopt;
    return std::nullopt;
}

}  // namespace ezemu::npu
