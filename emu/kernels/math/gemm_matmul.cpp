#include "kernels/math/gemm_matmul.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/broadcast.hpp"
#include "kernels/math/elementwise.hpp"
#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

// Integer products wrap (two's complement) rather than overflow: they are computed in the unsigned type.
template <class T, bool = std::is_integral_v<T>>
struct ArithType {
    using type = T;
};
template <class T>
struct ArithType<T, true> {
    using type = std::make_unsigned_t<T>;
};
template <class T>
using Arith = typename ArithType<T>::type;

template <class T>
void matmul_2d(int64_t M, int64_t K, int64_t N, bool trans_a, bool trans_b, const T* a_in, const T* b_in, T* y_out) {
    using U = Arith<T>;
    const U* a = reinterpret_cast<const U*>(a_in);
    const U* b = reinterpret_cast<const U*>(b_in);
    U* y = reinterpret_cast<U*>(y_out);
    auto a_at = [&](int64_t i, int64_t p) { return trans_a ? a[p * M + i] : a[i * K + p]; };
    if (trans_b) {
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                U acc = 0;
                for (int64_t p = 0; p < K; ++p) acc += a_at(i, p) * b[j * K + p];
                y[i * N + j] = acc;
            }
        return;
    }
    // i-p-j order keeps the innermost loop contiguous in b and y.
    std::fill(y, y + M * N, U(0));
    for (int64_t i = 0; i < M; ++i)
        for (int64_t p = 0; p < K; ++p) {
            const U av = a_at(i, p);
            const U* b_row = b + p * N;
            U* y_row = y + i * N;
            for (int64_t j = 0; j < N; ++j) y_row[j] += av * b_row[j];
        }
}

template <class T>
void matmul_batched(const MatMulGeometry& g, const T* a, const T* b, T* y) {
    for_each_matmul_batch(g, [&](int64_t bi, int64_t a_index, int64_t b_index) {
        matmul_2d(g.m, g.k, g.n, g.trans_a, g.trans_b, a + a_index * g.m * g.k, b + b_index * g.k * g.n,
                  y + bi * g.m * g.n);
    });
}

}  // namespace

void matmul_reference(const MatMulGeometry& g, const float* a, const float* b, float* y) { matmul_batched(g, a, b, y); }

namespace {

template <class T>
class MatMulReferenceKernel final : public Kernel {
public:
    explicit MatMulReferenceKernel(const MatMulGeometry& g) : g_(g) {}
    void run(const RunContext& ctx) const override {
        matmul_batched(g_, static_cast<const T*>(ctx.inputs[0]), static_cast<const T*>(ctx.inputs[1]),
                       static_cast<T*>(ctx.outputs[0]));
    }

private:
    MatMulGeometry g_;
};

// Gemm = a matrix product, then y = alpha * y + beta * C when that could not be folded into the product. Integer
// Gemm takes alpha = beta = 1 only: y + C, wrapping.
template <class T>
class GemmKernel final : public Kernel {
public:
    GemmKernel(std::unique_ptr<Kernel> product, T alpha, T beta, const Shape& y_shape, const Shape* c_shape)
        : product_(std::move(product)), alpha_(alpha), beta_(beta), has_c_(c_shape != nullptr),
          c_walk_(y_shape, c_shape ? *c_shape : Shape{}, y_shape) {}

    size_t scratch_bytes() const override { return product_->scratch_bytes(); }
    std::unique_ptr<KernelState> create_state() const override { return product_->create_state(); }

    void run(const RunContext& ctx) const override {
        product_->run(ctx);
        auto* y = static_cast<Arith<T>*>(ctx.outputs[0]);
        if (!has_c_) {
            const int64_t n = c_walk_.outer_count * c_walk_.inner;
            for (int64_t i = 0; i < n; ++i) y[i] *= alpha_;
            return;
        }
        const auto* c = static_cast<const Arith<T>*>(ctx.inputs[2]);
        const Arith<T> alpha = alpha_, beta = beta_;
        const int64_t inner = c_walk_.inner;
        const bool c_scalar = c_walk_.b_inner_scalar;
        c_walk_.for_each_row([&](int64_t yo, int64_t co, int64_t) {
            Arith<T>* yr = y + yo;
            const Arith<T>* cr = c + co;
            if (c_scalar)
                for (int64_t i = 0; i < inner; ++i) yr[i] = alpha * yr[i] + beta * cr[0];
            else
                for (int64_t i = 0; i < inner; ++i) yr[i] = alpha * yr[i] + beta * cr[i];
        });
    }

private:
    std::unique_ptr<Kernel> product_;
    Arith<T> alpha_, beta_;
    bool has_c_;
    BinaryBroadcast c_walk_;  // y is the walk's first operand, C the second
};

bool has_zero_dim(const MatMulGeometry& g) { return g.m == 0 || g.k == 0 || g.n == 0 || shape_elements(g.batch) == 0; }

}  // namespace

