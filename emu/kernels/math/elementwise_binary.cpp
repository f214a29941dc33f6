// Add, Sub, Mul, Div, Pow, Mod and PRelu: two inputs under numpy broadcasting (PRelu's slope unidirectionally).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// Integer arithmetic wraps like the hardware (two's complement) instead of being undefined on overflow; types
// narrower than int go through uint32 so that the promotion to int cannot overflow either.
template <class T, bool = std::is_integral_v<T>>
struct WrapType {
    using type = T;
};
template <class T>
struct WrapType<T, true> {
    using type = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;
};
template <class T>
using Wide = typename WrapType<T>::type;

struct AddOp {
    template <class T>
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
};
struct SubOp {
    template <class T>
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
};
struct MulOp {
    template <class T>
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }
};

struct DivOp {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) {
            if (b == 0) throw IntegerDivisionByZero{};
            // MIN / -1 traps (SIGFPE): its wrapped quotient is MIN again.
            if constexpr (std::is_signed_v<T>)
                if (b == -1) return static_cast<T>(Wide<T>{0} - static_cast<Wide<T>>(a));
        }
        return a / b;  // integers truncate toward zero, as ONNX Runtime does
    }
};

// fmod = 0: the remainder takes the divisor's sign (Python's %); fmod = 1: the dividend's (C's fmod and %).
struct ModOp {
    bool fmod = false;
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) {
            return std::fmod(a, b);
        } else {
            if (b == 0) throw IntegerDivisionByZero{};
            if constexpr (std::is_signed_v<T>) {
                if (b == -1) return T(0);  // MIN % -1 traps
                const T r = static_cast<T>(a % b);
                if (!fmod && r != 0 && ((r < 0) != (b < 0))) return static_cast<T>(r + b);
                return r;
            } else {
                return static_cast<T>(a % b);
            }
        }
    }
};

// Integer powers by squaring, wrapping like the other integer ops. A negative exponent leaves only 1 and -1 with a
// non-zero integer result; 0 to a negative power gives 0 rather than dividing by zero.
template <class T, class E>
T integer_power(T base, E exponent) {
    if (exponent < 0) {
        if (base == 1) return T(1);
        if constexpr (std::is_signed_v<T>)
            if (base == -1) return (static_cast<int64_t>(exponent) % 2 == 0) ? T(1) : T(-1);
        return T(0);
    }
    Wide<T> result = 1, b = static_cast<Wide<T>>(base);
    for (auto e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
        if (e & 1u) result = static_cast<Wide<T>>(result * b);
        b = static_cast<Wide<T>>(b * b);
    }
    return static_cast<T>(result);
}

// Pow: the base's dtype is the output's, the exponent may have any numeric dtype.
struct PowOp {
    template <class T, class E>
    T operator()(T base, E exponent) const {
        if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(std::pow(base, static_cast<T>(exponent)));
        } else if constexpr (std::is_integral_v<E>) {
            return integer_power(base, exponent);
        } else {
            return float_to_integer<T>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
        }
    }
};

struct PReluOp {
    template <class T>
    T operator()(T x, T slope) const {
        if constexpr (std::is_unsigned_v<T>) return x;
        else return x < T(0) ? MulOp{}(slope, x) : x;
    }
};

template <class Op>
std::unique_ptr<Kernel> make_same_type_binary(KernelContext& ctx, DtypeRules rules, Op op = Op{}) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    require_same_dtype(ctx, 0, 1);
    require_dtype_since(ctx, 0, rules);
    const ValueDesc& a = ctx.input(0);
    const ValueDesc& b = ctx.input(1);
    const Shape y = broadcast_or_fail(ctx, a.shape, b.shape);
    ctx.set_output(0, a.dtype, y);
    return dispatch<kNumeric>(ctx, a.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<BinaryKernel<S, S, S, Op>>(a.shape, b.shape, y, ctx.label(), op);
    });
}

}  // namespace

