// Cast between every pair of the dtypes the emulator stores: float32, float16, float64, the 8- to 64-bit integers
// and bool. Floats to integers truncate toward zero (out-of-range values as x86 converts them, then wrapped, as
// numpy's astype does), anything to bool is "not zero", bool to anything is 0 or 1, and float16 goes through float
// with round-to-nearest-even. A cast to the same dtype is a view.
#include <cmath>
#include <type_traits>

#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

template <class To>
struct CastOp {
    template <class From>
    compute_t<To> operator()(From v) const {
        using C = compute_t<To>;
        if constexpr (std::is_same_v<C, bool>) {
            return v != From(0);  // NaN is not zero: true
        } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<C>) {
            return float_to_integer<C>(v);
        } else {
            return static_cast<C>(v);  // integers wrap modulo 2^n (C++20), int to float rounds to nearest
        }
    }
};

template <class From, class To>
std::unique_ptr<Kernel> make_cast_kernel(int64_t n) {
    return std::make_unique<UnaryKernel<From, To, CastOp<To>>>(n);
}

}  // namespace

std::unique_ptr<Kernel> make_cast(KernelContext& ctx) {
    using DT = onnx::DataType;
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules::kAll);
    const ValueDesc& x = ctx.input(0);
    const onnx::Attribute* to_attr = ctx.attribute("to", onnx::AttributeType::Int);
    if (!to_attr) ctx.fail("attribute 'to' is required");
    const auto to = static_cast<DT>(to_attr->i);
    require_dtype_since(ctx, "target dtype 'to'", to, rules::kAll);
    // `saturate` (opset 19) only changes casts to float8, which are not carried.
    ctx.set_output(0, to, x.shape);
    if (to == x.dtype) return make_view_kernel(x.byte_size());
    const int64_t n = x.element_count();
    return dispatch<kAll>(ctx, x.dtype, [&](auto from_tag) -> std::unique_ptr<Kernel> {
        using From = typename decltype(from_tag)::type;
        return dispatch<kAll>(ctx, to, [&](auto to_tag) -> std::unique_ptr<Kernel> {
            using To = typename decltype(to_tag)::type;
            return make_cast_kernel<From, To>(n);
        });
    });
}

}  // namespace ezemu::kernels