std::unique_ptr<Kernel> make_gemm(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 1);
    elementwise::require_dtype_since(ctx, 0, elementwise::rules::kFloatsThenWideInts9);
    elementwise::require_same_dtype(ctx, 0, ctx.has_input(2) ? 2 : 1);
    const DT dtype = ctx.input(0).dtype;
    if (dtype == DT::Float16) return make_float16_via_float(ctx, make_gemm);
    const ValueDesc& A = ctx.input(0);
    const ValueDesc& B = ctx.input(1);
    if (A.shape.size() != 2 || B.shape.size() != 2)
        ctx.fail("A " + shape_to_string(A.shape) + " and B " + shape_to_string(B.shape) + " must be 2-D");
    const int64_t trans_a = ctx.attr_int("transA", 0), trans_b = ctx.attr_int("transB", 0);
    const float alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
    MatMulGeometry g;
    g.trans_a = trans_a != 0;
    g.trans_b = trans_b != 0;
    g.m = g.trans_a ? A.shape[1] : A.shape[0];
    g.k = g.trans_a ? A.shape[0] : A.shape[1];
    const int64_t kb = g.trans_b ? B.shape[1] : B.shape[0];
    g.n = g.trans_b ? B.shape[0] : B.shape[1];
    if (kb != g.k)
        ctx.fail("inner dims differ: A " + shape_to_string(A.shape) + (g.trans_a ? " (transposed)" : "") + ", B " +
                 shape_to_string(B.shape) + (g.trans_b ? " (transposed)" : ""));
    const Shape y_shape{g.m, g.n};
    const ValueDesc* C = nullptr;
    if (ctx.has_input(2)) {
        C = &ctx.input(2);
        if (C->shape.size() > 2 || !broadcasts_to(C->shape, y_shape))
            ctx.fail("C " + shape_to_string(C->shape) + " does not broadcast to " + shape_to_string(y_shape));
    }
    ctx.set_output(0, dtype, y_shape);
    // beta = 0 ignores C entirely (ONNX allows C to hold anything then).
    if (C && beta == 0.0f) C = nullptr;
    if (dtype != DT::Float) {
        if (dtype != DT::Double && (alpha != std::floor(alpha) || beta != std::floor(beta)))
            ctx.fail("integer Gemm needs whole-number alpha and beta, got " + std::to_string(alpha) + " and " +
                     std::to_string(beta));
        return elementwise::dispatch<elementwise::kFloats | elementwise::kSignedInts | elementwise::kUnsignedInts>(
            ctx, dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
                using T = typename decltype(tag)::type;
                if constexpr (std::is_same_v<T, elementwise::Half> || std::is_same_v<T, float>) {
                    ctx.fail("unexpected dtype");
                } else {
                    auto product = std::make_unique<MatMulReferenceKernel<T>>(g);
                    if (alpha == 1.0f && !C) return product;
                    const auto as = [](float v) {
                        if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<int64_t>(v));
                        else return static_cast<T>(v);
                    };
                    return std::make_unique<GemmKernel<T>>(std::move(product), as(alpha), as(beta), y_shape,
                                                           C ? &C->shape : nullptr);
                }
            });
    }

    if (!ctx.options().reference_kernels && !has_zero_dim(g)) {
        const bool b_constant = B.is_constant();
        const bool fold = (b_constant || alpha == 1.0f) && (!C || C->is_constant());
        if (fold) {
            // alpha goes into the packed weights, beta * C into the bias: one primitive does all of Gemm.
            std::vector<float> bias;
            int64_t bias_m = 0, bias_n = 0;
            if (C) {
                bias_m = C->shape.size() == 2 && C->shape[0] != 1 ? g.m : 1;
                bias_n = !C->shape.empty() && C->shape.back() != 1 ? g.n : 1;
                const auto* c = static_cast<const float*>(C->data);
                bias.resize(static_cast<size_t>(bias_m * bias_n));
                for (size_t i = 0; i < bias.size(); ++i) bias[i] = beta * c[i];
            }
            auto k = make_onednn_matmul(g, b_constant ? static_cast<const float*>(B.data) : nullptr,
                                        b_constant ? alpha : 1.0f, C ? bias.data() : nullptr, bias_m, bias_n);
            if (k) return k;
        } else if (auto k = make_onednn_matmul(g, b_constant ? static_cast<const float*>(B.data) : nullptr, 1.0f,
                                               nullptr, 0, 0)) {
            return std::make_unique<GemmKernel<float>>(std::move(k), alpha, beta, y_shape, C ? &C->shape : nullptr);
        }
    }
    auto product = std::make_unique<MatMulReferenceKernel<float>>(g);
    if (alpha == 1.0f && !C) return product;
    return std::make_unique<GemmKernel<float>>(std::move(product), alpha, beta, y_shape, C ? &C->shape : nullptr);
}

