// Normalizations over contiguous rows: LayerNormalization (opset 17; every dim from `axis` on forms a row, with
// optional float32 Mean and InvStdDev outputs) and LpNormalization (L1 or L2 norm along one axis).
#include <cmath>
#include <vector>

#include "kernels/broadcast.hpp"
#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

// For a tensor broadcast (numpy rules, unidirectionally) to the row shape: the source element of each row element.
// Empty when the tensor already has the row's shape or is a single value (the common cases, indexed directly).
std::vector<int64_t> broadcast_index(const Shape& from, const Shape& row) {
    const int64_t count = shape_elements(row);
    if (shape_elements(from) == count || shape_elements(from) == 1) return {};
    std::vector<int64_t> index(static_cast<size_t>(count));
    const size_t r = row.size(), off = r - from.size();
    for (int64_t e = 0; e < count; ++e) {
        int64_t rem = e, src = 0, stride = 1;
        for (size_t d = r; d-- > 0;) {
            const int64_t pos = rem % row[d];
            rem /= row[d];
            if (d >= off) {
                const int64_t fd = from[d - off];
                if (fd != 1) src += pos * stride;
                stride *= fd;
            }
        }
        index[static_cast<size_t>(e)] = src;
    }
    return index;
}

class LayerNormKernel final : public Kernel {
public:
    LayerNormKernel(int64_t rows, int64_t len, float eps, bool has_bias, size_t outputs,
                    std::vector<int64_t> scale_index, std::vector<int64_t> bias_index, bool scale_scalar,
                    bool bias_scalar)
        : rows_(rows), len_(len), eps_(eps), has_bias_(has_bias), outputs_(outputs),
          scale_index_(std::move(scale_index)),
          bias_index_(std::move(bias_index)), scale_scalar_(scale_scalar), bias_scalar_(bias_scalar) {}

    size_t scratch_bytes() const override {
        return scale_index_.empty() && bias_index_.empty() && !scale_scalar_ && !bias_scalar_
                   ? 0
                   : 2 * static_cast<size_t>(len_) * sizeof(float);
    }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        const float* scale = expand(static_cast<const float*>(ctx.inputs[1]), scale_index_, scale_scalar_,
                                    static_cast<float*>(ctx.scratch));
        const float* bias = has_bias_ ? expand(static_cast<const float*>(ctx.inputs[2]), bias_index_, bias_scalar_,
                                               ctx.scratch ? static_cast<float*>(ctx.scratch) + len_ : nullptr)
                                      : nullptr;
        auto* y = static_cast<float*>(ctx.outputs[0]);
        auto* mean_out = outputs_ > 1 ? static_cast<float*>(ctx.outputs[1]) : nullptr;
        auto* inv_out = outputs_ > 2 ? static_cast<float*>(ctx.outputs[2]) : nullptr;
        for (int64_t r = 0; r < rows_; ++r) {
            const float* xr = x + r * len_;
            float* yr = y + r * len_;
            float sum = 0.0f;
            for (int64_t i = 0; i < len_; ++i) sum += xr[i];
            const float mean = len_ ? sum / static_cast<float>(len_) : 0.0f;
            float sq = 0.0f;
            for (int64_t i = 0; i < len_; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
            const float var = len_ ? sq / static_cast<float>(len_) : 0.0f;
            const float inv = 1.0f / std::sqrt(var + eps_);
            if (bias)
                for (int64_t i = 0; i < len_; ++i) yr[i] = (xr[i] - mean) * inv * scale[i] + bias[i];
            else
                for (int64_t i = 0; i < len_; ++i) yr[i] = (xr[i] - mean) * inv * scale[i];
            if (mean_out) mean_out[r] = mean;
            if (inv_out) inv_out[r] = inv;
        }
    }

private:
    // The parameter as a full row: itself, or gathered into `buffer`.
    const float* expand(const float* p, const std::vector<int64_t>& index, bool scalar, float* buffer) const {
        if (scalar) {
            for (int64_t i = 0; i < len_; ++i) buffer[i] = p[0];
            return buffer;
        }
        if (index.empty()) return p;
        for (int64_t i = 0; i < len_; ++i) buffer[i] = p[index[static_cast<size_t>(i)]];
        return buffer;
    }

