// ReduceSum, ReduceMean, ReduceMax and ReduceMin over any set of axes. The axes come from the attribute (ReduceSum
// before opset 13, the others before 18) or from the constant second input; an empty axes list reduces everything,
// or with noop_with_empty_axes passes the input through. The input is viewed as alternating runs of kept and
// reduced dims (adjacent dims of the same kind merged, size-1 dims dropped), so the innermost loop always runs over
// a contiguous row: either accumulating a whole row into one output, or adding a row into a row of outputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

enum class ReduceOp { Sum, Mean, Max, Min };

// The merged geometry: x is dense; y (and the accumulator) is indexed through y_strides, 0 on reduced dims.
struct ReducePlan {
    std::vector<int64_t> outer_dims;  // every merged dim but the innermost, outermost first
    std::vector<int64_t> y_strides;   // per outer dim
    int64_t inner = 1;                // the innermost merged dim
    bool inner_reduced = false;
    int64_t rows = 1;         // product of outer_dims
    int64_t y_count = 1;      // output elements
    int64_t reduce_count = 1;  // input elements per output
    int64_t x_count = 1;
};

ReducePlan make_plan(const Shape& x, const std::vector<bool>& reduced) {
    ReducePlan p;
    std::vector<int64_t> dims;
    std::vector<bool> kinds;
    for (size_t d = 0; d < x.size(); ++d) {
        p.x_count *= x[d];
        if (reduced[d]) p.reduce_count *= x[d];
        else p.y_count *= x[d];
        if (x[d] == 1) continue;
        if (!dims.empty() && kinds.back() == reduced[d]) dims.back() *= x[d];
        else dims.push_back(x[d]), kinds.push_back(reduced[d]);
    }
    if (dims.empty()) dims.push_back(1), kinds.push_back(false);
    p.inner = dims.back();
    p.inner_reduced = kinds.back();
    p.outer_dims.assign(dims.begin(), dims.end() - 1);
    p.y_strides.assign(p.outer_dims.size(), 0);
    int64_t stride = p.inner_reduced ? 1 : p.inner;
    for (size_t k = p.outer_dims.size(); k-- > 0;) {
        if (!kinds[k]) p.y_strides[k] = stride, stride *= p.outer_dims[k];
        p.rows *= p.outer_dims[k];
    }
    return p;
}

// Accumulator type: integer sums widen to 64 bits (Mean divides the wide sum), floats stay float.
template <class T, ReduceOp Op>
using Acc = std::conditional_t<(Op == ReduceOp::Sum || Op == ReduceOp::Mean) && std::is_integral_v<T>,
                               std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>, T>;

template <class T, ReduceOp Op>
Acc<T, Op> identity(bool is_bool) {
    using A = Acc<T, Op>;
    if constexpr (Op == ReduceOp::Max) {
        if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::lowest();
    } else if constexpr (Op == ReduceOp::Min) {
        if (is_bool) return A{1};
        if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::max();
    } else {
        return A{0};
    }
}

template <ReduceOp Op, class A>
inline A combine(A acc, A v) {
    if constexpr (Op == ReduceOp::Max) return v > acc ? v : acc;
    else if constexpr (Op == ReduceOp::Min) return v < acc ? v : acc;
    else if constexpr (std::is_integral_v<A>)  // integer sums wrap (two's complement) instead of overflowing
        return static_cast<A>(static_cast<std::make_unsigned_t<A>>(acc) + static_cast<std::make_unsigned_t<A>>(v));
    else return acc + v;
}

// One contiguous row folded into a value; eight independent lanes let the compiler vectorize float sums, which it
// may not reorder on its own.
template <ReduceOp Op, class T, class A>
inline A fold_row(const T* x, int64_t n, A init) {
    A lanes[8];
    for (A& l : lanes) l = init;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) lanes[k] = combine<Op>(lanes[k], static_cast<A>(x[i + k]));
    A r = init;
    for (int k = 0; k < 8; ++k) r = combine<Op>(r, lanes[k]);
    for (; i < n; ++i) r = combine<Op>(r, static_cast<A>(x[i]));
    return r;
}

