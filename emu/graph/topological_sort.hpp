// Execution order of a graph's nodes: ONNX requires sorted node lists, but exporters and hand-edited models do not
// always deliver them.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "graph/onnx_model.hpp"

namespace ezemu::graph {

// Node indices in an order where every node follows the producers of its inputs; among ready nodes the original
// order wins, so a sorted list stays as it is. `available` names the tensors no node produces (initializers and
// graph inputs). Throws ModelError for a cycle, a tensor produced twice, or an input nobody provides.
std::vector<size_t> topological_order(const onnx::Graph& graph, const std::unordered_set<std::string>& available);

}  // namespace ezemu::graph
