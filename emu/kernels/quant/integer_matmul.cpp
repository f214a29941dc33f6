// MatMulInteger and QLinearMatMul: numpy.matmul of (a - a_zero_point) and (b - b_zero_point) accumulated in
// int32; MatMulInteger returns the accumulators, QLinearMatMul requantizes them (requantize.hpp). b's zero point
// and scale may be per column (one per N, as onnxruntime accepts); a's are per tensor.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "kernels/broadcast.hpp"
#include "kernels/quant/integer_gemm.hpp"
#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/requantize.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::QuantOperand;

struct IntMatMulGeometry {
    int64_t m = 1, k = 1, n = 1;
    Shape batch, a_batch, b_batch;  // a_batch / b_batch: batch's rank, 1 where broadcast
};

struct IntMatMulInputs {
    size_t a = 0, b = 1;
    QuantOperand a_q, b_q, y_q;  // QLinearMatMul only
    size_t a_zp = 2, b_zp = 3;   // MatMulInteger only
    int64_t a_zp_count = 0, b_zp_count = 0;
    bool qlinear = false;
};

DT dtype_of_uint8(bool is_uint8) { return is_uint8 ? DT::Uint8 : DT::Int8; }

template <class A, class B, class Y>
class IntegerMatMulKernel final : public Kernel {
public:
    IntegerMatMulKernel(const IntMatMulGeometry& g, const IntMatMulInputs& in) : g_(g), in_(in) {}

    size_t scratch_bytes() const override {
        return static_cast<size_t>(g_.k * g_.n) * 2 + static_cast<size_t>(g_.n) * 16 + static_cast<size_t>(g_.k) * 2 +
               64;
    }

    void run(const RunContext& ctx) const override {
        const int64_t M = g_.m, K = g_.k, N = g_.n;
        auto* bq = static_cast<int16_t*>(ctx.scratch);
        auto* acc = reinterpret_cast<int32_t*>(static_cast<unsigned char*>(ctx.scratch) + (K * N * 2 + 63) / 64 * 64);
        auto* b_zp = acc + N;
        auto* b_scale = reinterpret_cast<float*>(b_zp + N);
        auto* multiplier = b_scale + N;
        auto* arow = reinterpret_cast<int16_t*>(multiplier + N);

        int32_t a_zp = 0, y_zp = 0;
        if (in_.qlinear) {
            float a_scale = 0, y_scale = 0;
            quant::load_operand(in_.a_q, ctx.inputs, &a_scale, &a_zp, 1);
            quant::load_operand(in_.y_q, ctx.inputs, &y_scale, &y_zp, 1);
            quant::load_operand(in_.b_q, ctx.inputs, b_scale, b_zp, N);
            for (int64_t j = 0; j < N; ++j) multiplier[j] = quant::requant_multiplier(a_scale, b_scale[j], y_scale);
        } else {
            quant::load_zero_point_values(dtype_of_uint8(std::is_same_v<A, uint8_t>), ctx.inputs[in_.a_zp],
                                          in_.a_zp_count, &a_zp, 1);
            quant::load_zero_point_values(dtype_of_uint8(std::is_same_v<B, uint8_t>), ctx.inputs[in_.b_zp],
                                          in_.b_zp_count, b_zp, N);
        }

        const auto* a = static_cast<const A*>(ctx.inputs[in_.a]);
        const auto* b = static_cast<const B*>(ctx.inputs[in_.b]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        const int64_t batches = shape_elements(g_.batch);
        const int64_t rank = static_cast<int64_t>(g_.batch.size());
        int64_t prepared_b = -1;  // the b matrix bq holds, so a shared b is converted once
        for (int64_t t = 0; t < batches; ++t) {
            // Offsets of this batch entry in a and b (broadcast dims stay at index 0).
            int64_t rem = t, a_off = 0, b_off = 0, a_stride = 1, b_stride = 1;
            for (int64_t d = rank - 1; d >= 0; --d) {
                const auto du = static_cast<size_t>(d);
                const int64_t idx = rem % g_.batch[du];
                rem /= g_.batch[du];
                if (g_.a_batch[du] != 1) a_off += idx * a_stride;
                if (g_.b_batch[du] != 1) b_off += idx * b_stride;
                a_stride *= g_.a_batch[du];
                b_stride *= g_.b_batch[du];
            }
            if (b_off != prepared_b) {
                const B* bb = b + b_off * K * N;
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t j = 0; j < N; ++j)
                        bq[k * N + j] = static_cast<int16_t>(static_cast<int32_t>(bb[k * N + j]) - b_zp[j]);
                prepared_b = b_off;
            }
            const A* aa = a + a_off * M * K;
            Y* yy = y + t * M * N;
            for (int64_t i = 0; i < M; ++i) {
                std::fill(acc, acc + N, 0);
                for (int64_t k = 0; k < K; ++k) arow[k] = static_cast<int16_t>(static_cast<int32_t>(aa[i * K + k]) - a_zp);
                quant::accumulate_rows(acc, arow, bq, K, N, N);
                if constexpr (std::is_same_v<Y, int32_t>) {
                    std::copy(acc, acc + N, yy + i * N);
                } else {
                    for (int64_t j = 0; j < N; ++j) yy[i * N + j] = quant::requantize<Y>(acc[j], multiplier[j], y_zp);
                }
            }
        }
    }

private:
    IntMatMulGeometry g_;
    IntMatMulInputs in_;
};