MatMulGeometry matmul_geometry(KernelContext& ctx, size_t a_index, size_t b_index, onnx::DataType y_dtype) {
    const Shape& A = ctx.input(a_index).shape;
    const Shape& B = ctx.input(b_index).shape;
    if (A.empty() || B.empty()) ctx.fail("inputs must have rank 1 or more (scalars cannot multiply)");
    Shape a = A, b = B;
    const bool drop_m = a.size() == 1, drop_n = b.size() == 1;
    if (drop_m) a.insert(a.begin(), 1);
    if (drop_n) b.push_back(1);
    MatMulGeometry g;
    g.m = a[a.size() - 2];
    g.k = a.back();
    g.n = b.back();
    if (b[b.size() - 2] != g.k) ctx.fail("inner dims differ: A " + shape_to_string(A) + ", B " + shape_to_string(B));
    const Shape a_lead(a.begin(), a.end() - 2), b_lead(b.begin(), b.end() - 2);
    std::optional<Shape> batch = broadcast_shapes(a_lead, b_lead);
    if (!batch)
        ctx.fail("batch dims of A " + shape_to_string(A) + " and B " + shape_to_string(B) + " do not broadcast");
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

void fold_shared_b(MatMulGeometry& g) {
    if (!std::all_of(g.b_batch.begin(), g.b_batch.end(), [](int64_t d) { return d == 1; })) return;
    g.m *= shape_elements(g.batch);
    g.batch.clear();
    g.a_batch.clear();
    g.b_batch.clear();
}

std::unique_ptr<Kernel> make_matmul(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    elementwise::require_dtype_since(ctx, 0, elementwise::rules::kFloatsThenWideInts9);
    elementwise::require_same_dtype(ctx, 0, 1);
    const DT dtype = ctx.input(0).dtype;
    if (dtype == DT::Float16) return make_float16_via_float(ctx, make_matmul);
    const ValueDesc& B = ctx.input(1);
    MatMulGeometry g = matmul_geometry(ctx, 0, 1, dtype);
    fold_shared_b(g);
    if (dtype != DT::Float)
        return elementwise::dispatch<elementwise::kFloats | elementwise::kSignedInts | elementwise::kUnsignedInts>(
            ctx, dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
                using T = typename decltype(tag)::type;
                if constexpr (std::is_same_v<T, elementwise::Half>) ctx.fail("unexpected dtype");
                else return std::make_unique<MatMulReferenceKernel<T>>(g);
            });
    if (!ctx.options().reference_kernels && !has_zero_dim(g)) {
        if (auto k = make_onednn_matmul(g, B.is_constant() ? static_cast<const float*>(B.data) : nullptr, 1.0f,
                                        nullptr, 0, 0))
            return k;
    }
    return std::make_unique<MatMulReferenceKernel<float>>(g);
}

}  // namespace ezemu::kernels
