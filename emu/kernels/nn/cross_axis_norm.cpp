// Normalizations whose statistics span other axes than a contiguous row: MeanVarianceNormalization (mean and
// variance over `axes`, default [0, 2, 3]) and LRN (sum of squares over a window of neighbouring channels).
#include <cmath>
#include <vector>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

class MvnKernel final : public Kernel {
public:
    // group_strides: per dim of x, the stride of the statistics group index (0 on normalized axes).
    MvnKernel(Shape x, std::vector<int64_t> group_strides, int64_t groups, int64_t per_group)
        : x_(std::move(x)), strides_(std::move(group_strides)), groups_(groups), per_group_(per_group) {}

    size_t scratch_bytes() const override {
        return 2 * static_cast<size_t>(groups_) * sizeof(double) + x_.size() * sizeof(int64_t);
    }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        auto* sum = static_cast<double*>(ctx.scratch);
        double* sq = sum + groups_;
        auto* idx = reinterpret_cast<int64_t*>(sq + groups_);
        for (int64_t g = 0; g < groups_; ++g) sum[g] = sq[g] = 0.0;
        walk(idx, [&](int64_t e, int64_t g) {
            sum[g] += x[e];
            sq[g] += static_cast<double>(x[e]) * x[e];
        });
        const double n = static_cast<double>(per_group_);
        for (int64_t g = 0; g < groups_; ++g) {
            const double mean = n > 0 ? sum[g] / n : 0.0;
            // The spec's function: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
            const double var = n > 0 ? std::max(0.0, sq[g] / n - mean * mean) : 0.0;
            sum[g] = mean;
            sq[g] = 1.0 / (std::sqrt(var) + 1e-9);
        }
        walk(idx, [&](int64_t e, int64_t g) { y[e] = static_cast<float>((x[e] - sum[g]) * sq[g]); });
    }

private:
    template <class F>
    void walk(int64_t* idx, F&& f) const {
        const size_t r = x_.size();
        const int64_t count = shape_elements(x_);
        for (size_t d = 0; d < r; ++d) idx[d] = 0;
        int64_t g = 0;
        for (int64_t e = 0; e < count; ++e) {
            f(e, g);
            for (size_t d = r; d-- > 0;) {
                g += strides_[d];
                if (++idx[d] < x_[d]) break;
                g -= strides_[d] * x_[d];
                idx[d] = 0;
            }
        }
    }

    Shape x_;
    std::vector<int64_t> strides_;
    int64_t groups_, per_group_;
};

std::unique_ptr<Kernel> make_mvn_float(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    const std::vector<int64_t> axes = ctx.attr_ints("axes", {0, 2, 3});
    std::vector<bool> normalized(x.size(), false);
    for (int64_t a : axes) {
        const size_t n = static_cast<size_t>(ctx.normalize_axis(a, rank));
        if (normalized[n]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
        normalized[n] = true;
    }
    std::vector<int64_t> strides(x.size(), 0);
    int64_t groups = 1, per_group = 1;
    for (size_t d = x.size(); d-- > 0;) {
        if (normalized[d]) {
            per_group *= x[d];
        } else {
            strides[d] = groups;
            groups *= x[d];
        }
    }
    ctx.set_output(0, onnx::DataType::Float, x);
    return std::make_unique<MvnKernel>(x, std::move(strides), groups, per_group);
}

class LrnKernel final : public Kernel {
public:
    LrnKernel(int64_t batch, int64_t channels, int64_t plane, int64_t size, float alpha, float beta, float bias)
        : batch_(batch), channels_(channels), plane_(plane), size_(size), alpha_(alpha), beta_(beta), bias_(bias) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;  // floor and ceil of (size - 1) / 2
        const float scale = alpha_ / static_cast<float>(size_);
        for (int64_t n = 0; n < batch_; ++n)
            for (int64_t c = 0; c < channels_; ++c) {
                // y first holds the sum of squares over the channel window, then the result.
                float* yp = y + (n * channels_ + c) * plane_;
                for (int64_t i = 0; i < plane_; ++i) yp[i] = 0.0f;
                const int64_t lo = std::max<int64_t>(0, c - before), hi = std::min(channels_ - 1, c + after);
                for (int64_t k = lo; k <= hi; ++k) {
                    const float* xk = x + (n * channels_ + k) * plane_;
                    for (int64_t i = 0; i < plane_; ++i) yp[i] += xk[i] * xk[i];
                }
                const float* xp = x + (n * channels_ + c) * plane_;
                for (int64_t i = 0; i < plane_; ++i) yp[i] = xp[i] / std::pow(bias_ + scale * yp[i], beta_);
            }
    }

private:
    int64_t batch_, channels_, plane_, size_;
    float alpha_, beta_, bias_;
};

std::unique_ptr<Kernel> make_lrn_float(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3)
        ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 3 ([N, C, D1, ...])");
    if (!ctx.has_attr("size")) ctx.fail("attribute 'size' is required");
    const int64_t size = ctx.attr_int("size", 1);
    if (size < 1) ctx.fail("attribute 'size' must be positive, got " + std::to_string(size));
    ctx.set_output(0, onnx::DataType::Float, x);
    const int64_t plane = shape_elements(x) / std::max<int64_t>(1, x[0] * x[1]);
    return std::make_unique<LrnKernel>(x[0], x[1], plane, size, ctx.attr_float("alpha", 1e-4f),
                                       ctx.attr_float("beta", 0.75f), ctx.attr_float("bias", 1.0f));
}

}  // namespace

std::unique_ptr<Kernel> make_mean_variance_normalization(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_mvn_float);
    return make_mvn_float(ctx);
}

std::unique_ptr<Kernel> make_lrn(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_lrn_float);
    return make_lrn_float(ctx);
}

}  // namespace ezemu::kernels
