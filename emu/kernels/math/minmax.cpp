// Max and Min: any number of inputs, all broadcast to one output (multidirectionally from opset 8). The first two
// inputs combine into the output, every further input folds into it in place.
#include <cmath>
#include <vector>

#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// NaN wins, as in numpy.maximum / numpy.minimum.
struct MaxOp {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(b)) return b;
        return b > a ? b : a;  // a NaN a stays: NaN > x is false
    }
};
struct MinOp {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(b)) return b;
        return b < a ? b : a;
    }
};
// The broadcast copy of the first input when it alone cannot start the fold.
struct FirstOp {
    template <class T>
    T operator()(T a, T) const { return a; }
};

template <class S, class Op>
class VariadicKernel final : public Kernel {
public:
    VariadicKernel(const std::vector<Shape>& shapes, const Shape& y) {
        // The first step reads two inputs when their broadcast already is the output's shape.
        const std::optional<Shape> first = shapes.size() > 1 ? broadcast_shapes(shapes[0], shapes[1]) : std::nullopt;
        pair_start_ = first && *first == y;
        if (pair_start_) {
            start_ = BinaryBroadcast(shapes[0], shapes[1], y);
        } else {
            start_ = BinaryBroadcast(shapes[0], y, y);
        }
        for (size_t i = pair_start_ ? 2 : 1; i < shapes.size(); ++i) {
            fold_.emplace_back(y, shapes[i], y);
            fold_inputs_.push_back(i);
        }
    }

    void run(const RunContext& ctx) const override {
        auto* y = static_cast<S*>(ctx.outputs[0]);
        const auto* x0 = static_cast<const S*>(ctx.inputs[0]);
        if (pair_start_) binary_broadcast(start_, x0, static_cast<const S*>(ctx.inputs[1]), y, Op{});
        else binary_broadcast(start_, x0, static_cast<const S*>(y), y, FirstOp{});
        // In place: every element of y is read before it is written, at the same index.
        for (size_t k = 0; k < fold_.size(); ++k)
            binary_broadcast(fold_[k], static_cast<const S*>(y), static_cast<const S*>(ctx.inputs[fold_inputs_[k]]),
                             y, Op{});
    }

private:
    bool pair_start_ = false;
    BinaryBroadcast start_;
    std::vector<BinaryBroadcast> fold_;
    std::vector<size_t> fold_inputs_;
};

template <class Op>
std::unique_ptr<Kernel> make_variadic(KernelContext& ctx) {
    ctx.require_outputs(1, 1);
    if (ctx.input_count() == 0) ctx.fail("needs at least one input");
    for (size_t i = 0; i < ctx.input_count(); ++i)
        if (!ctx.has_input(i)) ctx.fail("input " + std::to_string(i) + " is absent; every input is required");
    require_same_dtype(ctx, 0, ctx.input_count() - 1);
    require_dtype_since(ctx, 0, rules::kFloatsThenIntegers12);
    std::vector<Shape> shapes;
    Shape y = ctx.input(0).shape;
    for (size_t i = 0; i < ctx.input_count(); ++i) {
        shapes.push_back(ctx.input(i).shape);
        if (ctx.opset() < 8 && shapes.back() != y)
            ctx.fail("inputs must have the same shape before opset 8, got " + shape_to_string(y) + " and " +
                     shape_to_string(shapes.back()));
        y = broadcast_or_fail(ctx, y, shapes.back());
    }
    ctx.set_output(0, ctx.input(0).dtype, y);
    return dispatch<kNumeric>(ctx, ctx.input(0).dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<VariadicKernel<S, Op>>(shapes, y);
    });
}

}  // namespace

std::unique_ptr<Kernel> make_max(KernelContext& ctx) { return make_variadic<MaxOp>(ctx); }
std::unique_ptr<Kernel> make_min(KernelContext& ctx) { return make_variadic<MinOp>(ctx); }

}  // namespace ezemu::kernels
