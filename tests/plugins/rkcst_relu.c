/* Test plugin: Relu whose init returns RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE (-14) by default, asking the runtime
 * to keep its built-in Relu. A test hook changes init's result to 0 so the plugin's own compute runs; that compute
 * writes max(x, 0) + 1000 so a test can tell whose result it sees. */
#include <string.h>

#include "cpu_op_descriptor.h"

static int counters[4]; /* init, prepare, compute, destroy */
static int init_result = RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE;

static int relu_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                     rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)op_ctx, (void)inputs, (void)n_inputs, (void)outputs, (void)n_outputs;
    ++counters[0];
    return init_result;
}

static int relu_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                        rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)op_ctx, (void)n_inputs, (void)n_outputs;
    ++counters[2];
    const float* x = (const float*)((const char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    float* y = (float*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint32_t i = 0; i < inputs[0].attr.n_elems; ++i) y[i] = (x[i] > 0.0f ? x[i] : 0.0f) + 1000.0f;
    return 0;
}

static int relu_destroy(rknn_custom_op_context* op_ctx)
{
    (void)op_ctx;
    ++counters[3];
    return 0;
}

RKNN_CUSTOM_OP_EXPORT rknn_custom_op* get_rknn_custom_op(void)
{
    return describe_cpu_op("Relu", relu_init, NULL, relu_compute, relu_destroy);
}

RKNN_CUSTOM_OP_EXPORT void rkcst_relu_counters(int* out)
{
    for (int i = 0; i < 4; ++i) out[i] = counters[i];
}

RKNN_CUSTOM_OP_EXPORT void rkcst_relu_reset(int result_of_init)
{
    memset(counters, 0, sizeof counters);
    init_result = result_of_init;
}
