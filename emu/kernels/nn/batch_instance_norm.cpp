// BatchNormalization and InstanceNormalization: per-channel affine normalization of [N, C, spatial...] tensors.
// BatchNormalization in inference form folds its four parameter tensors into y = x * a[c] + b[c] (once, at load
// time, when they are constants); in training mode (opset 14+, training_mode=1) it normalizes with the batch's own
// statistics and also returns the updated running mean and variance.
#include <cmath>
#include <vector>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

// y[n, l, i] = x[n, l, i] * a[l] + b[l] for l < params, i < inner.
void affine_rows(const float* x, float* y, const float* a, const float* b, int64_t batch, int64_t params,
                 int64_t inner) {
    for (int64_t n = 0; n < batch; ++n)
        for (int64_t l = 0; l < params; ++l) {
            const float* xr = x + (n * params + l) * inner;
            float* yr = y + (n * params + l) * inner;
            const float al = a[l], bl = b[l];
            for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * al + bl;
        }
}

void fold_batch_norm(const float* scale, const float* bias, const float* mean, const float* var, float eps,
                     int64_t count, float* a, float* b) {
    for (int64_t l = 0; l < count; ++l) {
        a[l] = scale[l] / std::sqrt(var[l] + eps);
        b[l] = bias[l] - mean[l] * a[l];
    }
}

class BatchNormKernel final : public Kernel {
public:
    // `folded` holds a then b when every parameter was constant; otherwise they are folded per run into scratch.
    BatchNormKernel(int64_t batch, int64_t params, int64_t inner, float eps, std::vector<float> folded)
        : batch_(batch), params_(params), inner_(inner), eps_(eps), folded_(std::move(folded)) {}

    size_t scratch_bytes() const override {
        return folded_.empty() ? 2 * static_cast<size_t>(params_) * sizeof(float) : 0;
    }

    void run(const RunContext& ctx) const override {
        const float* a = folded_.data();
        const float* b = folded_.empty() ? nullptr : folded_.data() + params_;  // null + offset is UB
        if (folded_.empty()) {
            auto* s = static_cast<float*>(ctx.scratch);
            fold_batch_norm(static_cast<const float*>(ctx.inputs[1]), static_cast<const float*>(ctx.inputs[2]),
                            static_cast<const float*>(ctx.inputs[3]), static_cast<const float*>(ctx.inputs[4]), eps_,
                            params_, s, s + params_);
            a = s;
            b = s + params_;
        }
        affine_rows(static_cast<const float*>(ctx.inputs[0]), static_cast<float*>(ctx.outputs[0]), a, b, batch_,
                    params_, inner_);
    }

private:
    int64_t batch_, params_, inner_;
    float eps_;
    std::vector<float> folded_;
};

class BatchNormTrainingKernel final : public Kernel {
public:
    BatchNormTrainingKernel(int64_t batch, int64_t channels, int64_t inner, float eps, float momentum,
                            size_t outputs)
        : batch_(batch), channels_(channels), inner_(inner), eps_(eps), momentum_(momentum), outputs_(outputs) {}

    size_t scratch_bytes() const override { return 2 * static_cast<size_t>(channels_) * sizeof(float); }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const auto* scale = static_cast<const float*>(ctx.inputs[1]);
        const auto* bias = static_cast<const float*>(ctx.inputs[2]);
        const auto* in_mean = static_cast<const float*>(ctx.inputs[3]);
        const auto* in_var = static_cast<const float*>(ctx.inputs[4]);
        auto* a = static_cast<float*>(ctx.scratch);
        float* b = a + channels_;
        const double count = static_cast<double>(batch_ * inner_);
        for (int64_t c = 0; c < channels_; ++c) {
            double sum = 0.0, sq = 0.0;
            for (int64_t n = 0; n < batch_; ++n) {
                const float* xr = x + (n * channels_ + c) * inner_;
                for (int64_t i = 0; i < inner_; ++i) sum += xr[i];
            }
            const double mean = count > 0 ? sum / count : 0.0;
            for (int64_t n = 0; n < batch_; ++n) {
                const float* xr = x + (n * channels_ + c) * inner_;
                for (int64_t i = 0; i < inner_; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
            }
            const double var = count > 0 ? sq / count : 0.0;  // the population variance, as ONNX defines it
            a[c] = static_cast<float>(scale[c] / std::sqrt(var + eps_));
            b[c] = static_cast<float>(bias[c] - mean * a[c]);
            if (outputs_ > 1 && ctx.outputs[1])
                static_cast<float*>(ctx.outputs[1])[c] =
                    static_cast<float>(in_mean[c] * momentum_ + mean * (1.0 - momentum_));
            if (outputs_ > 2 && ctx.outputs[2])
                static_cast<float*>(ctx.outputs[2])[c] =
                    static_cast<float>(in_var[c] * momentum_ + var * (1.0 - momentum_));
        }
        affine_rows(x, static_cast<float*>(ctx.outputs[0]), a, b, batch_, channels_, inner_);
    }

private:
    int64_t batch_, channels_, inner_;
    float eps_, momentum_;
    size_t outputs_;
};

