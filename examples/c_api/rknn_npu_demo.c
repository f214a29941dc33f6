/*
 * The NPU feature tour, written the way the vendor's demos are: plain C against rknn_api.h and rknn_custom_op.h
 * only. Linked against librknnrt_emu.so it runs on a PC; the same source links against librknnrt.so on a board.
 *
 *   1. rknn_init from a file path, then the queries an application makes (versions, I/O attributes, native
 *      attributes, memory sizes, custom string);
 *   2. a custom operator implemented in this program (cstSigmoid), registered with rknn_register_custom_ops;
 *   3. zero-copy I/O: rknn_create_mem buffers bound with rknn_set_io_mem, float32 in NHWC, float32 out in NCHW;
 *   4. one rknn_dup_context per NPU core, pinned with rknn_set_core_mask, driven by three threads at once.
 * Every output is checked against a reference computed here in double precision.
 *
 * The model (tests/models/npu_demo.onnx, written by tests/models/make_test_models.py):
 *   image [1,3,16,16] -> Conv 3->8, 3x3, pad 1, weights and bias from demo_weight()/demo_bias() -> cstSigmoid
 *   (domain "rknn.demo") -> probs [1,8,16,16]
 *
 * usage: rknn_npu_demo MODEL [--iterations N]     exit status 0 when every result matches
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rknn/rknn_api.h"
#include "rknn/rknn_custom_op.h"

#define C_IN 3
#define C_OUT 8
#define SIDE 16
#define N_IN (C_IN * SIDE * SIDE)
#define N_OUT (C_OUT * SIDE * SIDE)
#define N_THREADS 3
/* fp16 activations and weights on the NPU: a sigmoid output differs from the double reference by < 2e-3. */
#define TOLERANCE 5e-3

/* The same formulas as make_test_models.py, so this file needs no copy of the weights. */
static double demo_weight(int o, int i, int ky, int kx) { return ((o * 7 + i * 3 + ky * 5 + kx) % 11 - 5) / 20.0; }
static double demo_bias(int o) { return (o - 4) / 10.0; }

/* Pixel (c, y, x) of the test image for a given seed, in [-1, 1). */
static float demo_pixel(int seed, int c, int y, int x)
{
    return (float)(((c * 131 + y * 31 + x * 7 + seed * 17) % 200) / 100.0 - 1.0);
}

static void reference(int seed, double* out /* NCHW [8,16,16] */)
{
    for (int o = 0; o < C_OUT; ++o)
        for (int y = 0; y < SIDE; ++y)
            for (int x = 0; x < SIDE; ++x) {
                double acc = demo_bias(o);
                for (int i = 0; i < C_IN; ++i)
                    for (int ky = 0; ky < 3; ++ky)
                        for (int kx = 0; kx < 3; ++kx) {
                            int yy = y + ky - 1, xx = x + kx - 1;
                            if (yy < 0 || yy >= SIDE || xx < 0 || xx >= SIDE) continue;
                            acc += demo_weight(o, i, ky, kx) * demo_pixel(seed, i, yy, xx);
                        }
                out[(o * SIDE + y) * SIDE + x] = 1.0 / (1.0 + exp(-acc));
            }
}

/* ---- the custom operator: cstSigmoid, float32 in and out (rknn-api.md §7.13) ---- */

static atomic_int g_init_calls, g_compute_calls, g_destroy_calls;

static int sigmoid_init(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                        rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)op_ctx, (void)inputs, (void)outputs;
    atomic_fetch_add(&g_init_calls, 1);
    return n_inputs == 1 && n_outputs == 1 ? 0 : -1;
}

