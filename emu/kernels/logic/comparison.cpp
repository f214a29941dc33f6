// Comparisons (Equal, Greater, GreaterOrEqual, Less, LessOrEqual) of any numeric dtype to bool, and the boolean
// ops And, Or, Xor, Not, all with numpy broadcasting.
#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// NaN compares unequal and unordered, as IEEE says.
struct EqualOp {
    template <class T>
    bool operator()(T a, T b) const { return a == b; }
};
struct GreaterOp {
    template <class T>
    bool operator()(T a, T b) const { return a > b; }
};
struct GreaterOrEqualOp {
    template <class T>
    bool operator()(T a, T b) const { return a >= b; }
};
struct LessOp {
    template <class T>
    bool operator()(T a, T b) const { return a < b; }
};
struct LessOrEqualOp {
    template <class T>
    bool operator()(T a, T b) const { return a <= b; }
};
struct AndOp {
    bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
    bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
    bool operator()(bool a, bool b) const { return a != b; }
};
struct NotOp {
    bool operator()(bool a) const { return !a; }
};

template <unsigned Set, class Op>
std::unique_ptr<Kernel> make_predicate(KernelContext& ctx, DtypeRules rules) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    require_same_dtype(ctx, 0, 1);
    require_dtype_since(ctx, 0, rules);
    const ValueDesc& a = ctx.input(0);
    const ValueDesc& b = ctx.input(1);
    const Shape y = broadcast_or_fail(ctx, a.shape, b.shape);
    ctx.set_output(0, onnx::DataType::Bool, y);
    return dispatch<Set>(ctx, a.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<BinaryKernel<S, S, bool, Op>>(a.shape, b.shape, y, ctx.label());
    });
}

using DT = onnx::DataType;
// Equal: bool and the wide integers from opset 7, every numeric type from 11.
constexpr DtypeSince kEqual[] = {{DT::Bool, 7},   {DT::Int32, 7},  {DT::Int64, 7},   {DT::Float, 11},
                                 {DT::Float16, 11}, {DT::Double, 11}, {DT::Int8, 11},  {DT::Int16, 11},
                                 {DT::Uint8, 11}, {DT::Uint16, 11}, {DT::Uint32, 11}, {DT::Uint64, 11}};
// GreaterOrEqual and LessOrEqual arrived with opset 12 and every numeric type.
constexpr DtypeSince kOrEqual[] = {{DT::Float, 12}, {DT::Float16, 12}, {DT::Double, 12}, {DT::Int8, 12},
                                   {DT::Int16, 12}, {DT::Int32, 12},   {DT::Int64, 12},  {DT::Uint8, 12},
                                   {DT::Uint16, 12}, {DT::Uint32, 12}, {DT::Uint64, 12}};

}  // namespace

std::unique_ptr<Kernel> make_equal(KernelContext& ctx) { return make_predicate<kAll, EqualOp>(ctx, kEqual); }
std::unique_ptr<Kernel> make_greater(KernelContext& ctx) {
    return make_predicate<kNumeric, GreaterOp>(ctx, rules::kFloatsThenNumeric9);
}
std::unique_ptr<Kernel> make_less(KernelContext& ctx) {
    return make_predicate<kNumeric, LessOp>(ctx, rules::kFloatsThenNumeric9);
}
std::unique_ptr<Kernel> make_greater_or_equal(KernelContext& ctx) {
    return make_predicate<kNumeric, GreaterOrEqualOp>(ctx, kOrEqual);
}
std::unique_ptr<Kernel> make_less_or_equal(KernelContext& ctx) {
    return make_predicate<kNumeric, LessOrEqualOp>(ctx, kOrEqual);
}
std::unique_ptr<Kernel> make_and(KernelContext& ctx) { return make_predicate<kBool, AndOp>(ctx, rules::kBoolOnly); }
std::unique_ptr<Kernel> make_or(KernelContext& ctx) { return make_predicate<kBool, OrOp>(ctx, rules::kBoolOnly); }
std::unique_ptr<Kernel> make_xor(KernelContext& ctx) { return make_predicate<kBool, XorOp>(ctx, rules::kBoolOnly); }

std::unique_ptr<Kernel> make_not(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules::kBoolOnly);
    const ValueDesc& x = ctx.input(0);
    ctx.set_output(0, DT::Bool, x.shape);
    return std::make_unique<UnaryKernel<bool, bool, NotOp>>(x.element_count());
}

}  // namespace ezemu::kernels
