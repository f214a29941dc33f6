// QGemm: what the QDQ fusion (graph/qdq_finder.hpp) makes of DequantizeLinear(a), DequantizeLinear(b)
// [, DequantizeLinear(int32 c)] -> Gemm -> QuantizeLinear(y), with onnxruntime's QGemm arithmetic:
//   y[i, j] = requantize(c[j] + sum_k (a[i, k] - za) * (b[k, j] - zb[j]))   multiplier ((alpha * sa) * sb[j]) / sy
// (requantize.hpp); without y_scale and y_zero_point (a Gemm whose output is not quantized) y is float32,
// float(c + sum) * ((alpha * sa) * sb[j]), as onnxruntime's QGemm gives it.
// a and b may be transposed (transA, transB); b's scale and zero point may be per column. With a
// bias, alpha and beta must be 1 (onnxruntime fuses nothing else: alpha would scale the bias too). Inputs in
// QLinearMatMul's order plus the bias: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
// [, c] (this op is internal to the emulator; onnxruntime's contrib QGemm puts c before y_scale). With VNNI and a
// constant symmetric int8 b, oneDNN computes the sums (integer_onednn.cpp); otherwise the exact kernel here does: a
// constant b becomes (b - zb) as int16 [K, N] once at load, and the sums use the integer kernels' inner product.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/aligned_buffer.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/quant/integer_conv.hpp"
#include "kernels/quant/integer_gemm.hpp"
#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/integer_output.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::IntegerOperands;

struct QGemmGeometry {
    int64_t m = 0, k = 0, n = 0;
    bool trans_a = false, trans_b = false;
    float alpha = 1.0f;
    int bias = -1;  // the int32 bias input, or -1
};

// (b - zb) as int16 [K, N], b stored [K, N] or, with transB, [N, K].
template <class B>
void prepare_b(const QGemmGeometry& g, const B* b, const int32_t* zp, int16_t* out) {
    for (int64_t k = 0; k < g.k; ++k)
        for (int64_t j = 0; j < g.n; ++j) {
            const int32_t v = g.trans_b ? b[j * g.k + k] : b[k * g.n + j];
            out[k * g.n + j] = static_cast<int16_t>(v - zp[j]);
        }
}

template <class A, class B, class Y>
class QGemmKernel final : public quant::IntegerProductKernel {
public:
    QGemmKernel(const QGemmGeometry& g, const IntegerOperands& in, const KernelContext& ctx) : g_(g), in_(in) {
        const bool zp_constant = !in_.w_q.has_zp || ctx.input(in_.w_q.zp_index).is_constant();
        if (ctx.input(in_.w).is_constant() && zp_constant) {
            std::vector<int32_t> zp(static_cast<size_t>(g_.n));
            const void* z = in_.w_q.has_zp ? ctx.input(in_.w_q.zp_index).data : nullptr;
            quant::load_zero_point_values(in_.w_q.zp_dtype, z, in_.w_q.zp_count, zp.data(), g_.n);
            prepared_ = AlignedBuffer(static_cast<size_t>(g_.k * g_.n) * sizeof(int16_t));
            prepare_b(g_, static_cast<const B*>(ctx.input(in_.w).data), zp.data(),
                      reinterpret_cast<int16_t*>(prepared_.data()));
        }
    }

    quant::Int8Backend backend() const override { return quant::Int8Backend::Exact; }

    size_t scratch_bytes() const override {
        const auto k = static_cast<size_t>(g_.k), n = static_cast<size_t>(g_.n);
        return (prepared_.data() ? 0 : align_up(k * n * 2)) + 3 * align_up(n * 4) + align_up(k * 2);
    }

    void run(const RunContext& ctx) const override {
        const int64_t M = g_.m, K = g_.k, N = g_.n;
        ScratchCursor scratch(ctx.scratch);
        auto* bq = prepared_.data() ? nullptr : scratch.take<int16_t>(static_cast<size_t>(K * N));
        auto* b_zp = scratch.take<int32_t>(static_cast<size_t>(N));
        auto* multiplier = scratch.take<float>(static_cast<size_t>(N));
        auto* acc = scratch.take<int32_t>(static_cast<size_t>(N));
        auto* arow = scratch.take<int16_t>(static_cast<size_t>(K));

        int32_t a_zp = 0, y_zp = 0;
        in_.load(ctx.inputs, a_zp, y_zp, b_zp, multiplier, g_.alpha);
        const int16_t* weights = reinterpret_cast<const int16_t*>(prepared_.data());
        if (!weights) {
            prepare_b(g_, static_cast<const B*>(ctx.inputs[in_.w]), b_zp, bq);
            weights = bq;
        }
        const auto* a = static_cast<const A*>(ctx.inputs[in_.x]);
        const auto* bias = g_.bias >= 0 ? static_cast<const int32_t*>(ctx.inputs[g_.bias]) : nullptr;
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        for (int64_t i = 0; i < M; ++i) {
            for (int64_t k = 0; k < K; ++k)
                arow[k] = static_cast<int16_t>(static_cast<int32_t>(g_.trans_a ? a[k * M + i] : a[i * K + k]) - a_zp);
            if (bias) std::copy(bias, bias + N, acc);
            else std::fill(acc, acc + N, 0);
            quant::accumulate_rows(acc, arow, weights, K, N, N);
            quant::write_products<Y>(acc, nullptr, multiplier, y_zp, y + i * N, 1, N);
        }
    }

private:
    QGemmGeometry g_;
    IntegerOperands in_;
    AlignedBuffer prepared_;  // constant b minus its zero points, or empty
};

