// MatMulInteger and QLinearMatMul: numpy.matmul of (a - a_zero_point) and (b - b_zero_point) accumulated in
// int32; MatMulInteger returns the accumulators, QLinearMatMul requantizes them (requantize.hpp). b's zero point
// and scale may be per column (one per N, as onnxruntime accepts); a's are per tensor. With VNNI and a constant,
// symmetric b shared by the batch, oneDNN computes the sums (integer_onednn.cpp); otherwise the exact kernel here
// does, on the emulator's intra-op threads.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/aligned_buffer.hpp"
#include "kernels/math/gemm_matmul.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/quant/integer_conv.hpp"
#include "kernels/quant/integer_gemm.hpp"
#include "kernels/quant/integer_output.hpp"
#include "kernels/quant/intra_op_threads.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::IntegerOperands;

template <class A, class B, class Y>
class IntegerMatMulKernel final : public quant::IntegerProductKernel {
public:
    IntegerMatMulKernel(const MatMulGeometry& g, const IntegerOperands& in, int threads)
        : g_(g), in_(in), threads_(std::max(1, threads)) {}

    quant::Int8Backend backend() const override { return quant::Int8Backend::Exact; }

    size_t scratch_bytes() const override {
        const auto k = static_cast<size_t>(g_.k), n = static_cast<size_t>(g_.n);
        return align_up(k * n * 2) + 2 * align_up(n * 4) +
               static_cast<size_t>(threads_) * (align_up(n * 4) + align_up(k * 2));
    }

    void run(const RunContext& ctx) const override {
        const int64_t M = g_.m, K = g_.k, N = g_.n;
        ScratchCursor scratch(ctx.scratch);
        auto* bq = scratch.take<int16_t>(static_cast<size_t>(K * N));
        auto* b_zp = scratch.take<int32_t>(static_cast<size_t>(N));
        auto* multiplier = scratch.take<float>(static_cast<size_t>(N));
        const size_t acc_stride = align_up(static_cast<size_t>(N) * 4) / 4;
        const size_t row_stride = align_up(static_cast<size_t>(K) * 2) / 2;
        auto* accs = scratch.take<int32_t>(static_cast<size_t>(threads_) * acc_stride);
        auto* rows = scratch.take<int16_t>(static_cast<size_t>(threads_) * row_stride);

        int32_t a_zp = 0, y_zp = 0;
        in_.load(ctx.inputs, a_zp, y_zp, b_zp, multiplier);
        const auto* a = static_cast<const A*>(ctx.inputs[in_.x]);
        const auto* b = static_cast<const B*>(ctx.inputs[in_.w]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        int64_t prepared_b = -1;  // the b matrix bq holds, so a shared b is converted once
        for_each_matmul_batch(g_, [&](int64_t entry, int64_t a_matrix, int64_t b_matrix) {
            if (b_matrix != prepared_b) {
                const B* bb = b + b_matrix * K * N;
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t j = 0; j < N; ++j)
                        bq[k * N + j] = static_cast<int16_t>(static_cast<int32_t>(bb[k * N + j]) - b_zp[j]);
                prepared_b = b_matrix;
            }
            const A* aa = a + a_matrix * M * K;
            Y* yy = y + entry * M * N;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1 && M > 1)
#endif
            for (int64_t i = 0; i < M; ++i) {
                const auto t = static_cast<size_t>(quant::intra_op_thread());
                int32_t* acc = accs + t * acc_stride;
                int16_t* arow = rows + t * row_stride;
                std::fill(acc, acc + N, 0);
                for (int64_t k = 0; k < K; ++k)
                    arow[k] = static_cast<int16_t>(static_cast<int32_t>(aa[i * K + k]) - a_zp);
                quant::accumulate_rows(acc, arow, bq, K, N, N);
                quant::write_products<Y>(acc, nullptr, multiplier, y_zp, yy + i * N, 1, N);
            }
        });
    }

private:
    MatMulGeometry g_;
    IntegerOperands in_;
    int threads_;
};

template <class Y>
std::unique_ptr<Kernel> make_for_types(const MatMulGeometry& g, const IntegerOperands& in, int threads) {
    if (in.x_dtype == DT::Uint8) {
        if (in.w_dtype == DT::Uint8) return std::make_unique<IntegerMatMulKernel<uint8_t, uint8_t, Y>>(g, in, threads);
        return std::make_unique<IntegerMatMulKernel<uint8_t, int8_t, Y>>(g, in, threads);
    }
    if (in.w_dtype == DT::Uint8) return std::make_unique<IntegerMatMulKernel<int8_t, uint8_t, Y>>(g, in, threads);
    return std::make_unique<IntegerMatMulKernel<int8_t, int8_t, Y>>(g, in, threads);
}

// Checks A and B (8-bit), declares Y and picks the oneDNN kernel when it fits, else the exact one.
std::unique_ptr<Kernel> make_integer_matmul(KernelContext& ctx, bool qlinear) {
    const size_t b_index = qlinear ? 3 : 1;
    ctx.require_dtype(0, {DT::Uint8, DT::Int8});
    ctx.require_dtype(b_index, {DT::Uint8, DT::Int8});
    MatMulGeometry g = matmul_geometry(ctx, 0, b_index, qlinear ? ctx.input(7).dtype : DT::Int32);
    fold_shared_b(g);
    const IntegerOperands in = qlinear ? quant::check_qlinear_operands(ctx, g.n, "QLinearMatMul", "a", "b")
                                       : quant::check_integer_operands(ctx, g.n, "a", "b");
    const bool empty = g.m == 0 || g.k == 0 || g.n == 0 || shape_elements(g.batch) == 0;
    if (!ctx.options().reference_kernels && !empty && g.batch.empty() && in.constant_symmetric_weights(ctx))
        if (auto k = quant::make_onednn_integer_matmul(g.m, g.k, g.n, in, ctx.input(b_index).data,
                                                          ctx.options().intra_op_threads)) return k;
    const int threads = ctx.options().intra_op_threads;
    switch (in.y_dtype) {
        case DT::Uint8: return make_for_types<uint8_t>(g, in, threads);
        case DT::Int8: return make_for_types<int8_t>(g, in, threads);
        default: return make_for_types<int32_t>(g, in, threads);
    }
}

}  // namespace

std::unique_ptr<Kernel> make_matmul_integer(KernelContext& ctx) {
    ctx.require_inputs(2, 4);
    ctx.require_outputs(1, 1);
    return make_integer_matmul(ctx, false);
}

std::unique_ptr<Kernel> make_qlinear_matmul(KernelContext& ctx) {
    ctx.require_inputs(8, 8);
    ctx.require_outputs(1, 1);
    return make_integer_matmul(ctx, true);
}

}  // namespace ezemu::kernels
