#include "kernels/nn/conv.hpp"

#include <algorithm>
#include <string>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

void conv_reference(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y) {
    const Window3d& win = g.window;
    const int64_t icg = g.in_channels / g.groups, ocg = g.out_channels / g.groups;
    const int64_t in_size = win.in_size(), out_size = win.out_size(), k_size = win.kernel_size();
    const auto [ID, IH, IW] = win.in;
    const auto [OD, OH, OW] = win.out;
    const auto [KD, KH, KW] = win.kernel;
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t oc = 0; oc < g.out_channels; ++oc) {
            const int64_t group = oc / ocg;
            const float* x_group = x + (n * g.in_channels + group * icg) * in_size;
            const float* w_oc = w + oc * icg * k_size;
            float* y_oc = y + (n * g.out_channels + oc) * out_size;
            for (int64_t od = 0; od < OD; ++od)
                for (int64_t oh = 0; oh < OH; ++oh)
                    for (int64_t ow = 0; ow < OW; ++ow) {
                        float acc = b ? b[oc] : 0.0f;
                        for (int64_t ic = 0; ic < icg; ++ic) {
                            const float* xc = x_group + ic * in_size;
                            const float* wc = w_oc + ic * k_size;
                            for (int64_t kd = 0; kd < KD; ++kd) {
                                const int64_t id = od * win.stride[0] - win.pad_begin[0] + kd * win.dilation[0];
                                if (id < 0 || id >= ID) continue;
                                for (int64_t kh = 0; kh < KH; ++kh) {
                                    const int64_t ih = oh * win.stride[1] - win.pad_begin[1] + kh * win.dilation[1];
                                    if (ih < 0 || ih >= IH) continue;
                                    const float* x_row = xc + (id * IH + ih) * IW;
                                    const float* w_row = wc + (kd * KH + kh) * KW;
                                    for (int64_t kw = 0; kw < KW; ++kw) {
                                        const int64_t iw =
                                            ow * win.stride[2] - win.pad_begin[2] + kw * win.dilation[2];
                                        if (iw >= 0 && iw < IW) acc += x_row[iw] * w_row[kw];
                                    }
                                }
                            }
                        }
                        y_oc[(od * OH + oh) * OW + ow] = g.relu ? std::max(acc, 0.0f) : acc;
                    }
        }
    }
}

namespace {

// Runs a reference function (Conv's or ConvTranspose's) on the node's float32 tensors.
class ConvReferenceKernel final : public Kernel {
public:
    ConvReferenceKernel(const ConvGeometry& g, bool has_bias, ConvReference reference)
        : g_(g), has_bias_(has_bias), reference_(reference) {}
    bool applies_fused_activation() const override { return g_.relu; }
    void run(const RunContext& ctx) const override {
        reference_(g_, static_cast<const float*>(ctx.inputs[0]), static_cast<const float*>(ctx.inputs[1]),
                   has_bias_ ? static_cast<const float*>(ctx.inputs[2]) : nullptr, static_cast<float*>(ctx.outputs[0]));
    }

private:
    ConvGeometry g_;
    bool has_bias_;
    ConvReference reference_;
};

std::unique_ptr<Kernel> make_conv_float(KernelContext& ctx) {
    const int64_t groups = check_conv_operands(ctx, "Conv");
    const Shape& x = ctx.input(0).shape;
    const Shape& w = ctx.input(1).shape;

    ConvGeometry g;
    g.batch = x[0];
    g.in_channels = x[1];
    g.out_channels = w[0];
    g.groups = groups;
    if (x[1] % groups != 0 || w[1] != x[1] / groups || w[0] % groups != 0)
        ctx.fail("weights W " + shape_to_string(w) + " do not fit X " + shape_to_string(x) + " with group " +
                 std::to_string(groups));
    const bool has_bias = check_conv_bias(ctx, g.out_channels);

    const size_t spatial = x.size() - 2;
    std::vector<int64_t> in(x.begin() + 2, x.end());
    WindowSpec spec = parse_window(ctx, spatial, std::vector<int64_t>(w.begin() + 2, w.end()), false, true);
    std::vector<int64_t> out = resolve_window(ctx, in, spec);
    g.window = to_window3d(in, out, spec);
    return make_conv_kernel(ctx, g, out, has_bias, conv_reference, make_onednn_conv);
}

}  // namespace

int64_t check_conv_operands(KernelContext& ctx, std::string_view op) {
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    ctx.require_dtype(1, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    const Shape& w = ctx.input(1).shape;
    if (x.size() < 3 || x.size() > 5)
        ctx.fail("input X has rank " + std::to_string(x.size()) + "; " + std::string(op) +
                 " supports 1-D to 3-D (rank 3 to 5)");
    if (w.size() != x.size())
        ctx.fail("weights W " + shape_to_string(w) + " must have the rank of X " + shape_to_string(x));
    const int64_t groups = ctx.attr_int("group", 1);
    if (groups < 1) ctx.fail("attribute 'group' must be positive, got " + std::to_string(groups));
    return groups;
}

bool check_conv_bias(KernelContext& ctx, int64_t out_channels) {
    if (!ctx.has_input(2)) return false;
    ctx.require_dtype(2, {onnx::DataType::Float});
    if (ctx.input(2).shape != Shape{out_channels})
        ctx.fail("bias B " + shape_to_string(ctx.input(2).shape) + " must be [" + std::to_string(out_channels) + "]");
    return true;
}

std::unique_ptr<Kernel> make_conv_kernel(KernelContext& ctx, ConvGeometry& g, const std::vector<int64_t>& out,
                                         bool has_bias, ConvReference reference, OnednnConvFactory onednn) {
    g.relu = ctx.fused_activation() == FusedActivation::Relu;
    if (!g.relu) g.post_ops = ctx.fused_ops();
    g.channels_last_in = ctx.channels_last_input();
    g.channels_last_out = ctx.channels_last_output();
    Shape y{g.batch, g.out_channels};
    y.insert(y.end(), out.begin(), out.end());
    ctx.set_output(0, onnx::DataType::Float, y);

    const Shape& x = ctx.input(0).shape;
    const Shape& w = ctx.input(1).shape;
    const bool empty = shape_elements(x) == 0 || shape_elements(y) == 0 || shape_elements(w) == 0;
    if (!ctx.options().reference_kernels && !empty && ctx.input(1).is_constant()) {
        if (auto k = onednn(g, static_cast<const float*>(ctx.input(1).data), has_bias)) return k;
    }
    return std::make_unique<ConvReferenceKernel>(g, has_bias, reference);
}

std::unique_ptr<Kernel> make_conv(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_conv_float);
    return make_conv_float(ctx);
}

}  // namespace ezemu::kernels
