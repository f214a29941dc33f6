/* Test plugin: ArgMax on the CPU in place of the built-in ONNX ArgMax. It reads "axis" and "keepdims" with
 * rknn_custom_op_get_op_attr in init (ONNX defaults 0 and 1 when absent) and ignores select_last_index (first
 * maximum wins). */
#include <stdlib.h>
#include <string.h>

#include "cpu_op_descriptor.h"

static int counters[4]; /* init, prepare, compute, destroy */

struct argmax_params {
    int64_t axis;
    int64_t keepdims;
};

static int64_t int_attr(rknn_custom_op_context* op_ctx, const char* name, int64_t fallback)
{
    rknn_custom_op_attr attr;
    memset(&attr, 0, sizeof attr);
    rknn_custom_op_get_op_attr(op_ctx, name, &attr);
    if (attr.n_elems != 1 || attr.dtype != RKNN_TENSOR_INT64 || !attr.data) return fallback;
    return *(const int64_t*)attr.data;
}

static int argmax_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                       rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    ++counters[0];
    if (n_inputs != 1 || n_outputs != 1) return -100;
    struct argmax_params* p = (struct argmax_params*)calloc(1, sizeof *p);
    if (!p) return -101;
    p->axis = int_attr(op_ctx, "axis", 0);
    p->keepdims = int_attr(op_ctx, "keepdims", 1);
    if (p->axis < 0) p->axis += inputs[0].attr.n_dims;
    if (p->axis < 0 || p->axis >= (int64_t)inputs[0].attr.n_dims || outputs[0].attr.type != RKNN_TENSOR_INT64) {
        free(p);
        return -102;
    }
    op_ctx->priv_data = p;
    return 0;
}

static int argmax_prepare(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                          rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)op_ctx, (void)inputs, (void)n_inputs, (void)outputs, (void)n_outputs;
    ++counters[1];
    return 0;
}

static int argmax_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                          rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    ++counters[2];
    const struct argmax_params* p = (const struct argmax_params*)op_ctx->priv_data;
    if (!p || inputs[0].attr.type != RKNN_TENSOR_FLOAT32) return -103;
    const rknn_tensor_attr* a = &inputs[0].attr;
    uint64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < p->axis; ++d) outer *= a->dims[d];
    for (uint32_t d = (uint32_t)p->axis + 1; d < a->n_dims; ++d) inner *= a->dims[d];
    const uint64_t extent = a->dims[p->axis];
    const float* x = (const float*)((const char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    int64_t* y = (int64_t*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint64_t o = 0; o < outer; ++o) {
        for (uint64_t i = 0; i < inner; ++i) {
            uint64_t best = 0;
            for (uint64_t k = 1; k < extent; ++k)
                if (x[(o * extent + k) * inner + i] > x[(o * extent + best) * inner + i]) best = k;
            y[o * inner + i] = (int64_t)best;
        }
    }
    return 0;
}

static int argmax_destroy(rknn_custom_op_context* op_ctx)
{
    ++counters[3];
    free(op_ctx->priv_data);
    op_ctx->priv_data = NULL;
    return 0;
}

RKNN_CUSTOM_OP_EXPORT rknn_custom_op* get_rknn_custom_op(void)
{
    return describe_cpu_op("ArgMax", argmax_init, argmax_prepare, argmax_compute, argmax_destroy);
}

RKNN_CUSTOM_OP_EXPORT void rkcst_argmax_counters(int* out)
{
    for (int i = 0; i < 4; ++i) out[i] = counters[i];
}

RKNN_CUSTOM_OP_EXPORT void rkcst_argmax_reset(void) { memset(counters, 0, sizeof counters); }
