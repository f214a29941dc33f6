// Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalized over the
// whole second dim; from opset 13 it is normalized along the single `axis` (default -1). float16 is computed in
// float in the kernel's scratch.
#include <algorithm>
#include <cmath>

#include "kernels/math/elementwise.hpp"
#include "kernels/math/eltwise_onednn.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// x and y may be the same buffer: each element is read before it is written.
template <class T>
void softmax(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool log) {
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t in = 0; in < inner; ++in) {
            const T* xs = x + o * len * inner + in;
            T* ys = y + o * len * inner + in;
            // Subtracting the maximum keeps exp() finite; the sum is at least 1.
            T m = -std::numeric_limits<T>::infinity();
            for (int64_t a = 0; a < len; ++a) m = std::max(m, xs[a * inner]);
            T sum = 0;
            if (log) {
                for (int64_t a = 0; a < len; ++a) sum += std::exp(xs[a * inner] - m);
                const T shift = m + std::log(sum);
                for (int64_t a = 0; a < len; ++a) ys[a * inner] = xs[a * inner] - shift;
            } else {
                for (int64_t a = 0; a < len; ++a) {
                    const T e = std::exp(xs[a * inner] - m);
                    ys[a * inner] = e;
                    sum += e;
                }
                const T scale = T(1) / sum;
                for (int64_t a = 0; a < len; ++a) ys[a * inner] *= scale;
            }
        }
}

template <class S>
class SoftmaxKernel final : public Kernel {
public:
    SoftmaxKernel(int64_t outer, int64_t len, int64_t inner, bool log)
        : outer_(outer), len_(len), inner_(inner), log_(log) {}

    size_t scratch_bytes() const override {
        return is_half_v<S> ? static_cast<size_t>(outer_ * len_ * inner_) * sizeof(float) : 0;
    }

    void run(const RunContext& ctx) const override {
        if constexpr (is_half_v<S>) {
            const size_t n = static_cast<size_t>(outer_ * len_ * inner_);
            auto* buf = static_cast<float*>(ctx.scratch);
            numerics::halves_to_floats(static_cast<const uint16_t*>(ctx.inputs[0]), buf, n);
            softmax(buf, buf, outer_, len_, inner_, log_);
            numerics::floats_to_halves(buf, static_cast<uint16_t*>(ctx.outputs[0]), n);
        } else {
            softmax(static_cast<const S*>(ctx.inputs[0]), static_cast<S*>(ctx.outputs[0]), outer_, len_, inner_,
                    log_);
        }
    }

private:
    int64_t outer_, len_, inner_;
    bool log_;
};

std::unique_ptr<Kernel> make_softmax_family(KernelContext& ctx, bool log) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules::kFloats);
    const ValueDesc& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    ctx.set_output(0, x.dtype, x.shape);
    if (rank == 0) ctx.fail("input must have rank 1 or more");
    const bool coerce_2d = ctx.opset() < 13;
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", coerce_2d ? 1 : -1), rank);
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
        if (d < axis) outer *= x.shape[static_cast<size_t>(d)];
        else if (d == axis || coerce_2d) len *= x.shape[static_cast<size_t>(d)];
        else inner *= x.shape[static_cast<size_t>(d)];
    }
    if (x.dtype == onnx::DataType::Float && !ctx.options().reference_kernels)
        if (auto k = make_onednn_softmax(outer, len, inner, log)) return k;
    return dispatch<kFloats>(ctx, x.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        return std::make_unique<SoftmaxKernel<S>>(outer, len, inner, log);
    });
}

}  // namespace

std::unique_ptr<Kernel> make_softmax(KernelContext& ctx) { return make_softmax_family(ctx, false); }
std::unique_ptr<Kernel> make_log_softmax(KernelContext& ctx) { return make_softmax_family(ctx, true); }

}  // namespace ezemu::kernels
