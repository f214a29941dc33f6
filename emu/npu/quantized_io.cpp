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

// The per-tensor parameters of a Q/DQ node with initializer scale (float32, one value, > 0) and 8-bit zero point.
std::optional<IoQuantization> parameters(const onnx::Graph& graph, const onnx::Node& node) {
    if (node.inputs.size() < 3 || node.inputs[2].empty()) return std::nullopt;
    const onnx::Tensor* s = initializer(graph, node.inputs[1]);
    const onnx::Tensor* z = initializer(graph, node.inputs[2]);
    if (!s || !z || s->data_type != DT::Float || s->byte_size() != 4 || z->byte_size() != 1) return std::nullopt;
    IoQuantization q;
    std::memcpy(&q.scale, s->data(), 4);
    if (!(q.scale > 0.0f) || !std::isfinite(q.scale)) return std::nullopt;
    if (z->data_type == DT::Int8) {
        q.type = RKNN_TENSOR_INT8;
        q.zero_point = static_cast<int8_t>(z->data()[0]);
    } else if (z->data_type == DT::Uint8) {
        q.type = RKNN_TENSOR_UINT8;
        q.zero_point = z->data()[0];
    } else {
        return std::nullopt;
    }
    return q;
}

}  // namespace

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
