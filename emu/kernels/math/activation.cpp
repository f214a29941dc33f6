// Elementwise activations: Relu, Sigmoid, Clip.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

template <class T, class F>
class UnaryKernel final : public Kernel {
public:
    explicit UnaryKernel(int64_t n) : n_(n) {}
    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        const F f;
        for (int64_t i = 0; i < n_; ++i) y[i] = f(x[i]);
    }

private:
    int64_t n_;
};

template <class T>
struct ReluOp {
    T operator()(T x) const { return x > T(0) ? x : T(0); }
};

template <class T>
struct SigmoidOp {
    // The two branches keep exp() from overflowing for large |x|.
    T operator()(T x) const {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }
};

template <class T>
class ClipKernel final : public Kernel {
public:
    ClipKernel(int64_t n, T lo, T hi, bool min_input, bool max_input)
        : n_(n), lo_(lo), hi_(hi), min_input_(min_input), max_input_(max_input) {}
    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        // From opset 11 the bounds are optional inputs, read per run since they need not be constants.
        const T lo = min_input_ ? *static_cast<const T*>(ctx.inputs[1]) : lo_;
        const T hi = max_input_ ? *static_cast<const T*>(ctx.inputs[2]) : hi_;
        for (int64_t i = 0; i < n_; ++i) y[i] = std::min(std::max(x[i], lo), hi);
    }

private:
    int64_t n_;
    T lo_, hi_;
    bool min_input_, max_input_;
};

std::unique_ptr<Kernel> make_relu_typed(KernelContext& ctx, onnx::DataType t, int64_t n) {
    switch (t) {
        case onnx::DataType::Float: return std::make_unique<UnaryKernel<float, ReluOp<float>>>(n);
        case onnx::DataType::Double: return std::make_unique<UnaryKernel<double, ReluOp<double>>>(n);
        case onnx::DataType::Int32: return std::make_unique<UnaryKernel<int32_t, ReluOp<int32_t>>>(n);
        case onnx::DataType::Int64: return std::make_unique<UnaryKernel<int64_t, ReluOp<int64_t>>>(n);
        default: ctx.fail("unexpected dtype");
    }
}

template <class T>
std::unique_ptr<Kernel> make_clip_typed(KernelContext& ctx, int64_t n) {
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
        if constexpr (std::is_floating_point_v<T>) {
            lo = static_cast<T>(ctx.attr_float("min", std::numeric_limits<float>::lowest()));
            hi = static_cast<T>(ctx.attr_float("max", std::numeric_limits<float>::max()));
        } else {
            ctx.fail("integer inputs need opset 12 or newer");
        }
    } else {
        for (size_t i = 1; i < 3; ++i) {
            if (!ctx.has_input(i)) continue;
            const ValueDesc& b = ctx.input(i);
            if (b.dtype != ctx.input(0).dtype) ctx.fail("bound input " + std::to_string(i) + " has another dtype than X");
            if (b.element_count() != 1)
                ctx.fail("bound input " + std::to_string(i) + " must be a scalar, got " + shape_to_string(b.shape));
        }
    }
    return std::make_unique<ClipKernel<T>>(n, lo, hi, ctx.opset() >= 11 && ctx.has_input(1),
                                           ctx.opset() >= 11 && ctx.has_input(2));
}

}  // namespace

std::unique_ptr<Kernel> make_relu(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Double, DT::Int32, DT::Int64});
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, x.dtype, x.shape);
    return make_relu_typed(ctx, x.dtype, x.element_count());
}

std::unique_ptr<Kernel> make_sigmoid(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Double});
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, x.dtype, x.shape);
    if (x.dtype == DT::Double) return std::make_unique<UnaryKernel<double, SigmoidOp<double>>>(x.element_count());
    return std::make_unique<UnaryKernel<float, SigmoidOp<float>>>(x.element_count());
}

std::unique_ptr<Kernel> make_clip(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(1, ctx.opset() < 11 ? 1 : 3);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Double, DT::Int32, DT::Int64});
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, x.dtype, x.shape);
    switch (x.dtype) {
        case DT::Float: return make_clip_typed<float>(ctx, x.element_count());
        case DT::Double: return make_clip_typed<double>(ctx, x.element_count());
        case DT::Int32: return make_clip_typed<int32_t>(ctx, x.element_count());
        default: return make_clip_typed<int64_t>(ctx, x.element_count());
    }
}

}  // namespace ezemu::kernels
