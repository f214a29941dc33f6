// Subgraphs (the GRAPH attributes of If) read tensors of the graphs around them by name. These helpers find those
// names, so the enclosing graph can order, keep alive and hand over the tensors a node reads implicitly.
#pragma once

#include <string>
#include <vector>

#include "graph/onnx_model.hpp"

namespace ezemu::graph {

// Names `graph` reads but does not define itself (as an input, initializer or node output), including those its
// own subgraphs read from it or further out; in order of first use, without repeats.
std::vector<std::string> outer_scope_names(const onnx::Graph& graph);

// The outer-scope names of every subgraph attribute of `node`, in attribute order, without repeats. Empty for a node
// without subgraphs.
std::vector<std::string> outer_scope_names(const onnx::Node& node);

}  // namespace ezemu::graph
