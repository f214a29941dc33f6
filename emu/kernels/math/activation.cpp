// Elementwise unary math: one UnaryKernel template with a functor per op (Relu, Sigmoid, Tanh, Exp, Log, Sqrt, Cos,
// Sin, Floor, Erf, Elu, LeakyRelu, HardSigmoid, HardSwish, Mish, Softplus), and Clip, whose bounds may be inputs.
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "kernels/math/elementwise.hpp"
#include "kernels/math/eltwise_onednn.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

struct ReluOp {
    template <class T>
    T operator()(T x) const { return x > T(0) ? x : T(0); }
};
struct SigmoidOp {
    // The two branches keep exp() from overflowing for large |x|.
    template <class T>
    T operator()(T x) const {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }
};
struct TanhOp {
    template <class T>
    T operator()(T x) const { return std::tanh(x); }
};
struct ExpOp {
    template <class T>
    T operator()(T x) const { return std::exp(x); }
};
struct LogOp {
    template <class T>
    T operator()(T x) const { return std::log(x); }
};
struct SqrtOp {
    template <class T>
    T operator()(T x) const { return std::sqrt(x); }
};
struct CosOp {
    template <class T>
    T operator()(T x) const { return std::cos(x); }
};
struct SinOp {
    template <class T>
    T operator()(T x) const { return std::sin(x); }
};
struct FloorOp {
    template <class T>
    T operator()(T x) const { return std::floor(x); }
};
struct ErfOp {
    template <class T>
    T operator()(T x) const {
        if constexpr (std::is_floating_point_v<T>) return std::erf(x);
        else return float_to_integer<T>(std::erf(static_cast<double>(x)));
    }
};
struct EluOp {
    float alpha;
    template <class T>
    T operator()(T x) const { return x < T(0) ? static_cast<T>(alpha) * std::expm1(x) : x; }
};
struct LeakyReluOp {
    float alpha;
    template <class T>
    T operator()(T x) const { return x < T(0) ? static_cast<T>(alpha) * x : x; }
};
struct HardSigmoidOp {
    float alpha, beta;
    template <class T>
    T operator()(T x) const {
        const T v = static_cast<T>(alpha) * x + static_cast<T>(beta);
        return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
    }
};
struct HardSwishOp {
    template <class T>
    T operator()(T x) const { return x * HardSigmoidOp{1.0f / 6.0f, 0.5f}(x); }
};
// log(1 + e^x) without overflow: for large x it is x plus a vanishing term.
template <class T>
T softplus(T x) {
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
struct SoftplusOp {
    template <class T>
    T operator()(T x) const { return softplus(x); }
};
struct MishOp {
    template <class T>
    T operator()(T x) const { return x * std::tanh(softplus(x)); }
};

// The oneDNN eltwise algorithm that computes an op in float32.
struct OnednnEltwise {
    dnnl::algorithm alg;
    float alpha = 0.0f, beta = 0.0f;
};

template <unsigned Set, class Op>
std::unique_ptr<Kernel> make_unary(KernelContext& ctx, DtypeRules rules, Op op = Op{},
                                   std::optional<OnednnEltwise> fast = std::nullopt) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules);
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, x.dtype, x.shape);
    if (fast && x.dtype == onnx::DataType::Float && !ctx.options().reference_kernels)
        if (auto k = make_onednn_eltwise(fast->alg, fast->alpha, fast->beta, x.element_count()))
            return k;
    return dispatch<Set>(ctx, x.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<UnaryKernel<S, S, Op>>(x.element_count(), op);
    });
}

template <class T>
struct ClipOp {
    T lo, hi;
    // min > max gives max everywhere, as the spec says; NaN stays NaN.
    T operator()(T x) const {
        const T v = x < lo ? lo : x;
        return v > hi ? hi : v;
    }
};

template <class S>
class ClipKernel final : public Kernel {
    using C = compute_t<S>;

public:
    ClipKernel(int64_t n, C lo, C hi, bool min_input, bool max_input)
        : n_(n), lo_(lo), hi_(hi), min_input_(min_input), max_input_(max_input) {}
    void run(const RunContext& ctx) const override {
        // From opset 11 the bounds are optional inputs, read per run since they need not be constants.
        const C lo = min_input_ ? load_one(static_cast<const S*>(ctx.inputs[1])) : lo_;
        const C hi = max_input_ ? load_one(static_cast<const S*>(ctx.inputs[2])) : hi_;
        unary_row(static_cast<const S*>(ctx.inputs[0]), static_cast<S*>(ctx.outputs[0]), n_, ClipOp<C>{lo, hi});
    }

private:
    int64_t n_;
    C lo_, hi_;
    bool min_input_, max_input_;
};

}  // namespace

