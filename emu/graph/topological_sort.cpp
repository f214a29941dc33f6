#include "graph/topological_sort.hpp"

#include <functional>
#include <queue>
#include <unordered_map>

#include "graph/compiled_model.hpp"
#include "graph/lowered_graph.hpp"
#include "graph/subgraph.hpp"

namespace ezemu::graph {

std::vector<size_t> topological_order(const onnx::Graph& graph, const std::unordered_set<std::string>& available) {
    const size_t n = graph.nodes.size();
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < n; ++i) {
        for (const std::string& out : graph.nodes[i].outputs) {
            if (out.empty()) continue;
            if (available.count(out))
                throw ModelError("node " + node_reference(graph.nodes[i], i) + " writes tensor '" + out +
                                 "', which is also a graph input or initializer");
            auto [it, fresh] = producer.emplace(out, i);
            if (!fresh)
                throw ModelError("tensor '" + out + "' is produced twice: by node " +
                                 node_reference(graph.nodes[it->second], it->second) + " and node " +
                                 node_reference(graph.nodes[i], i));
        }
    }
    std::vector<std::vector<size_t>> consumers(n);
    std::vector<size_t> pending(n, 0);  // inputs not yet produced, counted per occurrence
    for (size_t i = 0; i < n; ++i) {
        std::vector<std::string> reads = graph.nodes[i].inputs;
        for (std::string& name : outer_scope_names(graph.nodes[i])) reads.push_back(std::move(name));  // subgraphs
        for (const std::string& in : reads) {
            if (in.empty() || available.count(in)) continue;
            auto it = producer.find(in);
            if (it == producer.end())
                throw ModelError(graph.nodes[i].op_type + " node " + node_reference(graph.nodes[i], i) +
                                 " reads tensor '" + in + "', which no node, initializer or graph input provides");
            consumers[it->second].push_back(i);
            ++pending[i];
        }
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < n; ++i)
        if (pending[i] == 0) ready.push(i);
    std::vector<size_t> order;
    order.reserve(n);
    while (!ready.empty()) {
        const size_t i = ready.top();
        ready.pop();
        order.push_back(i);
        for (size_t c : consumers[i])
            if (--pending[c] == 0) ready.push(c);
    }
    if (order.size() != n) {
        std::string names;
        size_t listed = 0;
        for (size_t i = 0; i < n && listed < 5; ++i)
            if (pending[i] != 0) names += (listed++ ? ", " : "") + node_reference(graph.nodes[i], i);
        throw ModelError("the graph has a cycle; nodes waiting on it include " + names);
    }
    return order;
}

}  // namespace ezemu::graph
