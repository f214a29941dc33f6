#include "kernels/nn/window.hpp"

#include <algorithm>
#include <string>

namespace ezemu::kernels {

namespace {

// Far beyond any real window, and small enough that sums of these values never overflow.
constexpr int64_t kMaxWindowValue = int64_t{1} << 31;

std::vector<int64_t> per_axis(const KernelContext& ctx, const char* name, size_t n, int64_t fallback,
                              int64_t min_value) {
    std::vector<int64_t> v = ctx.attr_ints(name, std::vector<int64_t>(n, fallback));
    if (v.size() != n)
        ctx.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) + " values, expected " +
                 std::to_string(n) + " (one per spatial dim)");
    for (int64_t x : v)
        if (x < min_value || x > kMaxWindowValue)
            ctx.fail(std::string("attribute '") + name + "' has invalid value " + std::to_string(x) +
                     " (allowed: " + std::to_string(min_value) + " to " + std::to_string(kMaxWindowValue) + ")");
    return v;
}

}  // namespace

WindowSpec parse_window(const KernelContext& ctx, size_t spatial, const std::vector<int64_t>& kernel,
                        bool allow_ceil_mode, bool allow_dilations) {
    WindowSpec w;
    if (kernel.empty()) {
        if (!ctx.has_attr("kernel_shape")) ctx.fail("attribute 'kernel_shape' is required");
        w.kernel = per_axis(ctx, "kernel_shape", spatial, 1, 1);
    } else {
        w.kernel = kernel;
        if (ctx.has_attr("kernel_shape") && per_axis(ctx, "kernel_shape", spatial, 1, 1) != kernel)
            ctx.fail("attribute 'kernel_shape' " + shape_to_string(ctx.attr_ints("kernel_shape")) +
                     " disagrees with the weights' kernel " + shape_to_string(kernel));
    }
    w.strides = per_axis(ctx, "strides", spatial, 1, 1);
    w.dilations = allow_dilations ? per_axis(ctx, "dilations", spatial, 1, 1) : std::vector<int64_t>(spatial, 1);
    std::vector<int64_t> pads = per_axis(ctx, "pads", 2 * spatial, 0, 0);
    w.pad_begin.assign(pads.begin(), pads.begin() + static_cast<ptrdiff_t>(spatial));
    w.pad_end.assign(pads.begin() + static_cast<ptrdiff_t>(spatial), pads.end());
    std::string ap = ctx.attr_string("auto_pad", "NOTSET");
    if (ap == "NOTSET" || ap.empty()) w.auto_pad = AutoPad::NotSet;
    else if (ap == "SAME_UPPER") w.auto_pad = AutoPad::SameUpper;
    else if (ap == "SAME_LOWER") w.auto_pad = AutoPad::SameLower;
    else if (ap == "VALID") w.auto_pad = AutoPad::Valid;
    else ctx.fail("attribute 'auto_pad' has unknown value '" + ap + "'");
    if (allow_ceil_mode) {
        int64_t c = ctx.attr_int("ceil_mode", 0);
        if (c != 0 && c != 1) ctx.fail("attribute 'ceil_mode' must be 0 or 1, got " + std::to_string(c));
        w.ceil_mode = c == 1;
    }
    return w;
}

std::vector<int64_t> resolve_window(const KernelContext& ctx, const std::vector<int64_t>& in, WindowSpec& w) {
    std::vector<int64_t> out(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
        const int64_t s = w.strides[i];
        switch (w.auto_pad) {
            case AutoPad::NotSet: {
                const int64_t span = in[i] + w.pad_begin[i] + w.pad_end[i] - extent;
                if (span < 0)
                    ctx.fail("window extent " + std::to_string(extent) + " exceeds padded input size " +
                             std::to_string(in[i] + w.pad_begin[i] + w.pad_end[i]) + " on spatial axis " +
                             std::to_string(i));
                out[i] = (w.ceil_mode ? (span + s - 1) / s : span / s) + 1;
                // A window may not start in the end padding (the rule of ONNX Runtime and PyTorch).
                if (w.ceil_mode && (out[i] - 1) * s >= in[i] + w.pad_begin[i]) --out[i];
                break;
            }
            case AutoPad::Valid: {
                if (in[i] < extent)
                    ctx.fail("window extent " + std::to_string(extent) + " exceeds input size " +
                             std::to_string(in[i]) + " on spatial axis " + std::to_string(i));
                w.pad_begin[i] = w.pad_end[i] = 0;
                out[i] = (in[i] - extent) / s + 1;
                break;
            }
            case AutoPad::SameUpper:
            case AutoPad::SameLower: {
                out[i] = (in[i] + s - 1) / s;
                const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + extent - in[i]);
                const int64_t small = total / 2, large = total - total / 2;
                w.pad_begin[i] = w.auto_pad == AutoPad::SameUpper ? small : large;
                w.pad_end[i] = total - w.pad_begin[i];
                break;
            }
        }
    }
    w.auto_pad = AutoPad::NotSet;
    return out;
}

Window3d to_window3d(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const WindowSpec& w) {
    Window3d g;
    const size_t n = in.size();
    g.spatial_rank = static_cast<int>(n);
    for (size_t i = 0; i < n; ++i) {
        const size_t j = 3 - n + i;
        g.in[j] = in[i];
        g.out[j] = out[i];
        g.kernel[j] = w.kernel[i];
        g.stride[j] = w.strides[i];
        g.dilation[j] = w.dilations[i];
        g.pad_begin[j] = w.pad_begin[i];
        g.pad_end[j] = w.pad_end[i];
    }
    return g;
}

}  // namespace ezemu::kernels
