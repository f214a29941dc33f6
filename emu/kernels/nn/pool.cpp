// MaxPool, AveragePool and GlobalAveragePool over 1-D to 3-D windows (reference loops; pools are memory-bound).
#include <algorithm>
#include <array>
#include <limits>

#include "kernels/nn/window.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

enum class PoolKind { Max, Average };

class PoolKernel final : public Kernel {
public:
    PoolKernel(PoolKind kind, int64_t planes, const Window3d& w, bool count_include_pad)
        : kind_(kind), planes_(planes), w_(w), count_include_pad_(count_include_pad) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        const int64_t in_size = w_.in_size(), out_size = w_.out_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const float* xp = x + p * in_size;
            float* yp = y + p * out_size;
            for (int64_t od = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh)
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow)
                        yp[(od * w_.out[1] + oh) * w_.out[2] + ow] = kind_ == PoolKind::Max
                                                                         ? max_at(xp, {od, oh, ow})
                                                                         : average_at(xp, {od, oh, ow});
        }
    }

private:
    // First window position and the number of window taps on one axis that fall inside [lo, hi).
    int64_t taps_within(int axis, int64_t o, int64_t lo, int64_t hi) const {
        int64_t n = 0;
        const int64_t start = o * w_.stride[axis] - w_.pad_begin[axis];
        for (int64_t k = 0; k < w_.kernel[axis]; ++k) {
            const int64_t i = start + k * w_.dilation[axis];
            n += i >= lo && i < hi;
        }
        return n;
    }

    float max_at(const float* xp, std::array<int64_t, 3> o) const {
        float m = -std::numeric_limits<float>::infinity();
        const int64_t d0 = o[0] * w_.stride[0] - w_.pad_begin[0];
        const int64_t h0 = o[1] * w_.stride[1] - w_.pad_begin[1];
        const int64_t w0 = o[2] * w_.stride[2] - w_.pad_begin[2];
        for (int64_t kd = 0; kd < w_.kernel[0]; ++kd) {
            const int64_t id = d0 + kd * w_.dilation[0];
            if (id < 0 || id >= w_.in[0]) continue;
            for (int64_t kh = 0; kh < w_.kernel[1]; ++kh) {
                const int64_t ih = h0 + kh * w_.dilation[1];
                if (ih < 0 || ih >= w_.in[1]) continue;
                const float* row = xp + (id * w_.in[1] + ih) * w_.in[2];
                for (int64_t kw = 0; kw < w_.kernel[2]; ++kw) {
                    const int64_t iw = w0 + kw * w_.dilation[2];
                    if (iw >= 0 && iw < w_.in[2]) m = std::max(m, row[iw]);
                }
            }
        }
        return m;
    }

    float average_at(const float* xp, std::array<int64_t, 3> o) const {
        float sum = 0.0f;
        const int64_t d0 = o[0] * w_.stride[0] - w_.pad_begin[0];
        const int64_t h0 = o[1] * w_.stride[1] - w_.pad_begin[1];
        const int64_t w0 = o[2] * w_.stride[2] - w_.pad_begin[2];
        for (int64_t kd = 0; kd < w_.kernel[0]; ++kd) {
            const int64_t id = d0 + kd * w_.dilation[0];
            if (id < 0 || id >= w_.in[0]) continue;
            for (int64_t kh = 0; kh < w_.kernel[1]; ++kh) {
                const int64_t ih = h0 + kh * w_.dilation[1];
                if (ih < 0 || ih >= w_.in[1]) continue;
                const float* row = xp + (id * w_.in[1] + ih) * w_.in[2];
                for (int64_t kw = 0; kw < w_.kernel[2]; ++kw) {
                    const int64_t iw = w0 + kw * w_.dilation[2];
                    if (iw >= 0 && iw < w_.in[2]) sum += row[iw];
                }
            }
        }
        // The divisor counts the taps inside the input, or with count_include_pad inside the padded input (a
        // window that ceil_mode lets run past the end padding does not count its overhang).
        int64_t count = 1;
        for (int a = 0; a < 3; ++a)
            count *= count_include_pad_ ? taps_within(a, o[a], -w_.pad_begin[a], w_.in[a] + w_.pad_end[a])
                                        : taps_within(a, o[a], 0, w_.in[a]);
        return count > 0 ? sum / static_cast<float>(count) : 0.0f;
    }

    PoolKind kind_;
    int64_t planes_;
    Window3d w_;
    bool count_include_pad_;
};

std::unique_ptr<Kernel> make_pool(KernelContext& ctx, PoolKind kind) {
    ctx.require_inputs(1, 1);
    if (kind == PoolKind::Max && ctx.output_count() > 1 && !ctx.node().outputs[1].empty())
        ctx.fail("the Indices output is not supported yet");
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3 || x.size() > 5)
        ctx.fail("input X has rank " + std::to_string(x.size()) + "; pooling supports 1-D to 3-D (rank 3 to 5)");
    const size_t spatial = x.size() - 2;
    WindowSpec spec = parse_window(ctx, spatial, {}, true, true);
    bool include_pad = false;
    if (kind == PoolKind::Average) {
        const int64_t c = ctx.attr_int("count_include_pad", 0);
        if (c != 0 && c != 1) ctx.fail("attribute 'count_include_pad' must be 0 or 1, got " + std::to_string(c));
        include_pad = c == 1;
    }
    std::vector<int64_t> in(x.begin() + 2, x.end());
    std::vector<int64_t> out = resolve_window(ctx, in, spec);
    Shape y{x[0], x[1]};
    y.insert(y.end(), out.begin(), out.end());
    ctx.set_output(0, onnx::DataType::Float, y);
    return std::make_unique<PoolKernel>(kind, x[0] * x[1], to_window3d(in, out, spec), include_pad);
}

class GlobalAveragePoolKernel final : public Kernel {
public:
    GlobalAveragePoolKernel(int64_t planes, int64_t plane_size) : planes_(planes), plane_size_(plane_size) {}
    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t p = 0; p < planes_; ++p) {
            const float* xp = x + p * plane_size_;
            double sum = 0.0;
            for (int64_t i = 0; i < plane_size_; ++i) sum += xp[i];
            y[p] = plane_size_ ? static_cast<float>(sum / static_cast<double>(plane_size_)) : 0.0f;
        }
    }

private:
    int64_t planes_, plane_size_;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool(KernelContext& ctx) { return make_pool(ctx, PoolKind::Max); }
std::unique_ptr<Kernel> make_average_pool(KernelContext& ctx) { return make_pool(ctx, PoolKind::Average); }

std::unique_ptr<Kernel> make_global_average_pool(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3) ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 3");
    Shape y(x.size(), 1);
    y[0] = x[0];
    y[1] = x[1];
    ctx.set_output(0, onnx::DataType::Float, y);
    return std::make_unique<GlobalAveragePoolKernel>(x[0] * x[1], shape_elements(x) / std::max<int64_t>(1, x[0] * x[1]));
}

}  // namespace ezemu::kernels
