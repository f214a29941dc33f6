/* Test plugin: cstSigmoid, a custom-domain elementwise sigmoid that reads no attributes. Besides
 * get_rknn_custom_op it exports hooks for the tests: callback counters, a way to make one callback fail, and the
 * tensor attributes its last compute saw. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_op_descriptor.h"

enum { STAGE_INIT, STAGE_PREPARE, STAGE_COMPUTE, STAGE_DESTROY, PRIV_ERRORS, ADDRESS_CHANGES, COUNTER_COUNT };

static int counters[COUNTER_COUNT];
static int fail_stage = -1;
static int fail_code = 0;
static int fail_from = 1; /* the first call (1-based, counted since reset) of fail_stage that fails */
static rknn_tensor_attr last_input, last_output;
static int last_input_fd, last_output_fd;

#define PRIV_MAGIC 0x5167u

struct node_data {
    unsigned magic;
    void* first_input; /* the runtime allocates the buffers once: the address must not move between runs */
};

static int result_of(int stage) { return stage == fail_stage && counters[stage] >= fail_from ? fail_code : 0; }

static struct node_data* node_of(rknn_custom_op_context* op_ctx)
{
    struct node_data* d = (struct node_data*)op_ctx->priv_data;
    if (!d || d->magic != PRIV_MAGIC) {
        ++counters[PRIV_ERRORS];
        return NULL;
    }
    return d;
}

static int sigmoid_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                        rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)inputs, (void)outputs;
    ++counters[STAGE_INIT];
    if (result_of(STAGE_INIT)) return result_of(STAGE_INIT);
    if (n_inputs != 1 || n_outputs != 1 || op_ctx->target != RKNN_TARGET_TYPE_CPU) return -100;
    struct node_data* d = (struct node_data*)calloc(1, sizeof *d);
    if (!d) return -101;
    d->magic = PRIV_MAGIC;
    op_ctx->priv_data = d;
    return 0;
}

static int sigmoid_prepare(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                           rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)inputs, (void)n_inputs, (void)outputs, (void)n_outputs;
    ++counters[STAGE_PREPARE];
    node_of(op_ctx);
    return result_of(STAGE_PREPARE);
}

static int sigmoid_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                           rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    ++counters[STAGE_COMPUTE];
    if (result_of(STAGE_COMPUTE)) return result_of(STAGE_COMPUTE);
    if (n_inputs != 1 || n_outputs != 1) return -100;
    struct node_data* d = node_of(op_ctx);
    if (d) {
        if (!d->first_input) d->first_input = inputs[0].mem.virt_addr;
        if (d->first_input != inputs[0].mem.virt_addr) ++counters[ADDRESS_CHANGES];
    }
    last_input = inputs[0].attr;
    last_output = outputs[0].attr;
    last_input_fd = inputs[0].mem.fd;
    last_output_fd = outputs[0].mem.fd;
    if (inputs[0].attr.type != RKNN_TENSOR_FLOAT32 || outputs[0].attr.type != RKNN_TENSOR_FLOAT32) return -102;
    const float* x = (const float*)((const char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    float* y = (float*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint32_t i = 0; i < inputs[0].attr.n_elems; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
    return 0;
}

static int sigmoid_destroy(rknn_custom_op_context* op_ctx)
{
    ++counters[STAGE_DESTROY];
    struct node_data* d = node_of(op_ctx);
    free(d);
    op_ctx->priv_data = NULL;
    return result_of(STAGE_DESTROY);
}

RKNN_CUSTOM_OP_EXPORT rknn_custom_op* get_rknn_custom_op(void)
{
    return describe_cpu_op("cstSigmoid", sigmoid_init, sigmoid_prepare, sigmoid_compute, sigmoid_destroy);
}

/* Test hooks. */
RKNN_CUSTOM_OP_EXPORT void rkcst_cstsigmoid_counters(int* out)
{
    for (int i = 0; i < COUNTER_COUNT; ++i) out[i] = counters[i];
}

RKNN_CUSTOM_OP_EXPORT void rkcst_cstsigmoid_reset(void)
{
    memset(counters, 0, sizeof counters);
    fail_stage = -1;
    fail_code = 0;
    fail_from = 1;
}

/* Makes the callback of `stage` (0 init, 1 prepare, 2 compute) return `code`. */
RKNN_CUSTOM_OP_EXPORT void rkcst_cstsigmoid_fail(int stage, int code)
{
    fail_stage = stage;
    fail_code = code;
}

/* The same, from the `first_call`-th call of that callback on (earlier calls succeed). */
RKNN_CUSTOM_OP_EXPORT void rkcst_cstsigmoid_fail_from(int stage, int code, int first_call)
{
    rkcst_cstsigmoid_fail(stage, code);
    fail_from = first_call;
}

RKNN_CUSTOM_OP_EXPORT void rkcst_cstsigmoid_last_attrs(rknn_tensor_attr* input, rknn_tensor_attr* output, int* fds)
{
    *input = last_input;
    *output = last_output;
    fds[0] = last_input_fd;
    fds[1] = last_output_fd;
}
