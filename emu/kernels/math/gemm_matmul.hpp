// Gemm and MatMul: one batched matrix-product description, a reference kernel and the oneDNN fast path.
#pragma once

#include <memory>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// y[batch..., m, n] = sum_k op(a)[.., m, k] * op(b)[.., k, n], where op transposes the last two dims when asked
// (Gemm only; then the batch is empty). a_batch and b_batch have the rank of batch, with 1 where broadcast.
struct MatMulGeometry {
    int64_t m = 1, k = 1, n = 1;
    bool trans_a = false, trans_b = false;
    Shape batch, a_batch, b_batch;
};

void matmul_reference(const MatMulGeometry& g, const float* a, const float* b, float* y);

// A oneDNN kernel for y = a * (b_scale * b) + bias, or nullptr when oneDNN has no implementation. `constant_b`
// (nullptr when b is a run-time input) is packed at load; `bias` ([bias_m, bias_n], each 1 or the full dim; only
// without batch) is copied.
std::unique_ptr<Kernel> make_onednn_matmul(const MatMulGeometry& g, const float* constant_b, float b_scale,
                                           const float* bias, int64_t bias_m, int64_t bias_n);

}  // namespace ezemu::kernels
