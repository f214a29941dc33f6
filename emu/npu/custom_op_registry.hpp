// The custom operators registered on one rknn_context (rknn-api.md §7.13): the ops, and the model nodes their
// plugins run. Per context: dups share the compiled model but each registers its own ops, whose nodes run in that
// context's ExecutionState only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/compiled_model.hpp"
#include "npu/plugin_op_node.hpp"
#include "rknn/rknn_custom_op.h"

namespace ezemu::npu {

// What registration did with one op, for the log: a warning when a node of its type keeps the built-in because it
// was fused at load time, or when the model has no node of that type.
struct RegistrationNote {
    bool warning = false;
    std::string text;
};

class CustomOpRegistry {
public:
    CustomOpRegistry() = default;
    // Calls no plugin code: destroy callbacks belong to rknn_destroy, and a context still alive at process exit may
    // outlive its plugin's code.
    ~CustomOpRegistry() = default;
    CustomOpRegistry(const CustomOpRegistry&) = delete;
    CustomOpRegistry& operator=(const CustomOpRegistry&) = delete;

    // Checks all `count` ops, then binds each to the nodes of its op type and calls init once per node. All or
    // nothing: on any failure the nodes this call initialised are destroyed and nothing stays registered.
    // Throws RknnError (PARAM_INVALID for bad arguments, FAIL for an init that failed). Returns one note per op.
    std::vector<RegistrationNote> register_ops(const CompiledModel& model, ExecutionState& state, const rknn_custom_op* ops,
                                          uint32_t count);

    // Calls destroy once for every bound node (rknn_destroy); the nodes then refuse to run. Idempotent.
    void release() noexcept;

    bool has_op(const std::string& op_type) const;
    size_t bound_node_count() const { return nodes_.size(); }

private:
    std::vector<std::shared_ptr<const rknn_custom_op>> ops_;
    std::vector<std::shared_ptr<PluginOpNode>> nodes_;
};

}  // namespace ezemu::npu
