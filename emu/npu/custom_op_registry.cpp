#include "npu/custom_op_registry.hpp"

#include <cstring>

#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

// The op_type of a struct the caller filled: empty when it has no terminator inside the array.
std::string op_type_of(const rknn_custom_op& op)
{
    const void* end = std::memchr(op.op_type, '\0', sizeof op.op_type);
    return end ? std::string(op.op_type) : std::string();
}

void check_op(const rknn_custom_op& op, uint32_t index, const std::string& type)
{
    const std::string who = "op[" + std::to_string(index) + "]" + (type.empty() ? "" : " ('" + type + "')");
    if (type.empty()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        who + ".op_type is empty (or not NUL-terminated): set it to the node's op type");
    }
    if (op.target == RKNN_TARGET_TYPE_GPU) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        who + " has target RKNN_TARGET_TYPE_GPU: the ezrknn emulator has no GPU (OpenCL); register "
                              "a CPU implementation with target RKNN_TARGET_TYPE_CPU");
    }
    if (op.target != RKNN_TARGET_TYPE_CPU) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, who + " has target " + std::to_string(static_cast<int>(op.target)) +
                                                    "; use RKNN_TARGET_TYPE_CPU (1)");
    }
    if (!op.compute) throw RknnError(RKNN_ERR_PARAM_INVALID, who + ".compute is NULL; it is required");
    if (op.compute_native) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, who + ".compute_native is reserved and must be NULL");
    }
}

}  // namespace

bool CustomOpRegistry::has_op(const std::string& op_type) const
{
    for (const auto& op : ops_)
        if (op_type == op->op_type) return true;
    return false;
}

std::vector<RegistrationNote> CustomOpRegistry::register_ops(const CompiledModel& model, ExecutionState& state,
                                                             const rknn_custom_op* ops, uint32_t count)
{
    if (!ops) throw RknnError(RKNN_ERR_PARAM_INVALID, "op is NULL");
    if (count == 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "custom_op_num is 0; pass at least one op");
    std::vector<std::string> types;
    for (uint32_t i = 0; i < count; ++i) {
        const std::string type = op_type_of(ops[i]);
        check_op(ops[i], i, type);
        bool repeated = has_op(type);
        for (const std::string& t : types) repeated = repeated || t == type;
        if (repeated) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "op[" + std::to_string(i) + "] ('" + type +
                                                        "') is already registered on this context; each op type "
                                                        "is registered once per context");
        }
        types.push_back(type);
    }

    // Everything below is undone if one init fails.
    std::vector<std::shared_ptr<const rknn_custom_op>> new_ops;
    std::vector<std::shared_ptr<PluginOpNode>> new_nodes;
    std::vector<RegistrationNote> report;
    try {
        for (uint32_t i = 0; i < count; ++i) {
            // A copy: callers often fill the array on the stack (the vendor samples do).
            auto op = std::make_shared<const rknn_custom_op>(ops[i]);
            new_ops.push_back(op);
            const graph::CustomOpSites sites = model.custom_op_sites(types[i]);
            size_t bound = 0, kept_builtin = 0;
            for (const graph::CustomOpSite& site : sites.sites) {
                auto node = std::make_shared<PluginOpNode>(op, site);
                const int result = node->init();
                if (result == RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE && site.has_builtin) {
                    ++kept_builtin;  // that node keeps its built-in kernel and gets no more callbacks
                    continue;
                }
                if (result == RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE) {
                    throw RknnError(RKNN_ERR_FAIL, "op[" + std::to_string(i) + "] ('" + types[i] + "'): init at " +
                                                       site.label +
                                                       " returned RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE (-14), but '" +
                                                       types[i] + "' has no built-in implementation to fall back on");
                }
                if (result != 0) {
                    throw RknnError(RKNN_ERR_FAIL, "op[" + std::to_string(i) + "] ('" + types[i] + "'): init at " +
                                                       site.label + " returned " + std::to_string(result) +
                                                       " (0 is success)");
                }
                new_nodes.push_back(std::move(node));
                ++bound;
            }
            std::string line = "'" + types[i] + "' runs " + std::to_string(bound) + " node(s)";
            if (kept_builtin) line += ", " + std::to_string(kept_builtin) + " kept the built-in (init returned -14)";
            if (sites.sites.empty() && sites.fixed.empty()) line += "; no node of the model has this op type";
            for (const std::string& f : sites.fixed) line += "; keeps the built-in: " + f;
            report.push_back({!sites.fixed.empty() || (sites.sites.empty() && sites.fixed.empty()), std::move(line)});
        }
    } catch (...) {
        for (auto& node : new_nodes) node->destroy();
        throw;
    }
    for (const auto& node : new_nodes) state.set_custom_op(node->site().step, node);
    ops_.insert(ops_.end(), new_ops.begin(), new_ops.end());
    nodes_.insert(nodes_.end(), new_nodes.begin(), new_nodes.end());
    return report;
}

void CustomOpRegistry::release() noexcept
{
    for (auto& node : nodes_) node->destroy();
}

}  // namespace ezemu::npu