template <class Y>
std::unique_ptr<Kernel> make_for_types(const QGemmGeometry& g, const IntegerOperands& in, const KernelContext& ctx) {
    if (in.x_dtype == DT::Uint8) {
        if (in.w_dtype == DT::Uint8) return std::make_unique<QGemmKernel<uint8_t, uint8_t, Y>>(g, in, ctx);
        return std::make_unique<QGemmKernel<uint8_t, int8_t, Y>>(g, in, ctx);
    }
    if (in.w_dtype == DT::Uint8) return std::make_unique<QGemmKernel<int8_t, uint8_t, Y>>(g, in, ctx);
    return std::make_unique<QGemmKernel<int8_t, int8_t, Y>>(g, in, ctx);
}

bool flag(const KernelContext& ctx, const char* name) {
    const int64_t v = ctx.attr_int(name, 0);
    if (v != 0 && v != 1) ctx.fail(std::string("attribute '") + name + "' must be 0 or 1, got " + std::to_string(v));
    return v == 1;
}

}  // namespace

std::unique_ptr<Kernel> make_qgemm(KernelContext& ctx) {
    ctx.require_inputs(6, 9);  // y's scale and zero point (6, 7) are absent for a float output
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Uint8, DT::Int8});
    ctx.require_dtype(3, {DT::Uint8, DT::Int8});
    const Shape& a = ctx.input(0).shape;
    const Shape& b = ctx.input(3).shape;
    if (a.size() != 2 || b.size() != 2)
        ctx.fail("A " + shape_to_string(a) + " and B " + shape_to_string(b) + " must both be 2-D");
    QGemmGeometry g;
    g.trans_a = flag(ctx, "transA");
    g.trans_b = flag(ctx, "transB");
    g.m = g.trans_a ? a[1] : a[0];
    g.k = g.trans_a ? a[0] : a[1];
    g.n = g.trans_b ? b[0] : b[1];
    if ((g.trans_b ? b[1] : b[0]) != g.k)
        ctx.fail("A " + shape_to_string(a) + " (transA " + std::to_string(g.trans_a) + ") and B " + shape_to_string(b) +
                 " (transB " + std::to_string(g.trans_b) + ") do not share the inner dimension");
    g.alpha = ctx.attr_float("alpha", 1.0f);
    if (!(g.alpha > 0.0f) || !std::isfinite(g.alpha))
        ctx.fail("attribute 'alpha' is " + std::to_string(g.alpha) + "; it must be positive and finite");
    const IntegerOperands in = quant::check_qlinear_operands(ctx, g.n, "QGemm", "a", "b", true);
    if (ctx.has_input(8)) {
        ctx.require_dtype(8, {DT::Int32});
        const Shape& c = ctx.input(8).shape;
        if (c != Shape{g.n} && c != Shape{1, g.n})
            ctx.fail("bias C " + shape_to_string(c) + " must be [" + std::to_string(g.n) + "] or [1, " +
                     std::to_string(g.n) + "]");
        if (g.alpha != 1.0f || ctx.attr_float("beta", 1.0f) != 1.0f)
            ctx.fail("a bias needs alpha = beta = 1 (the int32 bias is added to the unscaled sums)");
        g.bias = 8;
    }
    ctx.set_output(0, in.y_dtype, {g.m, g.n});
    const bool empty = g.m == 0 || g.k == 0 || g.n == 0;
    if (!ctx.options().reference_kernels && !empty && in.constant_symmetric_weights(ctx)) {
        const quant::ProductLayout layout{g.trans_a, g.trans_b, g.alpha, g.bias};
        if (auto k = quant::make_onednn_integer_matmul(g.m, g.k, g.n, in, ctx.input(3).data,
                                                          ctx.options().intra_op_threads, layout))
            return k;
    }
    switch (in.y_dtype) {
        case DT::Uint8: return make_for_types<uint8_t>(g, in, ctx);
        case DT::Int8: return make_for_types<int8_t>(g, in, ctx);
        default: return make_for_types<float>(g, in, ctx);
    }
}

}  // namespace ezemu::kernels
