#include "graph/subgraph.hpp"

#include <unordered_set>

namespace ezemu::graph {

namespace {

struct NameList {
    std::vector<std::string> names;
    std::unordered_set<std::string> seen;
    void add(const std::string& name) {
        if (!name.empty() && seen.insert(name).second) names.push_back(name);
    }
};

bool has_subgraphs(const onnx::Node& node) {
    for (const onnx::Attribute& a : node.attributes)
        if ((a.type == onnx::AttributeType::Graph && a.g) || (a.type == onnx::AttributeType::Graphs && !a.graphs.empty()))
            return true;
    return false;
}

}  // namespace

std::vector<std::string> outer_scope_names(const onnx::Graph& graph) {
    std::unordered_set<std::string> defined;
    for (const onnx::ValueInfo& vi : graph.inputs) defined.insert(vi.name);
    for (const onnx::Tensor& t : graph.initializers) defined.insert(t.name);
    for (const onnx::Node& n : graph.nodes)
        for (const std::string& o : n.outputs) defined.insert(o);
    NameList free;
    for (const onnx::Node& n : graph.nodes) {
        for (const std::string& in : n.inputs)
            if (!defined.count(in)) free.add(in);
        if (!has_subgraphs(n)) continue;
        for (const std::string& in : outer_scope_names(n))
            if (!defined.count(in)) free.add(in);
    }
    for (const onnx::ValueInfo& vi : graph.outputs)
        if (!defined.count(vi.name)) free.add(vi.name);
    return std::move(free.names);
}

std::vector<std::string> outer_scope_names(const onnx::Node& node) {
    if (!has_subgraphs(node)) return {};
    NameList free;
    for (const onnx::Attribute& a : node.attributes) {
        if (a.type == onnx::AttributeType::Graph && a.g)
            for (const std::string& name : outer_scope_names(*a.g)) free.add(name);
        if (a.type == onnx::AttributeType::Graphs)
            for (const auto& g : a.graphs)
                if (g)
                    for (const std::string& name : outer_scope_names(*g)) free.add(name);
    }
    return std::move(free.names);
}

}  // namespace ezemu::graph
