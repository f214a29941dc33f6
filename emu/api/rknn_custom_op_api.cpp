// Custom operators (rknn-api.md §7.13): rknn_register_custom_ops binds plugin callbacks to the model's nodes of each
// op type on one context; rknn_custom_op_get_op_attr lets a callback read its node's ONNX attributes.
#include <string>

#include "api/api_guard.hpp"
#include "api/log.hpp"
#include "npu/plugin_op_node.hpp"
#include "rknn/rknn_custom_op.h"

extern "C" {

EZEMU_EXPORT int rknn_register_custom_ops(rknn_context ctx, rknn_custom_op* op, uint32_t custom_op_num)
{
    return ezemu::api::with_context("rknn_register_custom_ops", ctx, [&](ezemu::npu::Context& context) -> int {
        if (context.model().is_dynamic()) {
            // The vendor runtime crashes on this combination (rknn-api.md §7.12): refuse it plainly.
            throw ezemu::npu::RknnError(RKNN_ERR_FAIL, "custom operators are not supported with a dynamic-shape "
                                                       "model; prepare it without dynamic_input");
        }
        const auto notes = context.custom_ops().register_ops(context.model().compiled(), context.execution_state(),
                                                             op, custom_op_num);
        for (const ezemu::npu::RegistrationNote& note : notes) {
            ezemu::api::log_line(note.warning ? ezemu::api::LogLevel::Warning : ezemu::api::LogLevel::Info,
                                 "rknn_register_custom_ops: " + note.text);
        }
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT void rknn_custom_op_get_op_attr(rknn_custom_op_context* op_ctx, const char* attr_name,
                                             rknn_custom_op_attr* op_attr)
{
    // It returns nothing: a failure leaves n_elems 0 and data NULL, and is logged and kept as the last error.
    ezemu::api::guarded("rknn_custom_op_get_op_attr", [&]() -> int {
        ezemu::api::require_pointer(op_attr, "op_attr");
        op_attr->n_elems = 0;
        op_attr->data = nullptr;
        ezemu::api::require_pointer(op_ctx, "op_ctx");
        ezemu::api::require_pointer(attr_name, "attr_name");
        const ezemu::npu::PluginOpNode::Lookup lookup(op_ctx);
        if (!lookup.node()) {
            throw ezemu::npu::RknnError(RKNN_ERR_PARAM_INVALID,
                                        "op_ctx is not the context of a registered custom op node (pass the "
                                        "rknn_custom_op_context your callback received)");
        }
        if (!lookup.node()->read_attribute(attr_name, *op_attr)) {
            // Plugins probe optional attributes (ArgMax's keepdims): a warning, not an error.
            ezemu::api::log_line(ezemu::api::LogLevel::Warning,
                                 "rknn_custom_op_get_op_attr: " + lookup.node()->site().label + " (custom op '" +
                                     lookup.node()->op_type() + "') has no attribute '" + attr_name +
                                     "'; n_elems is 0 and data NULL");
        }
        return RKNN_SUCC;
    });
}

}  // extern "C"
