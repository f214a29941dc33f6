// MaxUnpool: scatters X into a zero tensor at the flat indices I (MaxPool's Indices output, row-major over the whole
// output). The output's spatial size comes from the window attributes, or from the constant output_shape input.
#include <cstring>
#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

class MaxUnpoolKernel final : public Kernel {
public:
    MaxUnpoolKernel(int64_t x_count, int64_t y_count, std::string label)
        : x_count_(x_count), y_count_(y_count), label_(std::move(label)) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const auto* index = static_cast<const int64_t*>(ctx.inputs[1]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        std::memset(y, 0, static_cast<size_t>(y_count_) * sizeof(float));
        for (int64_t i = 0; i < x_count_; ++i) {
            const int64_t at = index[i];
            if (at < 0 || at >= y_count_)
                throw RunError(label_ + ": index " + std::to_string(at) + " of I is outside the output's " +
                               std::to_string(y_count_) + " elements");
            y[at] = x[i];
        }
    }

private:
    int64_t x_count_, y_count_;
    std::string label_;
};

std::unique_ptr<Kernel> make_max_unpool_float(KernelContext& ctx) {
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    ctx.require_dtype(1, {onnx::DataType::Int64});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3)
        ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 3 ([N, C, D1, ...])");
    if (ctx.input(1).shape != x)
        ctx.fail("indices I " + shape_to_string(ctx.input(1).shape) + " must have the shape of X " +
                 shape_to_string(x));
    const size_t n = x.size() - 2;
    if (!ctx.has_attr("kernel_shape")) ctx.fail("attribute 'kernel_shape' is required");
    const std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape");
    const std::vector<int64_t> strides = ctx.attr_ints("strides", std::vector<int64_t>(n, 1));
    const std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
    if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n)
        ctx.fail("attributes 'kernel_shape', 'strides' and 'pads' must have " + std::to_string(n) + ", " +
                 std::to_string(n) + " and " + std::to_string(2 * n) + " values");
    Shape y;
    if (ctx.has_input(2)) {
        y = ctx.constant_ints(2);
        if (y.size() != x.size() || y[0] != x[0] || y[1] != x[1])
            ctx.fail("output_shape " + shape_to_string(y) + " must be [N, C, ...] of rank " + std::to_string(x.size()) +
                     " with X's N and C");
    } else {
        y = {x[0], x[1]};
        for (size_t i = 0; i < n; ++i) {
            if (kernel[i] < 1 || strides[i] < 1 || pads[i] < 0 || pads[n + i] < 0)
                ctx.fail("window attributes must be positive (pads non-negative)");
            y.push_back((x[2 + i] - 1) * strides[i] + kernel[i] - pads[i] - pads[n + i]);
        }
    }
    ctx.set_output(0, onnx::DataType::Float, y);
    return std::make_unique<MaxUnpoolKernel>(shape_elements(x), shape_elements(y), ctx.label());
}

}  // namespace

std::unique_ptr<Kernel> make_max_unpool(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_max_unpool_float);
    return make_max_unpool_float(ctx);
}

}  // namespace ezemu::kernels
