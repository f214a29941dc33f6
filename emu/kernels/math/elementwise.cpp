#include "kernels/math/elementwise.hpp"

namespace ezemu::kernels::elementwise {

void require_dtype_since(const KernelContext& ctx, const std::string& what, onnx::DataType dtype,
                         DtypeRules allowed) {
    std::string list;
    for (const DtypeSince& d : allowed) {
        if (d.dtype == dtype) {
            if (ctx.opset() >= d.since) return;
            ctx.fail(what + " has dtype " + onnx::data_type_name(dtype) + ", which " + ctx.node().op_type +
                     " takes from opset " + std::to_string(d.since) + " on (the model imports opset " +
                     std::to_string(ctx.opset()) + ")");
        }
        if (ctx.opset() >= d.since) list += std::string(list.empty() ? "" : ", ") + onnx::data_type_name(d.dtype);
    }
    ctx.fail(what + " has dtype " + onnx::data_type_name(dtype) + ", which " + ctx.node().op_type + " at opset " +
             std::to_string(ctx.opset()) + " does not support (supported: " + list + ")");
}

void require_dtype_since(const KernelContext& ctx, size_t input, DtypeRules allowed) {
    require_dtype_since(ctx, "input " + std::to_string(input), ctx.input(input).dtype, allowed);
}

void require_same_dtype(const KernelContext& ctx, size_t first, size_t last) {
    const onnx::DataType t = ctx.input(first).dtype;
    for (size_t i = first + 1; i <= last; ++i)
        if (ctx.input(i).dtype != t)
            ctx.fail("inputs have different dtypes (input " + std::to_string(first) + " is " +
                     onnx::data_type_name(t) + ", input " + std::to_string(i) + " is " +
                     onnx::data_type_name(ctx.input(i).dtype) + ")");
}

Shape broadcast_or_fail(const KernelContext& ctx, const Shape& a, const Shape& b) {
    std::optional<Shape> y = broadcast_shapes(a, b);
    if (!y) ctx.fail("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    return *y;
}

}  // namespace ezemu::kernels::elementwise
