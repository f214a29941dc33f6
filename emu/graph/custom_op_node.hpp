// Custom operators at the graph level. Nodes outside the default domain compile to placeholders (their output shapes
// come from the model's value_info or graph outputs) that fail at run time; a custom op registered on a context
// replaces them, or the built-in kernel of a default-domain node of the same op type, in that context's runs only.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::graph {

// Runs one node in place of its kernel, for the runs of one ExecutionState (one rknn_context). It gets the node's
// RunContext: its inputs and outputs in the node's own dtypes and shapes. Throws RunError on failure.
class CustomOpImplementation {
public:
    virtual ~CustomOpImplementation() = default;
    virtual void compute(const kernels::RunContext& ctx) = 0;
};

// One node a custom op can run: where the executor runs it, and what it reads and writes.
struct CustomOpSite {
    size_t step = 0;                    // for ExecutionState::set_custom_op
    const onnx::Node* node = nullptr;
    std::string label;                  // "ArgMax node 'am'"
    bool has_builtin = false;           // default domain: a built-in kernel exists for init's -14 to fall back on
    std::vector<std::string> input_names, output_names;  // "" for an absent optional tensor
    std::vector<kernels::ValueDesc> inputs, outputs;     // dtype Undefined when absent; data set for constants
};

struct CustomOpSites {
    std::vector<CustomOpSite> sites;  // in execution order
    // Nodes of the op type a custom op cannot run, each "<label>: <why>" (fused into a neighbour, or computed
    // at load time because all its inputs are constant).
    std::vector<std::string> fixed;
};

struct LoweredGraph;

// The nodes of `op_type` (in any domain) in `lowered`, lowered from `graph`.
CustomOpSites find_custom_op_sites(const LoweredGraph& lowered, const onnx::Graph& graph, const std::string& op_type);

class CustomOpKernel final : public kernels::Kernel {
public:
    explicit CustomOpKernel(std::string unregistered_message) : message_(std::move(unregistered_message)) {}
    // Reached only when no custom op is registered for the node on the running context.
    void run(const kernels::RunContext& ctx) const override;

private:
    std::string message_;
};

// The placeholder kernel for `node`, with the output descs taken from `declared` (value_info and graph outputs by
// name). Throws ModelError naming the node when an output's dtype or static shape is unknown.
std::unique_ptr<kernels::Kernel> make_custom_op_placeholder(
    const onnx::Node& node, size_t index, const std::unordered_map<std::string, const onnx::ValueInfo*>& declared,
    std::vector<kernels::ValueDesc>& outputs);

}  // namespace ezemu::graph
