// An ONNX graph lowered for execution: every tensor typed with a static shape, constants folded, one kernel per
// remaining node in execution order, and (after plan_memory) a storage place for every tensor.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "graph/compiled_model.hpp"
#include "kernels/aligned_buffer.hpp"
#include "kernels/kernel.hpp"

namespace ezemu::graph {

enum class StorageKind {
    None,         // not needed at run time
    Constant,     // initializer or folded value, owned by the model
    GraphInput,   // the caller's input pointer `index`
    GraphOutput,  // the caller's output pointer `index`: the producing kernel writes there directly
    Arena,        // the ExecutionState's arena at byte offset `index`
};

struct Storage {
    StorageKind kind = StorageKind::None;
    size_t index = 0;
};

struct Value {
    std::string name;
    kernels::ValueDesc desc;  // desc.data is set for constants
    int producer = -1;        // index into steps, -1 for graph inputs and constants
    Storage storage;
    bool channels_last = false;  // stored NHWC although desc.shape stays NCHW (graph/channels_last_plan.hpp)
};

struct Step {
    const onnx::Node* node = nullptr;
    std::string label;  // "Conv node 'conv_1'"
    std::unique_ptr<kernels::Kernel> kernel;
    std::vector<int> inputs;   // value ids, -1 for an absent optional input
    std::vector<int> outputs;  // value ids, -1 for an omitted optional output
    size_t scratch_offset = 0;
    // False when the step runs fused with a neighbour (a folded activation or BatchNormalization, a kernel that
    // applies them, channels-last data): a registered custom op cannot take its place.
    bool replaceable = true;
};

struct LoweredGraph {
    std::vector<Value> values;
    std::vector<Step> steps;  // execution order
    std::vector<int> inputs;  // graph inputs that are not initializers
    std::vector<int> outputs;
    std::vector<kernels::AlignedBuffer> constant_buffers;  // folded values and re-aligned initializers
    std::vector<std::string> custom_op_types;
    size_t weight_bytes = 0;
    size_t arena_bytes = 0;
};

// Validates and lowers the model's main graph. Throws ModelError.
LoweredGraph lower_graph(const onnx::Model& model, const kernels::BuildOptions& options);

// Gives every value a storage place: views share their input's storage, graph outputs are written in place, and
// intermediates and kernel scratch share one arena by lifetime.
void plan_memory(LoweredGraph& graph);

// How messages name a node: "'conv_1'", or "#3 (output 'y')" when it has no name.
std::string node_reference(const onnx::Node& node, size_t index);

}  // namespace ezemu::graph
