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

// numpy.matmul of inputs a_index and b_index (rank 1 or more; a 1-D A is a row, a 1-D B a column, and the added
// dim is dropped again): checks the shapes and declares output 0 with `y_dtype`. Shapes only; dtypes are the
// caller's to check.
MatMulGeometry matmul_geometry(KernelContext& ctx, size_t a_index, size_t b_index, onnx::DataType y_dtype);

// When B has no batch of its own, folds the batch of A into M: one large product instead of many small ones.
void fold_shared_b(MatMulGeometry& g);

// Calls fn(entry, a_matrix, b_matrix) for each batch entry, with the indices of its A and B matrices (broadcast
// dims stay at matrix 0).
template <class F>
void for_each_matmul_batch(const MatMulGeometry& g, F&& fn) {
    const int64_t batches = shape_elements(g.batch);
    for (int64_t bi = 0; bi < batches; ++bi) {
        int64_t rem = bi, a_index = 0, b_index = 0, a_stride = 1, b_stride = 1;
        for (size_t d = g.batch.size(); d-- > 0;) {
            const int64_t i = rem % g.batch[d];
            rem /= g.batch[d];
            if (g.a_batch[d] != 1) a_index += i * a_stride;
            if (g.b_batch[d] != 1) b_index += i * b_stride;
            a_stride *= g.a_batch[d];
            b_stride *= g.b_batch[d];
        }
        fn(bi, a_index, b_index);
    }
}

void matmul_reference(const MatMulGeometry& g, const float* a, const float* b, float* y);

// A oneDNN kernel for y = a * (b_scale * b) + bias, or nullptr when oneDNN has no implementation. `constant_b`
// (nullptr when b is a run-time input) is packed at load; `bias` ([bias_m, bias_n], each 1 or the full dim; only
// without batch) is copied.
std::unique_ptr<Kernel> make_onednn_matmul(const MatMulGeometry& g, const float* constant_b, float b_scale,
                                           const float* bias, int64_t bias_m, int64_t bias_n);

}  // namespace ezemu::kernels