template <class T, ReduceOp Op>
class ReduceKernel final : public Kernel {
public:
    using A = Acc<T, Op>;
    ReduceKernel(ReducePlan plan, bool is_bool) : p_(std::move(plan)), is_bool_(is_bool) {}

    size_t scratch_bytes() const override {
        return std::is_same_v<A, T> ? 0 : static_cast<size_t>(p_.y_count) * sizeof(A);
    }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        A* acc = std::is_same_v<A, T> ? reinterpret_cast<A*>(y) : static_cast<A*>(ctx.scratch);
        const A init = identity<T, Op>(is_bool_);
        std::fill(acc, acc + p_.y_count, init);
        if (p_.x_count > 0) accumulate(x, acc, init);
        if constexpr (Op == ReduceOp::Mean) {
            if constexpr (std::is_floating_point_v<A>) {
                const A count = static_cast<A>(p_.reduce_count);
                for (int64_t i = 0; i < p_.y_count; ++i) acc[i] = acc[i] / count;
            } else {
                // Integer mean truncates toward zero, as ONNX Runtime does; an empty set gives 0.
                const A count = static_cast<A>(p_.reduce_count);
                for (int64_t i = 0; i < p_.y_count; ++i) acc[i] = count ? static_cast<A>(acc[i] / count) : A{0};
            }
        }
        if constexpr (!std::is_same_v<A, T>)
            for (int64_t i = 0; i < p_.y_count; ++i) y[i] = static_cast<T>(acc[i]);
    }

private:
    void accumulate(const T* x, A* acc, A init) const {
        const size_t r = p_.outer_dims.size();
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);
        int64_t* idx = r > 16 ? large.data() : small;
        const int64_t n = p_.inner;
        int64_t yo = 0;
        for (int64_t row = 0; row < p_.rows; ++row) {
            const T* xr = x + row * n;
            if (p_.inner_reduced) {
                acc[yo] = combine<Op>(acc[yo], fold_row<Op>(xr, n, init));
            } else {
                A* ar = acc + yo;
                for (int64_t i = 0; i < n; ++i) ar[i] = combine<Op>(ar[i], static_cast<A>(xr[i]));
            }
            for (size_t k = r; k-- > 0;) {
                yo += p_.y_strides[k];
                if (++idx[k] < p_.outer_dims[k]) break;
                yo -= p_.y_strides[k] * p_.outer_dims[k];
                idx[k] = 0;
            }
        }
    }

    ReducePlan p_;
    bool is_bool_;
};

class CopyKernel final : public Kernel {
public:
    explicit CopyKernel(size_t bytes) : bytes_(bytes) {}
    int aliased_input() const override { return 0; }
    void run(const RunContext& ctx) const override {
        if (bytes_ && ctx.outputs[0] != ctx.inputs[0]) std::memcpy(ctx.outputs[0], ctx.inputs[0], bytes_);
    }

private:
    size_t bytes_;
};

template <ReduceOp Op>
std::unique_ptr<Kernel> make_typed(onnx::DataType dt, ReducePlan plan) {
    using DT = onnx::DataType;
    switch (dt) {
        case DT::Float: return std::make_unique<ReduceKernel<float, Op>>(std::move(plan), false);
        case DT::Int32: return std::make_unique<ReduceKernel<int32_t, Op>>(std::move(plan), false);
        case DT::Int64: return std::make_unique<ReduceKernel<int64_t, Op>>(std::move(plan), false);
        case DT::Uint32: return std::make_unique<ReduceKernel<uint32_t, Op>>(std::move(plan), false);
        case DT::Int8: return std::make_unique<ReduceKernel<int8_t, Op>>(std::move(plan), false);
        case DT::Uint8: return std::make_unique<ReduceKernel<uint8_t, Op>>(std::move(plan), false);
        case DT::Int16: return std::make_unique<ReduceKernel<int16_t, Op>>(std::move(plan), false);
        case DT::Uint16: return std::make_unique<ReduceKernel<uint16_t, Op>>(std::move(plan), false);
        case DT::Bool: return std::make_unique<ReduceKernel<uint8_t, Op>>(std::move(plan), true);
        default: return nullptr;
    }
}

