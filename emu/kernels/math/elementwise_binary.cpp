// Add, Sub, Mul, Div with numpy multidirectional broadcasting, for float32, float64, int32 and int64.
#include <cstdint>
#include <type_traits>

#include "graph/compiled_model.hpp"
#include "kernels/broadcast.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

// Integer arithmetic wraps like the hardware (two's complement) instead of being undefined on overflow.
template <class T, bool = std::is_integral_v<T>>
struct WrapType {
    using type = T;
};
template <class T>
struct WrapType<T, true> {
    using type = std::make_unsigned_t<T>;
};
template <class T>
using Wide = typename WrapType<T>::type;

template <class T>
struct AddOp {
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
};
template <class T>
struct SubOp {
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
};
template <class T>
struct MulOp {
    T operator()(T a, T b) const { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }
};

struct IntegerDivisionByZero {};

template <class T>
struct DivOp {
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) {
            // Both would trap (SIGFPE): x / 0, and MIN / -1 whose quotient does not fit.
            if (b == 0) throw IntegerDivisionByZero{};
            if (b == -1) return static_cast<T>(Wide<T>{0} - static_cast<Wide<T>>(a));
        }
        return a / b;  // integers truncate toward zero, as ONNX Runtime does
    }
};

template <class T, class Op>
class BinaryKernel final : public Kernel {
public:
    BinaryKernel(const Shape& a, const Shape& b, const Shape& y, std::string label)
        : walk_(a, b, y), label_(std::move(label)) {}

    void run(const RunContext& ctx) const override {
        const auto* a = static_cast<const T*>(ctx.inputs[0]);
        const auto* b = static_cast<const T*>(ctx.inputs[1]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        const int64_t n = walk_.inner;
        const Op op;
        try {
            walk_.for_each_row([&](int64_t ao, int64_t bo, int64_t yo) {
                const T* ar = a + ao;
                const T* br = b + bo;
                T* yr = y + yo;
                if (walk_.b_inner_scalar) {
                    const T bv = *br;
                    for (int64_t i = 0; i < n; ++i) yr[i] = op(ar[i], bv);
                } else if (walk_.a_inner_scalar) {
                    const T av = *ar;
                    for (int64_t i = 0; i < n; ++i) yr[i] = op(av, br[i]);
                } else {
                    for (int64_t i = 0; i < n; ++i) yr[i] = op(ar[i], br[i]);
                }
            });
        } catch (const IntegerDivisionByZero&) {
            throw RunError(label_ + ": integer division by zero");
        }
    }

private:
    BinaryBroadcast walk_;
    std::string label_;
};

template <template <class> class Op>
std::unique_ptr<Kernel> make_binary(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Double, DT::Int32, DT::Int64});
    const ValueDesc& a = ctx.input(0);
    const ValueDesc& b = ctx.input(1);
    if (b.dtype != a.dtype)
        ctx.fail(std::string("inputs have different dtypes (") + onnx::data_type_name(a.dtype) + " and " +
                 onnx::data_type_name(b.dtype) + ")");
    std::optional<Shape> y = broadcast_shapes(a.shape, b.shape);
    if (!y) ctx.fail("shapes " + shape_to_string(a.shape) + " and " + shape_to_string(b.shape) + " do not broadcast");
    ctx.set_output(0, a.dtype, *y);
    switch (a.dtype) {
        case DT::Float: return std::make_unique<BinaryKernel<float, Op<float>>>(a.shape, b.shape, *y, ctx.label());
        case DT::Double:
            return std::make_unique<BinaryKernel<double, Op<double>>>(a.shape, b.shape, *y, ctx.label());
        case DT::Int32:
            return std::make_unique<BinaryKernel<int32_t, Op<int32_t>>>(a.shape, b.shape, *y, ctx.label());
        default:
            return std::make_unique<BinaryKernel<int64_t, Op<int64_t>>>(a.shape, b.shape, *y, ctx.label());
    }
}

}  // namespace

std::unique_ptr<Kernel> make_add(KernelContext& ctx) { return make_binary<AddOp>(ctx); }
std::unique_ptr<Kernel> make_sub(KernelContext& ctx) { return make_binary<SubOp>(ctx); }
std::unique_ptr<Kernel> make_mul(KernelContext& ctx) { return make_binary<MulOp>(ctx); }
std::unique_ptr<Kernel> make_div(KernelContext& ctx) { return make_binary<DivOp>(ctx); }

}  // namespace ezemu::kernels
