/*
 * Zero-copy inference through the RKNN C API: the native attrs, one rknn_create_mem per input and output,
 * rknn_set_io_mem once, then rknn_run on new data written straight into the input mems. Plain C against
 * rknn_api.h; runs on the emulator (ONNX models) or on a board (.rknn models).
 *
 * usage: rknn_zero_copy MODEL
 *   Inputs whose native layout is NHWC are fed as uint8 pixels with padded rows (w_stride), the usual camera path;
 *   other inputs as float32 NCHW. Outputs are written as float32 NCHW by the runtime.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rknn/rknn_api.h"

#define MAX_IO 16

static void print_attr(const char* kind, const rknn_tensor_attr* a)
{
    printf("  %s %u '%s': dims [", kind, a->index, a->name);
    for (uint32_t d = 0; d < a->n_dims; ++d) printf(d ? ",%u" : "%u", a->dims[d]);
    printf("] fmt %s type %s size %u w_stride %u size_with_stride %u\n", get_format_string(a->fmt),
           get_type_string(a->type), a->size, a->w_stride, a->size_with_stride);
}

static int query_attr(rknn_context ctx, rknn_query_cmd cmd, uint32_t index, rknn_tensor_attr* a)
{
    memset(a, 0, sizeof *a);
    a->index = index;
    return rknn_query(ctx, cmd, a, sizeof *a);
}

/* Writes pixel values of frame `frame` into a uint8 NHWC mem with rows of w_stride pixels; padding stays 0. */
static void fill_pixels(const rknn_tensor_attr* a, rknn_tensor_mem* mem, int frame)
{
    uint8_t* p = (uint8_t*)mem->virt_addr + mem->offset;
    uint32_t n = a->dims[0], h = a->dims[1], w = a->dims[2], c = a->dims[3];
    memset(p, 0, mem->size);
    for (uint32_t i = 0; i < n * h; ++i)
        for (uint32_t x = 0; x < w; ++x)
            for (uint32_t k = 0; k < c; ++k) p[(i * a->w_stride + x) * c + k] = (uint8_t)(frame * 10 + x + k);
}

int main(int argc, char** argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    rknn_context ctx = 0;
    int ret = rknn_init(&ctx, argv[1], 0, 0, NULL);
    if (ret != RKNN_SUCC) {
        fprintf(stderr, "rknn_init failed: %d\n", ret);
        return 1;
    }
    rknn_input_output_num num;
    memset(&num, 0, sizeof num);
    rknn_query(ctx, RKNN_QUERY_IN_OUT_NUM, &num, sizeof num);
    if (num.n_input > MAX_IO || num.n_output > MAX_IO) {
        rknn_destroy(ctx);
        return 1;
    }

    rknn_tensor_attr in_attrs[MAX_IO], out_attrs[MAX_IO], attr;
    rknn_tensor_mem* in_mems[MAX_IO] = {0};
    rknn_tensor_mem* out_mems[MAX_IO] = {0};
    int status = 1;
    for (uint32_t i = 0; i < num.n_input; ++i) {
        query_attr(ctx, RKNN_QUERY_NATIVE_INPUT_ATTR, i, &in_attrs[i]);
        print_attr("native input", &in_attrs[i]);
        if (in_attrs[i].fmt == RKNN_TENSOR_NHWC) {
            in_attrs[i].type = RKNN_TENSOR_UINT8; /* the runtime converts uint8 pixels to the model's type */
            in_mems[i] = rknn_create_mem(ctx, in_attrs[i].size_with_stride / (in_attrs[i].size / in_attrs[i].n_elems));
        } else {
            query_attr(ctx, RKNN_QUERY_INPUT_ATTR, i, &in_attrs[i]);
            in_attrs[i].type = RKNN_TENSOR_FLOAT32;
            in_attrs[i].fmt = in_attrs[i].n_dims == 4 ? RKNN_TENSOR_NCHW : RKNN_TENSOR_UNDEFINED;
            in_attrs[i].w_stride = 0;
            in_mems[i] = rknn_create_mem(ctx, in_attrs[i].n_elems * sizeof(float));
            if (in_mems[i]) memset(in_mems[i]->virt_addr, 0, in_mems[i]->size);
        }
        if (!in_mems[i] || (ret = rknn_set_io_mem(ctx, in_mems[i], &in_attrs[i])) != RKNN_SUCC) {
            fprintf(stderr, "input %u: rknn_create_mem/rknn_set_io_mem failed (%d)\n", i, ret);
            goto cleanup;
        }
        printf("  input mem %u: size %u fd %d flags 0x%x phys 0x%llx\n", i, in_mems[i]->size, in_mems[i]->fd,
               in_mems[i]->flags, (unsigned long long)in_mems[i]->phys_addr);
    }
    for (uint32_t i = 0; i < num.n_output; ++i) {
        query_attr(ctx, RKNN_QUERY_NATIVE_OUTPUT_ATTR, i, &attr);
        print_attr("native output", &attr);
        query_attr(ctx, RKNN_QUERY_OUTPUT_ATTR, i, &out_attrs[i]);
        out_attrs[i].type = RKNN_TENSOR_FLOAT32; /* converted by the runtime at the end of each run */
        out_mems[i] = rknn_create_mem(ctx, out_attrs[i].n_elems * sizeof(float));
        if (!out_mems[i] || (ret = rknn_set_io_mem(ctx, out_mems[i], &out_attrs[i])) != RKNN_SUCC) {
            fprintf(stderr, "output %u: rknn_create_mem/rknn_set_io_mem failed (%d)\n", i, ret);
            goto cleanup;
        }
    }

    for (int frame = 0; frame < 2; ++frame) {
        for (uint32_t i = 0; i < num.n_input; ++i) {
            if (in_attrs[i].type == RKNN_TENSOR_UINT8) fill_pixels(&in_attrs[i], in_mems[i], frame);
            rknn_mem_sync(ctx, in_mems[i], RKNN_MEMORY_SYNC_TO_DEVICE);
        }
        if ((ret = rknn_run(ctx, NULL)) != RKNN_SUCC) {
            fprintf(stderr, "rknn_run failed: %d\n", ret);
            goto cleanup;
        }
        for (uint32_t i = 0; i < num.n_output; ++i) {
            rknn_mem_sync(ctx, out_mems[i], RKNN_MEMORY_SYNC_FROM_DEVICE);
            const float* v = (const float*)out_mems[i]->virt_addr;
            printf("frame %d output %u:", frame, i);
            for (uint32_t k = 0; k < out_attrs[i].n_elems && k < 6; ++k) printf(" %g", v[k]);
            printf(out_attrs[i].n_elems > 6 ? " ...\n" : "\n");
        }
    }
    status = 0;

cleanup:
    for (uint32_t i = 0; i < num.n_input; ++i)
        if (in_mems[i]) rknn_destroy_mem(ctx, in_mems[i]);
    for (uint32_t i = 0; i < num.n_output; ++i)
        if (out_mems[i]) rknn_destroy_mem(ctx, out_mems[i]);
    rknn_destroy(ctx);
    return status;
}