    int64_t rows_, len_;
    float eps_;
    bool has_bias_;
    size_t outputs_;
    std::vector<int64_t> scale_index_, bias_index_;
    bool scale_scalar_, bias_scalar_;
};

std::unique_ptr<Kernel> make_layer_norm_float(KernelContext& ctx) {
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 3);
    ctx.require_dtype(0, {onnx::DataType::Float});
    ctx.require_dtype(1, {onnx::DataType::Float});
    const bool has_bias = ctx.has_input(2);
    if (has_bias) ctx.require_dtype(2, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    if (rank == 0) ctx.fail("input X must have rank 1 or more");
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), rank);
    const int64_t stash = ctx.attr_int("stash_type", 1);
    if (stash != 1 && stash != 10 && stash != 11 && stash != 16)
        ctx.fail("attribute 'stash_type' has unsupported value " + std::to_string(stash));
    const Shape row(x.begin() + axis, x.end());
    const auto check_param = [&](size_t i, const char* name) {
        const Shape& p = ctx.input(i).shape;
        if (!broadcasts_to(p, row))
            ctx.fail(std::string(name) + " " + shape_to_string(p) + " does not broadcast to the normalized shape " +
                     shape_to_string(row));
    };
    check_param(1, "Scale");
    if (has_bias) check_param(2, "B");
    Shape stats(x.begin(), x.begin() + axis);
    stats.resize(x.size(), 1);
    ctx.set_output(0, onnx::DataType::Float, x);
    for (size_t i = 1; i < ctx.output_count(); ++i) ctx.set_output(i, onnx::DataType::Float, stats);
    const int64_t len = shape_elements(row);
    const auto scalar = [&](size_t i) { return ctx.input(i).element_count() == 1 && len != 1; };
    return std::make_unique<LayerNormKernel>(
        shape_elements(Shape(x.begin(), x.begin() + axis)), len, ctx.attr_float("epsilon", 1e-5f), has_bias,
        ctx.output_count(), broadcast_index(ctx.input(1).shape, row),
        has_bias ? broadcast_index(ctx.input(2).shape, row) : std::vector<int64_t>{},
        scalar(1), has_bias && scalar(2));
}

class LpNormKernel final : public Kernel {
public:
    LpNormKernel(int64_t outer, int64_t len, int64_t inner, int64_t p)
        : outer_(outer), len_(len), inner_(inner), p_(p) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t o = 0; o < outer_; ++o)
            for (int64_t in = 0; in < inner_; ++in) {
                const float* xs = x + o * len_ * inner_ + in;
                float* ys = y + o * len_ * inner_ + in;
                float norm = 0.0f;
                for (int64_t a = 0; a < len_; ++a) {
                    const float v = xs[a * inner_];
                    norm += p_ == 1 ? std::fabs(v) : v * v;
                }
                if (p_ == 2) norm = std::sqrt(norm);
                // A zero norm gives zeros (the spec's rule), not NaN.
                const float inv = norm != 0.0f ? 1.0f / norm : 0.0f;
                for (int64_t a = 0; a < len_; ++a) ys[a * inner_] = xs[a * inner_] * inv;
            }
    }

private:
    int64_t outer_, len_, inner_, p_;
};

std::unique_ptr<Kernel> make_lp_norm_float(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    if (rank == 0) ctx.fail("input must have rank 1 or more");
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), rank);
    const int64_t p = ctx.attr_int("p", 2);
    if (p != 1 && p != 2) ctx.fail("attribute 'p' must be 1 or 2, got " + std::to_string(p));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x[static_cast<size_t>(d)];
    ctx.set_output(0, onnx::DataType::Float, x);
    return std::make_unique<LpNormKernel>(outer, x[static_cast<size_t>(axis)], inner, p);
}

}  // namespace

std::unique_ptr<Kernel> make_layer_normalization(KernelContext& ctx) {
    // Mean and InvStdDev stay float32 (the stash type) for a float16 X.
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_layer_norm_float, 6u);
    return make_layer_norm_float(ctx);
}

std::unique_ptr<Kernel> make_lp_normalization(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_lp_norm_float);
    return make_lp_norm_float(ctx);
}

}  // namespace ezemu::kernels
