/* A sample RKNN custom-op plugin: cstSwish, y = x * sigmoid(beta * x), with the float attribute `beta` (default 1).
 *
 * Build it as librkcst_swish.so (CMakeLists.txt here) and load it with the provider option
 * custom_op_paths=[".../librkcst_swish.so"], or drop it into the default plugin directory and set
 * custom_op_default_path=True. The same source builds for a board against the vendor's rknn_custom_op.h and
 * librknnrt.so. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rknn/rknn_custom_op.h"

/* Per node: what init learned from the node's attributes, kept in op_ctx->priv_data until destroy. */
struct swish_node {
    float beta;
};

static int swish_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                      rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)inputs, (void)outputs;
    if (n_inputs != 1 || n_outputs != 1) return -1;
    struct swish_node* node = (struct swish_node*)calloc(1, sizeof *node);
    if (!node) return -1;
    node->beta = 1.0f;
    rknn_custom_op_attr attr;
    memset(&attr, 0, sizeof attr);
    rknn_custom_op_get_op_attr(op_ctx, "beta", &attr);
    if (attr.n_elems == 1 && attr.dtype == RKNN_TENSOR_FLOAT32 && attr.data) node->beta = *(const float*)attr.data;
    op_ctx->priv_data = node;
    return 0;
}

static int swish_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                         rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    const struct swish_node* node = (const struct swish_node*)op_ctx->priv_data;
    if (!node || n_inputs != 1 || n_outputs != 1) return -1;
    /* The runtime hands float tensors over as float32 (rknn-api.md §7.13; docs/emulator.md "Data contract"). */
    if (inputs[0].attr.type != RKNN_TENSOR_FLOAT32 || outputs[0].attr.type != RKNN_TENSOR_FLOAT32) return -2;
    const float* x = (const float*)((const char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    float* y = (float*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint32_t i = 0; i < inputs[0].attr.n_elems; ++i) y[i] = x[i] / (1.0f + expf(-node->beta * x[i]));
    return 0;
}

static int swish_destroy(rknn_custom_op_context* op_ctx)
{
    free(op_ctx->priv_data);
    op_ctx->priv_data = NULL;
    return 0;
}

/* The one symbol the loader looks up. The struct is static: the loader copies it, the runtime may keep pointers to
 * the callbacks, which live as long as the library stays loaded. */
RKNN_CUSTOM_OP_EXPORT rknn_custom_op* get_rknn_custom_op(void)
{
    static rknn_custom_op op;
    memset(&op, 0, sizeof op);
    op.version = 1;
    op.target = RKNN_TARGET_TYPE_CPU;
    strncpy(op.op_type, "cstSwish", sizeof op.op_type - 1);
    op.init = swish_init;
    op.compute = swish_compute;
    op.destroy = swish_destroy;
    return &op;
}