static int sigmoid_compute(rknn_custom_op_context* op_ctx, rknn_custom_op_tensor* inputs, uint32_t n_inputs,
                           rknn_custom_op_tensor* outputs, uint32_t n_outputs)
{
    (void)op_ctx, (void)n_inputs, (void)n_outputs;
    if (inputs[0].attr.type != RKNN_TENSOR_FLOAT32 || outputs[0].attr.n_elems != inputs[0].attr.n_elems) return -1;
    const float* in = (const float*)((char*)inputs[0].mem.virt_addr + inputs[0].mem.offset);
    float* out = (float*)((char*)outputs[0].mem.virt_addr + outputs[0].mem.offset);
    for (uint32_t k = 0; k < inputs[0].attr.n_elems; ++k) out[k] = 1.0f / (1.0f + expf(-in[k]));
    atomic_fetch_add(&g_compute_calls, 1);
    return 0;
}

static int sigmoid_destroy(rknn_custom_op_context* op_ctx)
{
    (void)op_ctx;
    atomic_fetch_add(&g_destroy_calls, 1);
    return 0;
}

static int register_sigmoid(rknn_context ctx)
{
    rknn_custom_op op;
    memset(&op, 0, sizeof op);
    op.version = 1;
    op.target = RKNN_TARGET_TYPE_CPU;
    strncpy(op.op_type, "cstSigmoid", sizeof op.op_type - 1);
    op.init = sigmoid_init;
    op.compute = sigmoid_compute;
    op.destroy = sigmoid_destroy;
    return rknn_register_custom_ops(ctx, &op, 1);
}

/* ---- zero-copy I/O ---- */

typedef struct {
    rknn_context ctx;
    rknn_tensor_mem* in;
    rknn_tensor_mem* out;
    uint32_t in_w_stride; /* pixels per row of the input buffer */
} Binding;

static int bind_io(rknn_context ctx, Binding* b)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    rknn_tensor_attr in_attr, out_attr;
    memset(&in_attr, 0, sizeof in_attr);
    memset(&out_attr, 0, sizeof out_attr);
    in_attr.index = 0;
    out_attr.index = 0;
    int ret = rknn_query(ctx, RKNN_QUERY_INPUT_ATTR, &in_attr, sizeof in_attr);
    if (ret == RKNN_SUCC) ret = rknn_query(ctx, RKNN_QUERY_OUTPUT_ATTR, &out_attr, sizeof out_attr);
    if (ret != RKNN_SUCC) return ret;

    /* The input as float32 NHWC; the runtime converts to what the NPU reads. Rows are w_stride pixels apart. */
    in_attr.type = RKNN_TENSOR_FLOAT32;
    in_attr.fmt = RKNN_TENSOR_NHWC;
    b->in_w_stride = in_attr.w_stride ? in_attr.w_stride : SIDE;
    in_attr.size = in_attr.n_elems * sizeof(float);
    in_attr.size_with_stride = b->in_w_stride * SIDE * C_IN * (uint32_t)sizeof(float);
    /* The output dequantised to float32 in NCHW, the order of the reference. */
    out_attr.type = RKNN_TENSOR_FLOAT32;
    out_attr.fmt = RKNN_TENSOR_NCHW;
    out_attr.size = out_attr.n_elems * sizeof(float);
    out_attr.size_with_stride = out_attr.size;

    b->in = rknn_create_mem(ctx, in_attr.size_with_stride);
    b->out = rknn_create_mem(ctx, out_attr.size);
    if (!b->in || !b->out) return RKNN_ERR_MALLOC_FAIL;
    ret = rknn_set_io_mem(ctx, b->in, &in_attr);
    if (ret == RKNN_SUCC) ret = rknn_set_io_mem(ctx, b->out, &out_attr);
    return ret;
}

static void release_io(Binding* b)
{
    if (b->in) rknn_destroy_mem(b->ctx, b->in);
    if (b->out) rknn_destroy_mem(b->ctx, b->out);
    b->in = b->out = NULL;
}

/* Writes the image for `seed` into the bound input (NHWC, w_stride rows), runs, and compares with the reference.
 * Returns the largest absolute error, or a negative RKNN code. */
