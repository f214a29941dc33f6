#include "kernels/nn/conv_transpose.hpp"

#include <algorithm>
#include <string>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

void conv_transpose_reference(const ConvTransposeGeometry& g, const float* x, const float* w, const float* b,
                              float* y) {
    const Window3d& win = g.window;
    const int64_t icg = g.in_channels / g.groups, ocg = g.out_channels / g.groups;
    const int64_t in_size = win.in_size(), out_size = win.out_size(), k_size = win.kernel_size();
    const auto [ID, IH, IW] = win.in;
    const auto [OD, OH, OW] = win.out;
    const auto [KD, KH, KW] = win.kernel;
    for (int64_t n = 0; n < g.batch; ++n) {
        float* yn = y + n * g.out_channels * out_size;
        for (int64_t oc = 0; oc < g.out_channels; ++oc)
            std::fill(yn + oc * out_size, yn + (oc + 1) * out_size, b ? b[oc] : 0.0f);
        for (int64_t ic = 0; ic < g.in_channels; ++ic) {
            const int64_t group = ic / icg;
            const float* xc = x + (n * g.in_channels + ic) * in_size;
            for (int64_t ocl = 0; ocl < ocg; ++ocl) {
                const float* wk = w + (ic * ocg + ocl) * k_size;
                float* yc = yn + (group * ocg + ocl) * out_size;
                // Scatter every input value through every kernel tap.
                for (int64_t kd = 0; kd < KD; ++kd)
                    for (int64_t kh = 0; kh < KH; ++kh)
                        for (int64_t kw = 0; kw < KW; ++kw) {
                            const float wv = wk[(kd * KH + kh) * KW + kw];
                            for (int64_t id = 0; id < ID; ++id) {
                                const int64_t od = id * win.stride[0] - win.pad_begin[0] + kd * win.dilation[0];
                                if (od < 0 || od >= OD) continue;
                                for (int64_t ih = 0; ih < IH; ++ih) {
                                    const int64_t oh = ih * win.stride[1] - win.pad_begin[1] + kh * win.dilation[1];
                                    if (oh < 0 || oh >= OH) continue;
                                    const float* x_row = xc + (id * IH + ih) * IW;
                                    float* y_row = yc + (od * OH + oh) * OW;
                                    for (int64_t iw = 0; iw < IW; ++iw) {
                                        const int64_t ow =
                                            iw * win.stride[2] - win.pad_begin[2] + kw * win.dilation[2];
                                        if (ow >= 0 && ow < OW) y_row[ow] += x_row[iw] * wv;
                                    }
                                }
                            }
                        }
            }
        }
        if (g.relu)
            for (int64_t i = 0; i < g.out_channels * out_size; ++i) yn[i] = std::max(yn[i], 0.0f);
    }
}

namespace {

std::vector<int64_t> spatial_attr(const KernelContext& ctx, const char* name, size_t n, int64_t fallback,
                                  int64_t min_value) {
    std::vector<int64_t> v = ctx.attr_ints(name, std::vector<int64_t>(n, fallback));
    if (v.size() != n)
        ctx.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) + " values, expected " +
                 std::to_string(n) + " (one per spatial dim)");
    for (int64_t x : v)
        if (x < min_value || x > (int64_t{1} << 31))
            ctx.fail(std::string("attribute '") + name + "' has invalid value " + std::to_string(x));
    return v;
}

std::unique_ptr<Kernel> make_conv_transpose_float(KernelContext& ctx) {
    const int64_t groups = check_conv_operands(ctx, "ConvTranspose");
    const Shape& x = ctx.input(0).shape;
    const Shape& w = ctx.input(1).shape;
    if (w[0] != x[1] || x[1] % groups != 0)
        ctx.fail("weights W " + shape_to_string(w) + " do not fit X " + shape_to_string(x) + " with group " +
                 std::to_string(groups) + " (W is [C, M/group, kernel...])");
    ConvTransposeGeometry g;
    g.batch = x[0];
    g.in_channels = x[1];
    g.out_channels = w[1] * groups;
    g.groups = groups;
    const bool has_bias = check_conv_bias(ctx, g.out_channels);

    const size_t n = x.size() - 2;
    const std::vector<int64_t> in(x.begin() + 2, x.end());
    const std::vector<int64_t> kernel(w.begin() + 2, w.end());
    if (ctx.has_attr("kernel_shape") && ctx.attr_ints("kernel_shape") != kernel)
        ctx.fail("attribute 'kernel_shape' " + shape_to_string(ctx.attr_ints("kernel_shape")) +
                 " disagrees with the weights' kernel " + shape_to_string(kernel));
    const std::vector<int64_t> strides = spatial_attr(ctx, "strides", n, 1, 1);
    const std::vector<int64_t> dilations = spatial_attr(ctx, "dilations", n, 1, 1);
    const std::vector<int64_t> out_pad = spatial_attr(ctx, "output_padding", n, 0, 0);
    const std::vector<int64_t> pads = spatial_attr(ctx, "pads", 2 * n, 0, 0);
    const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID" &&
        !auto_pad.empty())
        ctx.fail("attribute 'auto_pad' has unknown value '" + auto_pad + "'");
    std::vector<int64_t> requested = ctx.attr_ints("output_shape");
    if (!requested.empty()) {
        // Opset 1 exports sometimes include N and C; only the spatial tail matters.
        if (requested.size() == n + 2) requested.erase(requested.begin(), requested.begin() + 2);
        if (requested.size() != n)
            ctx.fail("attribute 'output_shape' has " + std::to_string(requested.size()) + " values, expected " +
                     std::to_string(n));
    }
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    std::vector<int64_t> out(n), pad_begin(n), pad_end(n);
    for (size_t i = 0; i < n; ++i) {
        const int64_t full = strides[i] * (in[i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1;
        if (!requested.empty() || same) {
            out[i] = !requested.empty() ? requested[i] : in[i] * strides[i];
            const int64_t total = full - out[i];
            // Opset 11 moved the odd unit of padding: to the end for SAME_UPPER, before that to the start.
            const bool small_first = ctx.opset() >= 11 ? auto_pad == "SAME_UPPER" : auto_pad != "SAME_UPPER";
            // Floor division: a negative total (output_shape larger than the taps reach) grows the end first.
            const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            pad_begin[i] = small_first ? half : total - half;
        } else if (auto_pad == "VALID") {
            out[i] = full;
            pad_begin[i] = 0;
        } else {
            pad_begin[i] = pads[i];
            out[i] = full - pads[i] - pads[n + i];
        }
        pad_end[i] = full - out[i] - pad_begin[i];
        if (out[i] < 0 || out[i] > (int64_t{1} << 31))
            ctx.fail("output size " + std::to_string(out[i]) + " on spatial axis " + std::to_string(i) + " is invalid");
    }
    WindowSpec spec;
    spec.kernel = kernel;
    spec.strides = strides;
    spec.dilations = dilations;
    spec.pad_begin = pad_begin;
    spec.pad_end = pad_end;
    g.window = to_window3d(in, out, spec);
    return make_conv_kernel(ctx, g, out, has_bias, conv_transpose_reference, make_onednn_conv_transpose);
}

}  // namespace

std::unique_ptr<Kernel> make_conv_transpose(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_conv_transpose_float);
    return make_conv_transpose_float(ctx);
}

}  // namespace ezemu::kernels