std::unique_ptr<Kernel> make_add(KernelContext& ctx) { return make_same_type_binary<AddOp>(ctx, rules::kArithmetic); }
std::unique_ptr<Kernel> make_sub(KernelContext& ctx) { return make_same_type_binary<SubOp>(ctx, rules::kArithmetic); }
std::unique_ptr<Kernel> make_mul(KernelContext& ctx) { return make_same_type_binary<MulOp>(ctx, rules::kArithmetic); }
std::unique_ptr<Kernel> make_div(KernelContext& ctx) { return make_same_type_binary<DivOp>(ctx, rules::kArithmetic); }

std::unique_ptr<Kernel> make_mod(KernelContext& ctx) {
    const int64_t fmod = ctx.attr_int("fmod", 0);
    if (fmod != 0 && fmod != 1) ctx.fail("attribute fmod must be 0 or 1, got " + std::to_string(fmod));
    ctx.require_inputs(2, 2);
    const onnx::DataType t = ctx.input(0).dtype;
    if (fmod == 0 && (t == onnx::DataType::Float || t == onnx::DataType::Float16 || t == onnx::DataType::Double))
        ctx.fail("floating-point inputs need fmod=1 (the ONNX spec defines no integer-style remainder for them)");
    return make_same_type_binary<ModOp>(ctx, rules::kNumeric, ModOp{fmod == 1});
}

std::unique_ptr<Kernel> make_prelu(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    require_same_dtype(ctx, 0, 1);
    require_dtype_since(ctx, 0, rules::kFloatsThenWideInts9);
    const ValueDesc& x = ctx.input(0);
    const ValueDesc& slope = ctx.input(1);
    if (!broadcasts_to(slope.shape, x.shape))
        ctx.fail("slope " + shape_to_string(slope.shape) + " does not broadcast to X " + shape_to_string(x.shape));
    ctx.set_output(0, x.dtype, x.shape);
    return dispatch<kNumeric>(ctx, x.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<BinaryKernel<S, S, S, PReluOp>>(x.shape, slope.shape, x.shape, ctx.label());
    });
}

std::unique_ptr<Kernel> make_pow(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    static constexpr DtypeSince kBase[] = {{DT::Float, 1}, {DT::Float16, 1}, {DT::Double, 1}, {DT::Int32, 12},
                                           {DT::Int64, 12}};
    static constexpr DtypeSince kExponent[] = {
        {DT::Float, 1},  {DT::Float16, 1}, {DT::Double, 1},  {DT::Int8, 12},   {DT::Int16, 12}, {DT::Int32, 12},
        {DT::Int64, 12}, {DT::Uint8, 12},  {DT::Uint16, 12}, {DT::Uint32, 12}, {DT::Uint64, 12}};
    require_dtype_since(ctx, 0, kBase);
    require_dtype_since(ctx, 1, kExponent);
    const ValueDesc& a = ctx.input(0);
    const ValueDesc& b = ctx.input(1);
    if (ctx.opset() < 12 && a.dtype != b.dtype)
        ctx.fail("base and exponent must have the same dtype before opset 12");
    const Shape y = broadcast_or_fail(ctx, a.shape, b.shape);
    ctx.set_output(0, a.dtype, y);
    return dispatch<kFloats | kSignedInts>(ctx, a.dtype, [&](auto base_tag) -> std::unique_ptr<Kernel> {
        using SA = typename decltype(base_tag)::type;
        if constexpr (std::is_same_v<SA, int8_t> || std::is_same_v<SA, int16_t>) {
            ctx.fail("has no kernel for this base dtype");
        } else {
            return dispatch<kNumeric>(ctx, b.dtype, [&](auto exp_tag) -> std::unique_ptr<Kernel> {
                using SB = typename decltype(exp_tag)::type;
                return std::make_unique<BinaryKernel<SA, SB, SA, PowOp>>(a.shape, b.shape, y, ctx.label());
            });
        }
    });
}

}  // namespace ezemu::kernels