static double run_and_check(const Binding* b, int seed)
{
    float* in = (float*)b->in->virt_addr;
    for (int y = 0; y < SIDE; ++y)
        for (int x = 0; x < SIDE; ++x)
            for (int c = 0; c < C_IN; ++c) in[((size_t)y * b->in_w_stride + x) * C_IN + c] = demo_pixel(seed, c, y, x);
    rknn_mem_sync(b->ctx, b->in, RKNN_MEMORY_SYNC_TO_DEVICE);
    int ret = rknn_run(b->ctx, NULL);
    if (ret != RKNN_SUCC) return ret;
    rknn_mem_sync(b->ctx, b->out, RKNN_MEMORY_SYNC_FROM_DEVICE);

    double expected[N_OUT];
    reference(seed, expected);
    const float* out = (const float*)b->out->virt_addr;
    double worst = 0.0;
    for (int k = 0; k < N_OUT; ++k) {
        double err = fabs(out[k] - expected[k]);
        if (!(err <= worst)) worst = err; /* a NaN counts as the worst */
    }
    return worst;
}

/* ---- one thread per NPU core ---- */

typedef struct {
    Binding binding;
    int core;
    int iterations;
    int status;        /* RKNN code of the first failure, else 0 */
    double worst_error;
} Worker;

static void* worker_main(void* arg)
{
    Worker* w = (Worker*)arg;
    for (int i = 0; i < w->iterations; ++i) {
        double err = run_and_check(&w->binding, 100 * (w->core + 1) + i);
        if (err < 0) {
            w->status = (int)err;
            return NULL;
        }
        if (!(err <= w->worst_error)) w->worst_error = err;
    }
    return NULL;
}

