// Softmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalized over the whole second
// dim; from opset 13 it is normalized along the single `axis` (default -1).
#include <algorithm>
#include <cmath>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

class SoftmaxKernel final : public Kernel {
public:
    SoftmaxKernel(int64_t outer, int64_t axis_len, int64_t inner) : outer_(outer), axis_(axis_len), inner_(inner) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t o = 0; o < outer_; ++o)
            for (int64_t in = 0; in < inner_; ++in) {
                const float* xs = x + o * axis_ * inner_ + in;
                float* ys = y + o * axis_ * inner_ + in;
                // Subtracting the maximum keeps exp() finite; the sum is at least 1.
                float m = -INFINITY;
                for (int64_t a = 0; a < axis_; ++a) m = std::max(m, xs[a * inner_]);
                float sum = 0.0f;
                for (int64_t a = 0; a < axis_; ++a) {
                    const float e = std::exp(xs[a * inner_] - m);
                    ys[a * inner_] = e;
                    sum += e;
                }
                const float scale = 1.0f / sum;
                for (int64_t a = 0; a < axis_; ++a) ys[a * inner_] *= scale;
            }
    }

private:
    int64_t outer_, axis_, inner_;
};

}  // namespace

std::unique_ptr<Kernel> make_softmax(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    ctx.set_output(0, onnx::DataType::Float, x);
    if (rank == 0) ctx.fail("input must have rank 1 or more");
    const bool coerce_2d = ctx.opset() < 13;
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", coerce_2d ? 1 : -1), rank);
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
        if (d < axis) outer *= x[static_cast<size_t>(d)];
        else if (d == axis || coerce_2d) len *= x[static_cast<size_t>(d)];
        else inner *= x[static_cast<size_t>(d)];
    }
    return std::make_unique<SoftmaxKernel>(outer, len, inner);
}

}  // namespace ezemu::kernels
