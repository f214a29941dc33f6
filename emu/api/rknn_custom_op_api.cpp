// Custom operators (rknn-api.md §7.13): registration is a later issue. Until then a model's custom-domain nodes
// load as placeholders and rknn_run names them.
#include <cstring>

#include "api/api_guard.hpp"
#include "rknn/rknn_custom_op.h"

extern "C" {

EZEMU_EXPORT int rknn_register_custom_ops(rknn_context ctx, rknn_custom_op* op, uint32_t custom_op_num)
{
    (void)ctx, (void)op, (void)custom_op_num;
    return ezemu::api::not_implemented("rknn_register_custom_ops");
}

EZEMU_EXPORT void rknn_custom_op_get_op_attr(rknn_custom_op_context* op_ctx, const char* attr_name,
                                             rknn_custom_op_attr* op_attr)
{
    (void)op_ctx, (void)attr_name;
    // Report "no such attribute" rather than leave the plugin reading whatever the struct held.
    if (op_attr) {
        op_attr->n_elems = 0;
        op_attr->data = nullptr;
    }
    ezemu::api::not_implemented("rknn_custom_op_get_op_attr");
}

}  // extern "C"