static void print_attr(const char* what, const rknn_tensor_attr* a)
{
    printf("  %-13s '%s' dims [", what, a->name);
    for (uint32_t d = 0; d < a->n_dims; ++d) printf(d ? ",%u" : "%u", a->dims[d]);
    printf("] %s %s size %u w_stride %u size_with_stride %u\n", get_format_string(a->fmt), get_type_string(a->type),
           a->size, a->w_stride, a->size_with_stride);
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        int ret_ = (call);                                                           \
        if (ret_ != RKNN_SUCC) {                                                     \
            fprintf(stderr, "FAILED: %s returned %d (line %d)\n", #call, ret_, __LINE__); \
            return 1;                                                                \
        }                                                                            \
    } while (0)

int main(int argc, char** argv)
{
    const char* model = NULL;
    int iterations = 20;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) iterations = atoi(argv[++i]);
        else model = argv[i];
    }
    if (!model || iterations < 1) {
        fprintf(stderr, "usage: %s MODEL [--iterations N]\n", argv[0]);
        return 2;
    }

    /* 1. init and queries */
    rknn_context ctx = 0;
    CHECK(rknn_init(&ctx, (void*)model, 0, 0, NULL));
    rknn_sdk_version version;
    rknn_input_output_num io;
    rknn_mem_size mem_size;
    rknn_custom_string custom;
    CHECK(rknn_query(ctx, RKNN_QUERY_SDK_VERSION, &version, sizeof version));
    CHECK(rknn_query(ctx, RKNN_QUERY_IN_OUT_NUM, &io, sizeof io));
    CHECK(rknn_query(ctx, RKNN_QUERY_MEM_SIZE, &mem_size, sizeof mem_size));
    CHECK(rknn_query(ctx, RKNN_QUERY_CUSTOM_STRING, &custom, sizeof custom));
    printf("runtime %s, driver %s\n", version.api_version, version.drv_version);
    printf("model: %u input(s), %u output(s), weights %u bytes, internal %u bytes, custom string '%s'\n",
           io.n_input, io.n_output, mem_size.total_weight_size, mem_size.total_internal_size, custom.string);
    if (io.n_input != 1 || io.n_output != 1) {
        fprintf(stderr, "FAILED: expected the demo model with one input and one output\n");
        return 1;
    }
    const struct {
        rknn_query_cmd cmd;
        const char* label;
    } attr_queries[] = {{RKNN_QUERY_INPUT_ATTR, "input"},
                        {RKNN_QUERY_NATIVE_INPUT_ATTR, "native input"},
                        {RKNN_QUERY_OUTPUT_ATTR, "output"},
                        {RKNN_QUERY_NATIVE_OUTPUT_ATTR, "native output"}};
    for (size_t q = 0; q < sizeof attr_queries / sizeof attr_queries[0]; ++q) {
        rknn_tensor_attr attr;
        memset(&attr, 0, sizeof attr);
        CHECK(rknn_query(ctx, attr_queries[q].cmd, &attr, sizeof attr));
        print_attr(attr_queries[q].label, &attr);
    }

    /* 2. the custom operator, then 3. zero-copy I/O on the first context */
    CHECK(register_sigmoid(ctx));
    Binding main_binding;
    CHECK(bind_io(ctx, &main_binding));
    double err = run_and_check(&main_binding, 1);
    if (err < 0) {
        fprintf(stderr, "FAILED: rknn_run returned %d\n", (int)err);
        return 1;
    }
    rknn_perf_run perf;
    CHECK(rknn_query(ctx, RKNN_QUERY_PERF_RUN, &perf, sizeof perf));
    printf("zero-copy run: max |error| %.2e against the double reference, %lld us\n", err,
           (long long)perf.run_duration);
    int failed = !(err <= TOLERANCE);

    /* 4. a dup'd context per core, three threads at once */
    Worker workers[N_THREADS];
    pthread_t threads[N_THREADS];
    const rknn_core_mask masks[N_THREADS] = {RKNN_NPU_CORE_0, RKNN_NPU_CORE_1, RKNN_NPU_CORE_2};
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < N_THREADS; ++t) {
        rknn_context dup = 0;
        CHECK(rknn_dup_context(&ctx, &dup));
        CHECK(rknn_set_core_mask(dup, masks[t])); /* not inherited from ctx (rknn-api.md §7.2) */
        CHECK(register_sigmoid(dup));             /* custom ops are per context too */
        CHECK(bind_io(dup, &workers[t].binding));
        workers[t].core = t;
        workers[t].iterations = iterations;
    }
    for (int t = 0; t < N_THREADS; ++t) pthread_create(&threads[t], NULL, worker_main, &workers[t]);
    for (int t = 0; t < N_THREADS; ++t) pthread_join(threads[t], NULL);
    for (int t = 0; t < N_THREADS; ++t) {
        printf("core %d: %d runs, max |error| %.2e%s\n", t, iterations, workers[t].worst_error,
               workers[t].status ? " (rknn_run failed)" : "");
        if (workers[t].status || !(workers[t].worst_error <= TOLERANCE)) failed = 1;
        release_io(&workers[t].binding);
        CHECK(rknn_destroy(workers[t].binding.ctx));
    }
    release_io(&main_binding);
    CHECK(rknn_destroy(ctx));

    /* init once per node and context, compute once per run, destroy once per node and context */
    const int contexts = 1 + N_THREADS;
    const int runs = 1 + N_THREADS * iterations;
    printf("custom op cstSigmoid: init %d, compute %d, destroy %d (expected %d, %d, %d)\n",
           atomic_load(&g_init_calls), atomic_load(&g_compute_calls), atomic_load(&g_destroy_calls), contexts, runs,
           contexts);
    if (atomic_load(&g_init_calls) != contexts || atomic_load(&g_compute_calls) != runs ||
        atomic_load(&g_destroy_calls) != contexts)
        failed = 1;
    printf(failed ? "FAILED: a result differs from the reference\n" : "PASS: every result matches the reference\n");
    return failed;
}
