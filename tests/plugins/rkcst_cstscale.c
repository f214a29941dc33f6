/* Test plugin: cstScale, y = x * alpha + shift, reading every kind of ONNX attribute through
 * rknn_custom_op_get_op_attr in init. It keeps what each query returned, so a test can check the runtime's
 * answers (and that their data stays readable while the context lives). */
#include <string.h>

#include "cpu_op_descriptor.h"

static const char* const kQueried[] = {"alpha", "shift", "offsets", "axes", "tag", "table", "missing"};
#define QUERY_COUNT (sizeof kQueried / sizeof kQueried[0])

static rknn_custom_op_attr answers[QUERY_COUNT];
static int computes;

static int scale_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                      rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)inputs, (void)n_inputs, (void)outputs, (void)n_outputs;
    for (unsigned i = 0; i < QUERY_COUNT; ++i) {
        memset(&answers[i], 0xab, sizeof answers[i]); /* garbage the runtime must overwrite */
        rknn_custom_op_get_op_attr(op_ctx, kQueried[i], &answers[i]);
    }
    /* alpha and shift must be there for compute; the op context remembers where they are. */
    if (answers[0].n_elems != 1 || answers[1].n_elems != 1) return -100;
    op_ctx->priv_data = &answers[0];
    return 0;
}

static int scale_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                         rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    ++computes;
    const rknn_custom_op_attr* attrs = (const rknn_custom_op_attr*)op_ctx->priv_data;
    const float alpha = *(const float*)attrs[0].data;
    const float shift = (float)*(const int64_t*)attrs[1].data;
    const float* x = (const float*)((const char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    float* y = (float*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint32_t i = 0; i < inputs[0].attr.n_elems; ++i) y[i] = x[i] * alpha + shift;
    return 0;
}

RKNN_CUSTOM_OP_EXPORT rknn_custom_op* get_rknn_custom_op(void)
{
    return describe_cpu_op("cstScale", scale_init, NULL, scale_compute, NULL);
}

/* The answer to query i (alpha, shift, offsets, axes, tag, table, missing); returns the count of computes. */
RKNN_CUSTOM_OP_EXPORT int rkcst_cstscale_answer(unsigned i, rknn_custom_op_attr* out)
{
    if (i < QUERY_COUNT) *out = answers[i];
    return computes;
}