std::unique_ptr<Kernel> make_relu(KernelContext& ctx) {
    return make_unary<kFloats | kSignedInts, ReluOp>(ctx, rules::kRelu);
}
std::unique_ptr<Kernel> make_sigmoid(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, SigmoidOp{}, OnednnEltwise{dnnl::algorithm::eltwise_logistic});
}
std::unique_ptr<Kernel> make_tanh(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, TanhOp{}, OnednnEltwise{dnnl::algorithm::eltwise_tanh});
}
std::unique_ptr<Kernel> make_exp(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, ExpOp{}, OnednnEltwise{dnnl::algorithm::eltwise_exp});
}
std::unique_ptr<Kernel> make_log(KernelContext& ctx) {
    // Not oneDNN's log: near 1 it is off by about 1e-6 in absolute terms, beyond the suite's tolerance.
    return make_unary<kFloats, LogOp>(ctx, rules::kFloats);
}
std::unique_ptr<Kernel> make_sqrt(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, SqrtOp{}, OnednnEltwise{dnnl::algorithm::eltwise_sqrt});
}
std::unique_ptr<Kernel> make_cos(KernelContext& ctx) { return make_unary<kFloats, CosOp>(ctx, rules::kFloats); }
std::unique_ptr<Kernel> make_sin(KernelContext& ctx) { return make_unary<kFloats, SinOp>(ctx, rules::kFloats); }
std::unique_ptr<Kernel> make_floor(KernelContext& ctx) { return make_unary<kFloats, FloorOp>(ctx, rules::kFloats); }
std::unique_ptr<Kernel> make_erf(KernelContext& ctx) { return make_unary<kNumeric, ErfOp>(ctx, rules::kNumeric); }
std::unique_ptr<Kernel> make_softplus(KernelContext& ctx) {
    // Not oneDNN's soft_relu: for very negative x it returns about -2e-6 instead of a tiny positive value.
    return make_unary<kFloats, SoftplusOp>(ctx, rules::kFloats);
}
std::unique_ptr<Kernel> make_mish(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, MishOp{}, OnednnEltwise{dnnl::algorithm::eltwise_mish});
}
std::unique_ptr<Kernel> make_hardswish(KernelContext& ctx) {
    return make_unary<kFloats>(ctx, rules::kFloats, HardSwishOp{}, OnednnEltwise{dnnl::algorithm::eltwise_hardswish});
}
std::unique_ptr<Kernel> make_elu(KernelContext& ctx) {
    const float alpha = ctx.attr_float("alpha", 1.0f);
    return make_unary<kFloats>(ctx, rules::kFloats, EluOp{alpha}, OnednnEltwise{dnnl::algorithm::eltwise_elu, alpha});
}
std::unique_ptr<Kernel> make_leaky_relu(KernelContext& ctx) {
    const float alpha = ctx.attr_float("alpha", 0.01f);
    return make_unary<kFloats>(ctx, rules::kFloats, LeakyReluOp{alpha},
                               OnednnEltwise{dnnl::algorithm::eltwise_relu, alpha});
}
std::unique_ptr<Kernel> make_hard_sigmoid(KernelContext& ctx) {
    const float alpha = ctx.attr_float("alpha", 0.2f), beta = ctx.attr_float("beta", 0.5f);
    // No transcendental: the plain loop vectorizes as well as oneDNN's.
    return make_unary<kFloats>(ctx, rules::kFloats, HardSigmoidOp{alpha, beta});
}

std::unique_ptr<Kernel> make_clip(KernelContext& ctx) {
    ctx.require_inputs(1, ctx.opset() < 11 ? 1 : 3);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules::kFloatsThenIntegers12);
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, x.dtype, x.shape);
    for (size_t i = 1; i < 3 && ctx.opset() >= 11; ++i) {
        if (!ctx.has_input(i)) continue;
        const ValueDesc& b = ctx.input(i);
        if (b.dtype != x.dtype) ctx.fail("bound input " + std::to_string(i) + " has another dtype than X");
        if (b.element_count() != 1)
            ctx.fail("bound input " + std::to_string(i) + " must be a scalar, got " + shape_to_string(b.shape));
    }
    const bool min_input = ctx.opset() >= 11 && ctx.has_input(1), max_input = ctx.opset() >= 11 && ctx.has_input(2);
    return dispatch<kNumeric>(ctx, x.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        using C = compute_t<S>;
        C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
        if constexpr (std::is_floating_point_v<C>) {
            // Before opset 11 the bounds are attributes; infinities rather than the float range, so that a double
            // input is not clipped to float's range.
            if (ctx.opset() < 11) {
                lo = static_cast<C>(ctx.attr_float("min", -std::numeric_limits<float>::infinity()));
                hi = static_cast<C>(ctx.attr_float("max", std::numeric_limits<float>::infinity()));
            } else {
                lo = -std::numeric_limits<C>::infinity();
                hi = std::numeric_limits<C>::infinity();
            }
        }
        return std::make_unique<ClipKernel<S>>(x.element_count(), lo, hi, min_input, max_input);
    });
}

}  // namespace ezemu::kernels
