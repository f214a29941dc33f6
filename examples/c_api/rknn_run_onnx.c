/*
 * Runs a model through the RKNN C API, as an application on a Rockchip board would, and prints what it sees.
 * Linked against librknnrt_emu.so it runs ONNX models on the CPU; the same source links against the vendor
 * librknnrt.so on a board. Plain C, using nothing but rknn_api.h.
 *
 * usage: rknn_run_onnx MODEL [INPUT0.raw ...] [--runs N]
 *   MODEL        an ONNX model (on a board: a .rknn model); rknn_init maps it by path
 *   INPUTi.raw   raw float32 data for input i in NCHW order (ONNX order for non-4-D inputs); zeros if omitted
 *   --runs N     run N times and report the average (default 10)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rknn/rknn_api.h"

#define MAX_IO 64

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void print_attr(const char* kind, const rknn_tensor_attr* a)
{
    printf("  %s %u '%s': dims [", kind, a->index, a->name);
    for (uint32_t d = 0; d < a->n_dims; ++d) printf(d ? ",%u" : "%u", a->dims[d]);
    printf("] fmt %s type %s qnt %s n_elems %u size %u w_stride %u size_with_stride %u\n",
           get_format_string(a->fmt), get_type_string(a->type), get_qnt_type_string(a->qnt_type), a->n_elems,
           a->size, a->w_stride, a->size_with_stride);
}

/* Reads exactly `bytes` bytes of `path` into a new buffer; NULL with a message otherwise. */
static float* read_raw(const char* path, size_t bytes)
{
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    float* data = malloc(bytes);
    size_t got = data ? fread(data, 1, bytes, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (!data || got != bytes || extra) {
        fprintf(stderr, "%s must hold exactly %zu bytes of float32 data\n", path, bytes);
        free(data);
        return NULL;
    }
    return data;
}

int main(int argc, char** argv)
{
    const char* model = NULL;
    const char* input_files[MAX_IO] = {0};
    int n_files = 0, runs = 10;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
            if (runs < 1) runs = 1;
        } else if (!model) {
            model = argv[i];
        } else if (n_files < MAX_IO) {
            input_files[n_files++] = argv[i];
        }
    }
    if (!model) {
        fprintf(stderr, "usage: %s MODEL [INPUT0.raw ...] [--runs N]\n", argv[0]);
        return 2;
    }

    rknn_context ctx = 0;
    double t0 = now_ms();
    int ret = rknn_init(&ctx, (void*)model, 0, 0, NULL); /* size 0: `model` is a path */
    if (ret != RKNN_SUCC) {
        fprintf(stderr, "rknn_init failed: %d\n", ret);
        return 1;
    }
    printf("rknn_init: %.1f ms\n", now_ms() - t0);

    rknn_sdk_version version;
    memset(&version, 0, sizeof version);
    if (rknn_query(ctx, RKNN_QUERY_SDK_VERSION, &version, sizeof version) == RKNN_SUCC)
        printf("runtime %s, driver %s\n", version.api_version, version.drv_version);

    rknn_custom_string custom;
    memset(&custom, 0, sizeof custom);
    if (rknn_query(ctx, RKNN_QUERY_CUSTOM_STRING, &custom, sizeof custom) == RKNN_SUCC && custom.string[0])
        printf("custom string: %s\n", custom.string);

    rknn_input_output_num num;
    memset(&num, 0, sizeof num);
    ret = rknn_query(ctx, RKNN_QUERY_IN_OUT_NUM, &num, sizeof num);
    if (ret != RKNN_SUCC || num.n_input > MAX_IO || num.n_output > MAX_IO) {
        fprintf(stderr, "rknn_query(RKNN_QUERY_IN_OUT_NUM) failed: %d\n", ret);
        rknn_destroy(ctx);
        return 1;
    }

    static rknn_tensor_attr in_attrs[MAX_IO], out_attrs[MAX_IO];
    printf("%u inputs, %u outputs\n", num.n_input, num.n_output);
    for (uint32_t i = 0; i < num.n_input; ++i) {
        memset(&in_attrs[i], 0, sizeof in_attrs[i]);
        in_attrs[i].index = i;
        rknn_query(ctx, RKNN_QUERY_INPUT_ATTR, &in_attrs[i], sizeof in_attrs[i]);
        print_attr("input", &in_attrs[i]);
    }
    for (uint32_t i = 0; i < num.n_output; ++i) {
        memset(&out_attrs[i], 0, sizeof out_attrs[i]);
        out_attrs[i].index = i;
        rknn_query(ctx, RKNN_QUERY_OUTPUT_ATTR, &out_attrs[i], sizeof out_attrs[i]);
        print_attr("output", &out_attrs[i]);
    }

    /* float32 data in NCHW: the runtime converts to the model's type and native layout. */
    rknn_input inputs[MAX_IO];
    float* input_data[MAX_IO] = {0};
    memset(inputs, 0, sizeof inputs);
    int status = 0;
    for (uint32_t i = 0; i < num.n_input; ++i) {
        size_t bytes = (size_t)in_attrs[i].n_elems * sizeof(float);
        input_data[i] = (int)i < n_files ? read_raw(input_files[i], bytes) : calloc(in_attrs[i].n_elems, sizeof(float));
        if (!input_data[i]) {
            status = 1;
            goto cleanup;
        }
        inputs[i].index = i;
        inputs[i].buf = input_data[i];
        inputs[i].size = (uint32_t)bytes;
        inputs[i].pass_through = 0;
        inputs[i].type = RKNN_TENSOR_FLOAT32;
        inputs[i].fmt = in_attrs[i].n_dims == 4 ? RKNN_TENSOR_NCHW : RKNN_TENSOR_UNDEFINED;
    }
    ret = rknn_inputs_set(ctx, num.n_input, inputs);
    if (ret != RKNN_SUCC) {
        fprintf(stderr, "rknn_inputs_set failed: %d\n", ret);
        status = 1;
        goto cleanup;
    }

    /* The first run pays one-time costs (kernel JIT, page faults); report it apart from the steady state. */
    double first = 0, total = 0, best = 1e30;
    for (int r = 0; r < runs; ++r) {
        double start = now_ms();
        ret = rknn_run(ctx, NULL);
        double elapsed = now_ms() - start;
        if (ret != RKNN_SUCC) {
            fprintf(stderr, "rknn_run failed: %d\n", ret);
            status = 1;
            goto cleanup;
        }
        if (r == 0) {
            first = elapsed;
            continue;
        }
        total += elapsed;
        if (elapsed < best) best = elapsed;
    }
    rknn_perf_run perf;
    memset(&perf, 0, sizeof perf);
    rknn_query(ctx, RKNN_QUERY_PERF_RUN, &perf, sizeof perf);
    printf("rknn_run: first %.3f ms", first);
    if (runs > 1) printf("; next %d runs: average %.3f ms, best %.3f ms", runs - 1, total / (runs - 1), best);
    printf("; RKNN_QUERY_PERF_RUN of the last run: %lld us\n", (long long)perf.run_duration);

    rknn_output outputs[MAX_IO];
    memset(outputs, 0, sizeof outputs);
    for (uint32_t i = 0; i < num.n_output; ++i) {
        outputs[i].index = i;
        outputs[i].want_float = 1; /* float32, NCHW */
        outputs[i].is_prealloc = 0;
    }
    ret = rknn_outputs_get(ctx, num.n_output, outputs, NULL);
    if (ret != RKNN_SUCC) {
        fprintf(stderr, "rknn_outputs_get failed: %d\n", ret);
        status = 1;
        goto cleanup;
    }
    for (uint32_t i = 0; i < num.n_output; ++i) {
        const float* values = (const float*)outputs[i].buf;
        uint32_t count = outputs[i].size / sizeof(float);
        printf("output %u '%s' (%u values):", i, out_attrs[i].name, count);
        for (uint32_t k = 0; k < count && k < 8; ++k) printf(" %g", values[k]);
        printf(count > 8 ? " ...\n" : "\n");
    }
    rknn_outputs_release(ctx, num.n_output, outputs);

cleanup:
    for (uint32_t i = 0; i < num.n_input; ++i) free(input_data[i]);
    rknn_destroy(ctx);
    return status;
}
