/* The registration struct every test plugin hands out from get_rknn_custom_op: a CPU op, version 1, with the given
 * callbacks (NULL where the plugin has none). One static struct per plugin library, as the plugin contract expects
 * (rknn-api.md §7.13: the loader keeps the pointer). */
#ifndef EZRKNN_TEST_CPU_OP_DESCRIPTOR_H
#define EZRKNN_TEST_CPU_OP_DESCRIPTOR_H

#include <string.h>

#include "rknn/rknn_custom_op.h"

typedef int (*cpu_op_callback)(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                               rknn_custom_op_tensor* outputs, uint32_t n_outputs);

static inline rknn_custom_op* describe_cpu_op(const char* op_type, cpu_op_callback init, cpu_op_callback prepare,
                                              cpu_op_callback compute, int (*destroy)(rknn_custom_op_context*))
{
    static rknn_custom_op op;
    memset(&op, 0, sizeof op);
    op.version = 1;
    op.target = RKNN_TARGET_TYPE_CPU;
    strncpy(op.op_type, op_type, sizeof op.op_type - 1);
    op.init = init;
    op.prepare = prepare;
    op.compute = compute;
    op.destroy = destroy;
    return &op;
}

#endif
