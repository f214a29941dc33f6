#include "graph/channels_last_plan.hpp"

#include <vector>

#include "graph/subgraph.hpp"

namespace ezemu::graph {

namespace {

struct Reader {
    size_t node;
    size_t input;  // SIZE_MAX: read by name from a subgraph
};
using ReaderMap = std::unordered_map<std::string, std::vector<Reader>>;

ReaderMap find_readers(const onnx::Graph& graph) {
    ReaderMap readers;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (size_t k = 0; k < graph.nodes[i].inputs.size(); ++k)
            if (!graph.nodes[i].inputs[k].empty()) readers[graph.nodes[i].inputs[k]].push_back({i, k});
        for (const std::string& name : outer_scope_names(graph.nodes[i])) readers[name].push_back({i, SIZE_MAX});
    }
    return readers;
}

// The fused steps whose kernels are elementwise (any layout, the same for inputs and output).
bool elementwise(const onnx::Node& fused) {
    return fused.op_type == "QLinearAdd" || fused.op_type == "QLinearLookup";
}

}  // namespace

std::unordered_set<std::string> plan_channels_last(const onnx::Graph& graph,
                                                   const std::unordered_map<size_t, size_t>& views_after) {
    const ReaderMap readers = find_readers(graph);
    std::unordered_set<std::string> initializers, outputs;  // initializers: and Constant node outputs
    for (const onnx::Tensor& t : graph.initializers) initializers.insert(t.name);
    for (const onnx::Node& n : graph.nodes)  // exporters such as paddle2onnx store weights as Constant nodes
        if (n.is_default_domain() && n.op_type == "Constant" && n.outputs.size() == 1)
            initializers.insert(n.outputs[0]);
    for (const onnx::ValueInfo& vi : graph.outputs) outputs.insert(vi.name);
    const auto is_conv = [&](const onnx::Node& n) {
        return n.is_default_domain() && n.op_type == "Conv" && n.outputs.size() == 1 && n.inputs.size() >= 2 &&
               initializers.count(n.inputs[1]) && !initializers.count(n.inputs[0]);
    };

    std::unordered_set<std::string> plan;
    for (size_t p = 0; p < graph.nodes.size(); ++p) {
        if (!is_conv(graph.nodes[p])) continue;
        size_t node = p;
        std::string t = graph.nodes[p].outputs[0];
        bool ok = true;
        for (;;) {
            auto rs = readers.find(t);
            if (outputs.count(t) || rs == readers.end()) {
                ok = false;
                break;
            }
            // The chain was found exclusive; lowering checks that it really became views.
            auto view = views_after.find(node);
            if (view != views_after.end() && graph.nodes[view->second].outputs.size() == 1) {
                node = view->second;
                t = graph.nodes[node].outputs[0];
                continue;
            }
            for (const Reader& r : rs->second) ok = ok && r.input == 0 && is_conv(graph.nodes[r.node]);
            break;
        }
        if (ok) plan.insert(graph.nodes[p].outputs[0]);
    }
    return plan;
}

IntegerChannelsLastPlan plan_integer_channels_last(const onnx::Graph& graph,
                                                   const std::unordered_map<size_t, QdqPattern>& patterns) {
    const ReaderMap readers = find_readers(graph);
    std::unordered_set<std::string> outputs;
    for (const onnx::ValueInfo& vi : graph.outputs) outputs.insert(vi.name);
    std::unordered_map<std::string, size_t> weight_rank;
    for (const onnx::Tensor& t : graph.initializers) weight_rank.emplace(t.name, t.dims.size());
    const auto fused_op = [&](size_t node) -> const onnx::Node* {
        auto it = patterns.find(node);
        return it == patterns.end() ? nullptr : &it->second.fused;
    };
    // Whether the fused step that replaces `node` reads its input `k` in the layout of its output.
    const auto reads_channels_last = [&](size_t node, size_t k) {
        const onnx::Node* f = fused_op(node);
        if (!f) return false;
        if (f->op_type == "QLinearAdd") return k == 0 || k == 1;
        if (f->op_type == "QLinearLookup") return k == 0;
        if (f->op_type != "QLinearConv" || k != 0) return false;
        auto rank = weight_rank.find(f->inputs[3]);
        return rank != weight_rank.end() && rank->second == 4;
    };

    IntegerChannelsLastPlan plan;
    std::unordered_map<std::string, std::vector<size_t>> dequantize_of;  // planned tensor -> its readers
    for (const auto& [node, pattern] : patterns) {
        const onnx::Node& f = pattern.fused;
        const bool conv = f.op_type == "QLinearConv" && reads_channels_last(node, 0);
        if ((!conv && !elementwise(f)) || f.outputs.size() != 1) continue;
        const std::string& t = f.outputs[0];
        auto rs = readers.find(t);
        if (outputs.count(t) || rs == readers.end()) continue;
        bool ok = true;
        std::vector<size_t> dequantize;
        for (const Reader& r : rs->second) {
            const onnx::Node& dq = graph.nodes[r.node];
            ok = ok && r.input == 0 && dq.is_default_domain() && dq.op_type == "DequantizeLinear" &&
                 dq.outputs.size() == 1 && !outputs.count(dq.outputs[0]);
            if (!ok) break;
            auto dq_readers = readers.find(dq.outputs[0]);
            if (dq_readers != readers.end())
                for (const Reader& d : dq_readers->second) ok = ok && reads_channels_last(d.node, d.input);
            dequantize.push_back(r.node);
        }
        if (!ok) continue;
        plan.tensors.insert(t);
        dequantize_of.emplace(t, std::move(dequantize));
    }
    // An elementwise step keeps one layout for its data inputs and output (QLinearAdd: a, b, y; QLinearLookup: x, y).
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& [node, pattern] : patterns) {
            const onnx::Node& f = pattern.fused;
            if (!elementwise(f)) continue;
            const bool add = f.op_type == "QLinearAdd";
            const std::vector<const std::string*> names =
                add ? std::vector<const std::string*>{&f.inputs[0], &f.inputs[3], &f.outputs[0]}
                    : std::vector<const std::string*>{&f.inputs[0], &f.outputs[0]};
            size_t planned = 0;
            for (const std::string* n : names) planned += plan.tensors.count(*n);
            if (planned == 0 || planned == names.size()) continue;
            for (const std::string* n : names) plan.tensors.erase(*n);
            changed = true;
        }
    }
    for (const std::string& t : plan.tensors)
        for (size_t dq : dequantize_of.at(t)) plan.unused_dequantize.insert(dq);
    return plan;
}

}  // namespace ezemu::graph