template <ReduceOp Op>
std::unique_ptr<Kernel> make_reduce(KernelContext& ctx) {
    using DT = onnx::DataType;
    if (ctx.has_input(0) && ctx.input(0).dtype == DT::Float16) return make_float16_via_float(ctx, make_reduce<Op>);
    const bool min_max = Op == ReduceOp::Max || Op == ReduceOp::Min;
    // The opset where axes moved from an attribute to the second input.
    const int64_t axes_input_from = Op == ReduceOp::Sum ? 13 : 18;
    const bool axes_as_input = ctx.opset() >= axes_input_from;
    ctx.require_inputs(1, axes_as_input ? 2 : 1);
    ctx.require_outputs(1, 1);
    if (min_max)
        ctx.require_dtype(0, {DT::Float, DT::Int32, DT::Int64, DT::Uint32, DT::Int8, DT::Uint8, DT::Int16,
                              DT::Uint16, DT::Bool});
    else
        ctx.require_dtype(0, {DT::Float, DT::Int32, DT::Int64, DT::Uint32, DT::Int8, DT::Uint8, DT::Int16,
                              DT::Uint16});
    const ValueDesc& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t keepdims = ctx.attr_int("keepdims", 1);
    if (keepdims != 0 && keepdims != 1)
        ctx.fail("attribute 'keepdims' must be 0 or 1, got " + std::to_string(keepdims));
    int64_t noop = 0;
    std::vector<int64_t> axes;
    if (axes_as_input) {
        noop = ctx.attr_int("noop_with_empty_axes", 0);
        if (noop != 0 && noop != 1)
            ctx.fail("attribute 'noop_with_empty_axes' must be 0 or 1, got " + std::to_string(noop));
        if (ctx.has_attr("axes")) ctx.fail("attribute 'axes' is not allowed at this opset: axes are input 1");
        if (ctx.has_input(1)) axes = ctx.constant_ints(1);
    } else {
        axes = ctx.attr_ints("axes");
    }
    if (axes.empty() && noop == 1) {
        ctx.set_output(0, x.dtype, x.shape);
        return std::make_unique<CopyKernel>(x.byte_size());
    }
    std::vector<bool> reduced(x.shape.size(), axes.empty());
    for (int64_t a : axes) {
        const int64_t n = ctx.normalize_axis(a, rank);
        if (reduced[static_cast<size_t>(n)]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
        reduced[static_cast<size_t>(n)] = true;
    }
    Shape y;
    for (size_t d = 0; d < x.shape.size(); ++d) {
        if (!reduced[d]) y.push_back(x.shape[d]);
        else if (keepdims) y.push_back(1);
    }
    ReducePlan plan = make_plan(x.shape, reduced);
    ctx.set_output(0, x.dtype, y);
    return make_typed<Op>(x.dtype, std::move(plan));
}

}  // namespace

std::unique_ptr<Kernel> make_reduce_sum(KernelContext& ctx) { return make_reduce<ReduceOp::Sum>(ctx); }
std::unique_ptr<Kernel> make_reduce_mean(KernelContext& ctx) { return make_reduce<ReduceOp::Mean>(ctx); }
std::unique_ptr<Kernel> make_reduce_max(KernelContext& ctx) { return make_reduce<ReduceOp::Max>(ctx); }
std::unique_ptr<Kernel> make_reduce_min(KernelContext& ctx) { return make_reduce<ReduceOp::Min>(ctx); }

}  // namespace ezemu::kernels