std::unique_ptr<Kernel> make_batch_norm_float(KernelContext& ctx) {
    ctx.require_inputs(5, 5);
    for (size_t i = 0; i < 5; ++i) ctx.require_dtype(i, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 2) ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 2 ([N, C, ...])");
    const float eps = ctx.attr_float("epsilon", 1e-5f);
    const float momentum = ctx.attr_float("momentum", 0.9f);
    const int64_t training = ctx.opset() >= 14 ? ctx.attr_int("training_mode", 0) : 0;
    if (training != 0 && training != 1)
        ctx.fail("attribute 'training_mode' must be 0 or 1, got " + std::to_string(training));
    if (training) {
        ctx.require_outputs(1, 3);
    } else if (ctx.opset() >= 14) {
        ctx.require_outputs(1, 1);
    } else {
        for (size_t i = 1; i < ctx.output_count(); ++i)
            if (!ctx.node().outputs[i].empty())
                ctx.fail("the training outputs (mean, var, saved_mean, saved_var) of opset " +
                         std::to_string(ctx.opset()) + " are not supported: export the model for inference");
    }
    // Opset 7 and 8 take per-activation parameters ([C, D1, ...]) when spatial is 0.
    const int64_t spatial = ctx.opset() < 9 ? ctx.attr_int("spatial", 1) : 1;
    const int64_t batch = x[0], channels = x[1];
    const int64_t inner = shape_elements(x) / std::max<int64_t>(1, batch * channels);
    const int64_t params = spatial ? channels : channels * inner;
    for (size_t i = 1; i < 5; ++i)
        if (ctx.input(i).element_count() != params || (spatial && ctx.input(i).shape.size() != 1))
            ctx.fail("input " + std::to_string(i) + " has shape " + shape_to_string(ctx.input(i).shape) +
                     ", expected " +
                     (spatial ? "[" + std::to_string(channels) + "]" : std::to_string(params) + " elements"));
    ctx.set_output(0, onnx::DataType::Float, x);
    if (training) {
        if (!spatial) ctx.fail("training mode needs spatial=1");
        for (size_t i = 1; i < ctx.output_count(); ++i) ctx.set_output(i, onnx::DataType::Float, Shape{channels});
        return std::make_unique<BatchNormTrainingKernel>(batch, channels, inner, eps, momentum, ctx.output_count());
    }
    std::vector<float> folded;
    bool constant = true;
    for (size_t i = 1; i < 5; ++i) constant = constant && ctx.input(i).is_constant();
    if (constant) {
        folded.resize(2 * static_cast<size_t>(params));
        fold_batch_norm(static_cast<const float*>(ctx.input(1).data), static_cast<const float*>(ctx.input(2).data),
                        static_cast<const float*>(ctx.input(3).data), static_cast<const float*>(ctx.input(4).data), eps,
                        params, folded.data(), folded.data() + params);
    }
    return std::make_unique<BatchNormKernel>(batch, params, spatial ? inner : 1, eps, std::move(folded));
}

class InstanceNormKernel final : public Kernel {
public:
    InstanceNormKernel(int64_t batch, int64_t channels, int64_t inner, float eps)
        : batch_(batch), channels_(channels), inner_(inner), eps_(eps) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const auto* scale = static_cast<const float*>(ctx.inputs[1]);
        const auto* bias = static_cast<const float*>(ctx.inputs[2]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t n = 0; n < batch_; ++n)
            for (int64_t c = 0; c < channels_; ++c) {
                const float* xr = x + (n * channels_ + c) * inner_;
                float* yr = y + (n * channels_ + c) * inner_;
                double sum = 0.0;
                for (int64_t i = 0; i < inner_; ++i) sum += xr[i];
                const float mean = inner_ ? static_cast<float>(sum / static_cast<double>(inner_)) : 0.0f;
                double sq = 0.0;
                for (int64_t i = 0; i < inner_; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
                const double var = inner_ ? sq / static_cast<double>(inner_) : 0.0;
                const float a = static_cast<float>(scale[c] / std::sqrt(var + eps_));
                const float b = bias[c] - mean * a;
                for (int64_t i = 0; i < inner_; ++i) yr[i] = xr[i] * a + b;
            }
    }

private:
    int64_t batch_, channels_, inner_;
    float eps_;
};

std::unique_ptr<Kernel> make_instance_norm_float(KernelContext& ctx) {
    ctx.require_inputs(3, 3);
    ctx.require_outputs(1, 1);
    for (size_t i = 0; i < 3; ++i) ctx.require_dtype(i, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3)
        ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 3 ([N, C, D1, ...])");
    for (size_t i = 1; i < 3; ++i)
        if (ctx.input(i).shape != Shape{x[1]})
            ctx.fail("input " + std::to_string(i) + " has shape " + shape_to_string(ctx.input(i).shape) +
                     ", expected [" +
                     std::to_string(x[1]) + "]");
    ctx.set_output(0, onnx::DataType::Float, x);
    const int64_t inner = shape_elements(x) / std::max<int64_t>(1, x[0] * x[1]);
    return std::make_unique<InstanceNormKernel>(x[0], x[1], inner, ctx.attr_float("epsilon", 1e-5f));
}

}  // namespace

std::unique_ptr<Kernel> make_batch_normalization(KernelContext& ctx) {
    if (!has_float16_input(ctx)) return make_batch_norm_float(ctx);
    // Opset 15 lets X (and Y), the scale/bias and the statistics (and the running outputs) differ in type.
    const auto is_half = [&](size_t i) { return ctx.has_input(i) && ctx.input(i).dtype == onnx::DataType::Float16; };
    const uint32_t keep = (is_half(0) ? 0u : 1u) | (is_half(3) ? 0u : 6u);
    return make_float16_via_float(ctx, make_batch_norm_float, keep);
}

std::unique_ptr<Kernel> make_instance_normalization(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_instance_norm_float);
    return make_instance_norm_float(ctx);
}

}  // namespace ezemu::kernels
