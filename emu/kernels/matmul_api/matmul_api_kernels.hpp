// The two products behind rknn_matmul_run (rknn-api.md §7.14): a float one for the fp16 types (the NPU multiplies
// fp16 operands and accumulates in fp32) and an integer one for the int8 types. Reference loops over dense
// row-major A [M,K], B [K,N] and C [M,N] (the caller transposes a TP_NORM B first), summing k in ascending order;
// the inner loop runs along a row of B so the compiler can vectorise it without reordering any sum.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ezemu::kernels::matmul_api {

// c[m,n] = sum_k a[m,k] * b[k,n], in float.
void matmul_float(const float* a, const float* b, float* c, size_t m, size_t k, size_t n);

// acc[m,n] = sum_k (a[m,k] - a_zero_point) * (b[k,n] - b_zero_points[n]), saturated to int32. `row` is scratch of
// n elements, used when k is large enough for the exact sum to leave int32.
void matmul_int8(const int8_t* a, int32_t a_zero_point, const int8_t* b, const int32_t* b_zero_points,
                 int32_t* acc, int64_t* row, size_t m, size_t k, size_t n);

}  // namespace ezemu::kernels::matmul_api
