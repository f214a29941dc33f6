#include "graph/conv_batch_norm_folding.hpp"

#include <cmath>
#include <string>
#include <unordered_set>

#include "graph/subgraph.hpp"

namespace ezemu::graph {

std::unordered_map<size_t, size_t> find_conv_batch_norm_pairs(const onnx::Graph& graph, int64_t opset) {
    std::unordered_map<std::string, size_t> readers, reader, producer;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const std::string& in : graph.nodes[i].inputs)
            if (!in.empty()) ++readers[in], reader[in] = i;
        // A tensor an If branch reads is a reader too: folding would hand that branch the BatchNorm's output.
        for (const std::string& in : outer_scope_names(graph.nodes[i])) ++readers[in], reader[in] = i;
        for (const std::string& o : graph.nodes[i].outputs)
            if (!o.empty()) producer[o] = i;
    }
    std::unordered_set<std::string> outputs;
    for (const onnx::ValueInfo& vi : graph.outputs) outputs.insert(vi.name);
    std::unordered_map<size_t, size_t> pairs;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const onnx::Node& conv = graph.nodes[i];
        if (conv.op_type != "Conv" || !conv.is_default_domain() || conv.outputs.size() != 1) continue;
        if (conv.inputs.size() < 2 || conv.inputs.size() > 3) continue;
        const std::string& t = conv.outputs[0];
        if (t.empty() || outputs.count(t) || readers[t] != 1) continue;
        const onnx::Node& bn = graph.nodes[reader[t]];
        if (bn.op_type != "BatchNormalization" || !bn.is_default_domain() || bn.inputs.size() != 5) continue;
        if (bn.inputs[0] != t || bn.outputs.empty() || bn.outputs[0].empty()) continue;
        bool single_output = true;
        for (size_t k = 1; k < bn.outputs.size(); ++k) single_output = single_output && bn.outputs[k].empty();
        if (!single_output || opset < 7) continue;
        const onnx::Attribute* training = bn.find_attribute("training_mode");
        if (opset >= 14 && training && (training->type != onnx::AttributeType::Int || training->i != 0)) continue;
        const onnx::Attribute* spatial = bn.find_attribute("spatial");
        if (opset < 9 && spatial && (spatial->type != onnx::AttributeType::Int || spatial->i != 1)) continue;
        const onnx::Attribute* eps = bn.find_attribute("epsilon");
        if (eps && eps->type != onnx::AttributeType::Float) continue;
        pairs.emplace(i, reader[t]);
    }
    return pairs;
}

bool fold_conv_batch_norm(const kernels::ValueDesc& w, const kernels::ValueDesc* b,
                          const kernels::ValueDesc* const bn[4],
                          float epsilon, kernels::AlignedBuffer& folded_w, kernels::AlignedBuffer& folded_b) {
    const auto usable = [](const kernels::ValueDesc* v) {
        return v && v->is_constant() && v->dtype == onnx::DataType::Float;
    };
    if (!usable(&w) || w.shape.empty() || (b && !usable(b))) return false;
    const int64_t m = w.shape[0];
    if (m <= 0 || (b && b->shape != kernels::Shape{m})) return false;
    for (int k = 0; k < 4; ++k)
        if (!usable(bn[k]) || bn[k]->shape != kernels::Shape{m}) return false;
    const auto* scale = static_cast<const float*>(bn[0]->data);
    const auto* bias = static_cast<const float*>(bn[1]->data);
    const auto* mean = static_cast<const float*>(bn[2]->data);
    const auto* var = static_cast<const float*>(bn[3]->data);
    const auto* wv = static_cast<const float*>(w.data);
    const auto* bv = b ? static_cast<const float*>(b->data) : nullptr;
    const int64_t per = w.element_count() / m;
    folded_w = kernels::AlignedBuffer(w.byte_size());
    folded_b = kernels::AlignedBuffer(static_cast<size_t>(m) * sizeof(float));
    auto* fw = reinterpret_cast<float*>(folded_w.data());
    auto* fb = reinterpret_cast<float*>(folded_b.data());
    for (int64_t o = 0; o < m; ++o) {
        const float a = scale[o] / std::sqrt(var[o] + epsilon);
        for (int64_t k = 0; k < per; ++k) fw[o * per + k] = wv[o * per + k] * a;
        fb[o] = ((bv ? bv[o] : 0.0f) - mean[o]) * a + bias[o];
    }
    return true;
}

}  // namespace ezemu::graph
