/*
 * The NPU matmul API from plain C, the way the vendor's matmul demos use it: rknn_matmul_create fills the A/B/C
 * attributes, rknn_create_mem gives a mem per operand, rknn_matmul_set_io_mem binds them once, and
 * rknn_matmul_run computes C = A x B. Every result is checked against a double-precision reference.
 *
 * usage: rknn_matmul_demo [M K N]      (default 4 64 32)
 * Runs fp16 x fp16 -> fp32, fp16 x fp16 -> fp16 with B transposed (RKNN_MM_LAYOUT_TP_NORM), int8 x int8 -> int32,
 * and int8 x int8 -> int8 with quantization parameters; prints "PASS: every matmul matches the reference" at the end.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rknn/rknn_matmul_api.h"

/* IEEE half from float, round to nearest even (normal range and zero are all this demo needs). */
static uint16_t to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const int32_t exponent = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mantissa = x & 0x7fffffu;
    if (exponent <= 0) return (uint16_t)sign; /* tiny values flush to zero here */
    if (exponent >= 31) return (uint16_t)(sign | 0x7c00u);
    uint32_t half = sign | ((uint32_t)exponent << 10) | (mantissa >> 13);
    const uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
    return (uint16_t)half;
}

static float from_half(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    uint32_t x;
    if (exponent == 0 && mantissa == 0)
        x = sign;
    else if (exponent == 0) /* subnormal */
        return (h & 0x8000u ? -1.0f : 1.0f) * ldexpf((float)mantissa, -24);
    else if (exponent == 31)
        x = sign | 0x7f800000u | (mantissa << 13);
    else
        x = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

typedef struct {
    rknn_matmul_ctx ctx;
    rknn_matmul_io_attr io;
    rknn_tensor_mem* mem[3];
} Matmul;

static int open_matmul(Matmul* mm, int M, int K, int N, rknn_matmul_type type, int b_layout)
{
    rknn_matmul_info info;
    memset(&info, 0, sizeof info);
    memset(mm, 0, sizeof *mm);
    info.M = M;
    info.K = K;
    info.N = N;
    info.type = type;
    info.B_layout = (int16_t)b_layout;
    info.AC_layout = RKNN_MM_LAYOUT_NORM;
    int ret = rknn_matmul_create(&mm->ctx, &info, &mm->io);
    if (ret != RKNN_SUCC) {
        fprintf(stderr, "rknn_matmul_create(%s) failed: %d\n", get_matmul_type_string(type), ret);
        return ret;
    }
    rknn_matmul_tensor_attr* attrs[3] = {&mm->io.A, &mm->io.B, &mm->io.C};
    for (int i = 0; i < 3; ++i) {
        mm->mem[i] = rknn_create_mem(mm->ctx, attrs[i]->size);
        if (!mm->mem[i]) {
            fprintf(stderr, "rknn_create_mem(%u) failed\n", attrs[i]->size);
            return RKNN_ERR_MALLOC_FAIL;
        }
        ret = rknn_matmul_set_io_mem(mm->ctx, mm->mem[i], attrs[i]);
        if (ret != RKNN_SUCC) {
            fprintf(stderr, "rknn_matmul_set_io_mem(%s) failed: %d\n", attrs[i]->name, ret);
            return ret;
        }
    }
    printf("%s: A [%u,%u] B [%u,%u] C [%u,%u]\n", get_matmul_type_string(type), mm->io.A.dims[0],
           mm->io.A.dims[1], mm->io.B.dims[0], mm->io.B.dims[1], mm->io.C.dims[0], mm->io.C.dims[1]);
    return RKNN_SUCC;
}

static void close_matmul(Matmul* mm)
{
    for (int i = 0; i < 3; ++i)
        if (mm->mem[i]) rknn_destroy_mem(mm->ctx, mm->mem[i]);
    if (mm->ctx) rknn_matmul_destroy(mm->ctx);
}

static void* data_of(const rknn_tensor_mem* mem) { return (char*)mem->virt_addr + mem->offset; }

/* Small exact values so the float sums are checkable: a[m][k] and b[k][n] in [-2, 2] in steps of 1/4. */
static float value_a(int m, int k) { return (float)((m * 7 + k * 3) % 17 - 8) / 4.0f; }
static float value_b(int k, int n) { return (float)((k * 5 + n * 11) % 13 - 6) / 4.0f; }

static int check_float(const char* what, double got, double want, double tolerance, int* failures)
{
    if (fabs(got - want) <= tolerance) return 0;
    if (*failures < 5) fprintf(stderr, "%s: got %.6f, want %.6f\n", what, got, want);
    ++*failures;
    return 1;
}

/* fp16 A, fp16 B (NORM or TP_NORM), fp32 or fp16 C. */
static int run_fp16(int M, int K, int N, rknn_matmul_type type, int b_layout)
{
    Matmul mm;
    int failures = 0;
    int ret = open_matmul(&mm, M, K, N, type, b_layout);
    if (ret == RKNN_SUCC) {
        uint16_t* a = data_of(mm.mem[0]);
        uint16_t* b = data_of(mm.mem[1]);
        for (int m = 0; m < M; ++m)
            for (int k = 0; k < K; ++k) a[m * K + k] = to_half(value_a(m, k));
        for (int k = 0; k < K; ++k)
            for (int n = 0; n < N; ++n)
                b[b_layout == RKNN_MM_LAYOUT_TP_NORM ? n * K + k : k * N + n] = to_half(value_b(k, n));
        ret = rknn_matmul_run(mm.ctx);
        if (ret != RKNN_SUCC) fprintf(stderr, "rknn_matmul_run failed: %d\n", ret);
    }
    if (ret == RKNN_SUCC) {
        for (int m = 0; m < M; ++m) {
            for (int n = 0; n < N; ++n) {
                double want = 0;
                for (int k = 0; k < K; ++k) want += (double)value_a(m, k) * value_b(k, n);
                double got;
                if (type == RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32)
                    got = ((const float*)data_of(mm.mem[2]))[m * N + n];
                else
                    got = from_half(((const uint16_t*)data_of(mm.mem[2]))[m * N + n]);
                /* Products of quarters sum exactly in fp32; an fp16 C rounds once (11 significant bits). */
                const double tolerance = type == RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 ? 0.0 : fabs(want) / 2048.0;
                check_float("C", got, want, tolerance, &failures);
            }
        }
        printf("  C[0][0..2] = %g %g %g, %d mismatches\n",
               type == RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 ? ((const float*)data_of(mm.mem[2]))[0]
                                                          : from_half(((const uint16_t*)data_of(mm.mem[2]))[0]),
               type == RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 ? ((const float*)data_of(mm.mem[2]))[1 % N]
                                                          : from_half(((const uint16_t*)data_of(mm.mem[2]))[1 % N]),
               type == RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 ? ((const float*)data_of(mm.mem[2]))[2 % N]
                                                          : from_half(((const uint16_t*)data_of(mm.mem[2]))[2 % N]),
               failures);
    }
    close_matmul(&mm);
    return ret != RKNN_SUCC ? 1 : failures != 0;
}

/* int8 A and B; int32 C, or int8 C requantized with scale_A * scale_B / scale_C and C's zero point. */
static int run_int8(int M, int K, int N, rknn_matmul_type type)
{
    Matmul mm;
    int failures = 0;
    const float scale_a = 0.05f, scale_b = 0.02f, scale_c = 0.5f;
    int ret = open_matmul(&mm, M, K, N, type, RKNN_MM_LAYOUT_NORM);
    if (ret == RKNN_SUCC && type == RKNN_INT8_MM_INT8_TO_INT8) {
        const char* names[3] = {"A", "B", "C"};
        float scales[3] = {scale_a, scale_b, scale_c};
        int32_t zero = 0;
        for (int i = 0; i < 3 && ret == RKNN_SUCC; ++i) {
            rknn_quant_params params;
            memset(&params, 0, sizeof params);
            snprintf(params.name, sizeof params.name, "%s", names[i]);
            params.scale = &scales[i];
            params.scale_len = 1;
            params.zp = &zero;
            params.zp_len = 1;
            ret = rknn_matmul_set_quant_params(mm.ctx, &params);
            if (ret != RKNN_SUCC) fprintf(stderr, "rknn_matmul_set_quant_params(%s) failed: %d\n", names[i], ret);
        }
    }
    if (ret == RKNN_SUCC) {
        int8_t* a = data_of(mm.mem[0]);
        int8_t* b = data_of(mm.mem[1]);
        for (int i = 0; i < M * K; ++i) a[i] = (int8_t)((i * 37) % 255 - 127);
        for (int i = 0; i < K * N; ++i) b[i] = (int8_t)((i * 91) % 251 - 125);
        ret = rknn_matmul_run(mm.ctx);
        if (ret != RKNN_SUCC) fprintf(stderr, "rknn_matmul_run failed: %d\n", ret);
    }
    if (ret == RKNN_SUCC) {
        const int8_t* a = data_of(mm.mem[0]);
        const int8_t* b = data_of(mm.mem[1]);
        for (int m = 0; m < M; ++m) {
            for (int n = 0; n < N; ++n) {
                int64_t acc = 0;
                for (int k = 0; k < K; ++k) acc += (int64_t)a[m * K + k] * b[k * N + n];
                if (type == RKNN_INT8_MM_INT8_TO_INT32) {
                    check_float("C", ((const int32_t*)data_of(mm.mem[2]))[m * N + n], (double)acc, 0.0, &failures);
                } else {
                    double real = (double)acc * scale_a * scale_b / scale_c;
                    real = real > 127 ? 127 : real < -128 ? -128 : real;
                    /* Within one step of the exact requantization (the runtime rounds in float32). */
                    check_float("C", ((const int8_t*)data_of(mm.mem[2]))[m * N + n], real, 1.0, &failures);
                }
            }
        }
        printf("  %d mismatches\n", failures);
    }
    close_matmul(&mm);
    return ret != RKNN_SUCC ? 1 : failures != 0;
}

int main(int argc, char** argv)
{
    int M = 4, K = 64, N = 32;
    if (argc == 4) {
        M = atoi(argv[1]);
        K = atoi(argv[2]);
        N = atoi(argv[3]);
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [M K N]\n", argv[0]);
        return 2;
    }
    int failed = 0;
    failed += run_fp16(M, K, N, RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, RKNN_MM_LAYOUT_NORM);
    failed += run_fp16(M, K, N, RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16, RKNN_MM_LAYOUT_TP_NORM);
    failed += run_int8(M, K, N, RKNN_INT8_MM_INT8_TO_INT32);
    failed += run_int8(M, K, N, RKNN_INT8_MM_INT8_TO_INT8);
    if (failed) {
        printf("FAIL: %d of 4 matmuls did not match the reference\n", failed);
        return 1;
    }
    printf("PASS: every matmul matches the reference\n");
    return 0;
}
