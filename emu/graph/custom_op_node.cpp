#include "graph/custom_op_node.hpp"

#include <unordered_set>

#include "graph/compiled_model.hpp"
#include "graph/lowered_graph.hpp"

namespace ezemu::graph {

void CustomOpKernel::run(const kernels::RunContext& ctx) const {
    (void)ctx;
    throw RunError(message_);
}

CustomOpSites find_custom_op_sites(const LoweredGraph& lowered, const onnx::Graph& graph, const std::string& op_type) {
    CustomOpSites found;
    std::unordered_set<const onnx::Node*> seen;
    for (size_t s = 0; s < lowered.steps.size(); ++s) {
        const Step& step = lowered.steps[s];
        if (!step.node || step.node->op_type != op_type || !seen.insert(step.node).second) continue;
        if (!step.replaceable) {
            found.fixed.push_back(step.label + ": the emulator fused it with a neighbouring node at load time");
            continue;
        }
        CustomOpSite site;
        site.step = s;
        site.node = step.node;
        site.label = step.label;
        site.has_builtin = step.node->is_default_domain();
        // Inputs after the node's own are outer-scope tensors of subgraph attributes: not the op's business.
        for (size_t i = 0; i < step.node->inputs.size() && i < step.inputs.size(); ++i) {
            const int v = step.inputs[i];
            site.input_names.push_back(v < 0 ? std::string() : lowered.values[static_cast<size_t>(v)].name);
            site.inputs.push_back(v < 0 ? kernels::ValueDesc{} : lowered.values[static_cast<size_t>(v)].desc);
        }
        for (int v : step.outputs) {
            site.output_names.push_back(v < 0 ? std::string() : lowered.values[static_cast<size_t>(v)].name);
            site.outputs.push_back(v < 0 ? kernels::ValueDesc{} : lowered.values[static_cast<size_t>(v)].desc);
        }
        found.sites.push_back(std::move(site));
    }
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const onnx::Node& node = graph.nodes[i];
        if (node.op_type != op_type || seen.count(&node)) continue;
        found.fixed.push_back(node.op_type + " node " + node_reference(node, i) +
                              ": computed at load time (all its inputs are constant) or not needed by any output");
    }
    return found;
}

std::unique_ptr<kernels::Kernel> make_custom_op_placeholder(
    const onnx::Node& node, size_t index, const std::unordered_map<std::string, const onnx::ValueInfo*>& declared,
    std::vector<kernels::ValueDesc>& outputs) {
    const std::string who = "custom operator '" + node.op_type + "' (domain '" + node.domain + "', node " +
                            node_reference(node, index) + ")";
    outputs.assign(node.outputs.size(), {});
    for (size_t i = 0; i < node.outputs.size(); ++i) {
        const std::string& name = node.outputs[i];
        if (name.empty()) continue;
        auto it = declared.find(name);
        const onnx::ValueInfo* vi = it == declared.end() ? nullptr : it->second;
        bool known = vi && vi->has_tensor_type && vi->has_shape && onnx::data_type_size(vi->elem_type) != 0;
        for (size_t d = 0; known && d < vi->dims.size(); ++d) known = vi->dims[d].is_static();
        if (!known)
            throw ModelError(who + ": output '" + name +
                             "' has no static dtype and shape in the model; the emulator needs shape info for "
                             "custom-op outputs (add a value_info entry with static dims for it)");
        outputs[i].dtype = vi->elem_type;
        for (const onnx::Dim& d : vi->dims) outputs[i].shape.push_back(d.value);
    }
    return std::make_unique<CustomOpKernel>(
        who + " has no registered implementation; register it with rknn_register_custom_ops");
}

}  // namespace ezemu::graph