template <class Y>
std::unique_ptr<Kernel> make_for_types(DT a, DT b, const IntMatMulGeometry& g, const IntMatMulInputs& in) {
    if (a == DT::Uint8) {
        if (b == DT::Uint8) return std::make_unique<IntegerMatMulKernel<uint8_t, uint8_t, Y>>(g, in);
        return std::make_unique<IntegerMatMulKernel<uint8_t, int8_t, Y>>(g, in);
    }
    if (b == DT::Uint8) return std::make_unique<IntegerMatMulKernel<int8_t, uint8_t, Y>>(g, in);
    return std::make_unique<IntegerMatMulKernel<int8_t, int8_t, Y>>(g, in);
}

// numpy.matmul shapes of A and B (rank 1 or more; a 1-D A is a row, a 1-D B a column); declares Y with y_dtype.
IntMatMulGeometry matmul_geometry(KernelContext& ctx, size_t a_index, size_t b_index, DT y_dtype) {
    ctx.require_dtype(a_index, {DT::Uint8, DT::Int8});
    ctx.require_dtype(b_index, {DT::Uint8, DT::Int8});
    const Shape& A = ctx.input(a_index).shape;
    const Shape& B = ctx.input(b_index).shape;
    if (A.empty() || B.empty()) ctx.fail("inputs must have rank 1 or more (scalars cannot multiply)");
    Shape a = A, b = B;
    const bool drop_m = a.size() == 1, drop_n = b.size() == 1;
    if (drop_m) a.insert(a.begin(), 1);
    if (drop_n) b.push_back(1);
    IntMatMulGeometry g;
    g.m = a[a.size() - 2];
    g.k = a.back();
    g.n = b.back();
    if (b[b.size() - 2] != g.k)
        ctx.fail("inner dims differ: A " + shape_to_string(A) + ", B " + shape_to_string(B));
    const Shape a_lead(a.begin(), a.end() - 2), b_lead(b.begin(), b.end() - 2);
    std::optional<Shape> batch = broadcast_shapes(a_lead, b_lead);
    if (!batch) ctx.fail("batch dims of A " + shape_to_string(A) + " and B " + shape_to_string(B) + " do not broadcast");
    g.batch = *batch;
    g.a_batch = Shape(g.batch.size() - a_lead.size(), 1);
    g.a_batch.insert(g.a_batch.end(), a_lead.begin(), a_lead.end());
    g.b_batch = Shape(g.batch.size() - b_lead.size(), 1);
    g.b_batch.insert(g.b_batch.end(), b_lead.begin(), b_lead.end());
    Shape y = g.batch;
    if (!drop_m) y.push_back(g.m);
    if (!drop_n) y.push_back(g.n);
    ctx.set_output(0, y_dtype, y);
    return g;
}

}  // namespace

std::unique_ptr<Kernel> make_matmul_integer(KernelContext& ctx) {
    ctx.require_inputs(2, 4);
    ctx.require_outputs(1, 1);
    const IntMatMulGeometry g = matmul_geometry(ctx, 0, 1, DT::Int32);
    IntMatMulInputs in;
    in.a_zp_count = quant::check_zero_point(ctx, 2, ctx.input(0).dtype, 1, "a");
    in.b_zp_count = quant::check_zero_point(ctx, 3, ctx.input(1).dtype, g.n, "b");
    return make_for_types<int32_t>(ctx.input(0).dtype, ctx.input(1).dtype, g, in);
}

std::unique_ptr<Kernel> make_qlinear_matmul(KernelContext& ctx) {
    ctx.require_inputs(8, 8);
    ctx.require_outputs(1, 1);
    const DT y_dtype = ctx.input(7).dtype;
    if (!quant::is_8bit(y_dtype))
        ctx.fail(std::string("the y zero point (input 7) is ") + onnx::data_type_name(y_dtype) +
                 "; QLinearMatMul outputs uint8 or int8");
    const IntMatMulGeometry g = matmul_geometry(ctx, 0, 3, y_dtype);
    IntMatMulInputs in;
    in.qlinear = true;
    in.a = 0;
    in.b = 3;
    in.a_q = quant::check_scale_operand(ctx, 1, 2, ctx.input(0).dtype, 1, "a");
    in.b_q = quant::check_scale_operand(ctx, 4, 5, ctx.input(3).dtype, g.n, "b");
    in.y_q = quant::check_scale_operand(ctx, 6, 7, y_dtype, 1, "y");
    if (y_dtype == DT::Uint8) return make_for_types<uint8_t>(ctx.input(0).dtype, ctx.input(3).dtype, g, in);
    return make_for_types<int8_t>(ctx.input(0).dtype, ctx.input(3).dtype, g, in);
}

}  // namespace ezemu::kernels
