#include "graph/custom_op_node.hpp"

#include "graph/compiled_model.hpp"
#include "graph/lowered_graph.hpp"

namespace ezemu::graph {

void CustomOpKernel::run(const kernels::RunContext& ctx) const {
    if (!impl_) throw RunError(message_);
    impl_->compute(ctx);
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
        who + " has no registered implementation; register it with rknn_register_custom_ops", nullptr);
}

}  // namespace ezemu::graph
