#include "graph/channels_last_plan.hpp"

#include <vector>

#include "graph/subgraph.hpp"

namespace ezemu::graph {

std::unordered_set<std::string> plan_channels_last(const onnx::Graph& graph,
                                                   const std::unordered_map<size_t, size_t>& views_after) {
    struct Reader {
        size_t node;
        size_t input;  // SIZE_MAX: read by name from a subgraph
    };
    std::unordered_map<std::string, std::vector<Reader>> readers;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (size_t k = 0; k < graph.nodes[i].inputs.size(); ++k)
            if (!graph.nodes[i].inputs[k].empty()) readers[graph.nodes[i].inputs[k]].push_back({i, k});
        for (const std::string& name : outer_scope_names(graph.nodes[i])) readers[name].push_back({i, SIZE_MAX});
    }
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

}  // namespace ezemu::graph
