// Chains of elementwise ops that a Conv (or another node with a oneDNN kernel) may apply to its own output as
// post-ops, so their nodes become views instead of passes over memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/onnx_model.hpp"
#include "kernels/kernel.hpp"

namespace ezemu::graph {

// Elementwise ops a node may apply to its output, and their nodes, which then become views.
struct FusedChain {
    std::vector<kernels::FusedOp> ops;
    std::vector<std::pair<size_t, std::string>> nodes;  // each node of the ops, and the chain tensor it reads
};

// For each node with one output, the chain after it (node index -> chain): elementwise ops, each the only reader
// of the tensor before it and none a graph output. The ops: Relu; Clip with constant bounds; Mul, Add or Sub by a
// float scalar constant; the HardSwish export x * Clip(x + 3, 0, 6) / 6. oneDNN 2.6 mis-applies repeated post-ops
// of one kind, so each kind appears at most once (a Mul then an Add by scalars merge into one a * x + b).
std::unordered_map<size_t, FusedChain> find_activation_chains(const onnx::Graph& graph, int64_t opset);

}  // namespace ezemu::graph
