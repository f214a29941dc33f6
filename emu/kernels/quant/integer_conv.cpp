// ConvInteger and QLinearConv: int32 accumulation of (x - x_zero_point) * (w - w_zero_point) over the window, plus
// the int32 bias; ConvInteger returns the accumulators, QLinearConv requantizes them (requantize.hpp). Padding taps
// hold the real value 0, so they add nothing. The kernel lowers each group to im2col and an integer GEMM.
#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>

#include "kernels/nn/window.hpp"
#include "kernels/quant/integer_gemm.hpp"
#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/requantize.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::QuantOperand;

struct IntConvGeometry {
    int64_t batch = 1, in_channels = 1, out_channels = 1, groups = 1;
    Window3d window;
    int64_t kdim() const { return in_channels / groups * window.kernel_size(); }
};

// Inputs of QLinearConv and ConvInteger, by index (-1 when the op has no such input).
struct IntConvInputs {
    size_t x = 0, w = 1;
    QuantOperand x_q, w_q, y_q;  // QLinearConv only
    int64_t x_zp_count = 0, w_zp_count = 0;
    size_t x_zp = 2, w_zp = 3;   // ConvInteger only
    int bias = -1;
    bool qlinear = false;
};

constexpr int64_t kColumnBlock = 256;  // output positions per accumulator block: the block's columns stay in cache

template <class X, class W, class Y>
class IntegerConvKernel final : public Kernel {
public:
    IntegerConvKernel(const IntConvGeometry& g, const IntConvInputs& in) : g_(g), in_(in) {}

    size_t scratch_bytes() const override {
        const auto m = static_cast<size_t>(g_.out_channels), k = static_cast<size_t>(g_.kdim());
        const auto p = static_cast<size_t>(g_.window.out_size());
        auto align = [](size_t b) { return (b + 63) / 64 * 64; };
        return align(m * k * 2) + align(k * p * 2) + align(kColumnBlock * 4) + 4 * align(m * 4) + 64;
    }

    void run(const RunContext& ctx) const override {
        const int64_t M = g_.out_channels, K = g_.kdim(), P = g_.window.out_size();
        auto align = [](size_t b) { return (b + 63) / 64 * 64; };
        auto* base = static_cast<unsigned char*>(ctx.scratch);
        auto* wq = reinterpret_cast<int16_t*>(base);
        base += align(static_cast<size_t>(M * K) * 2);
        auto* col = reinterpret_cast<int16_t*>(base);
        base += align(static_cast<size_t>(K * P) * 2);
        auto* acc = reinterpret_cast<int32_t*>(base);
        base += align(kColumnBlock * 4);
        auto* multiplier = reinterpret_cast<float*>(base);
        base += align(static_cast<size_t>(M) * 4);
        auto* w_scale = reinterpret_cast<float*>(base);
        base += align(static_cast<size_t>(M) * 4);
        auto* w_zp = reinterpret_cast<int32_t*>(base);
        base += align(static_cast<size_t>(M) * 4);
        auto* bias = reinterpret_cast<int32_t*>(base);

        int32_t x_zp = 0, y_zp = 0;
        if (in_.qlinear) {
            float x_scale = 0, y_scale = 0;
            quant::load_operand(in_.x_q, ctx.inputs, &x_scale, &x_zp, 1);
            quant::load_operand(in_.y_q, ctx.inputs, &y_scale, &y_zp, 1);
            quant::load_operand(in_.w_q, ctx.inputs, w_scale, w_zp, M);
            for (int64_t m = 0; m < M; ++m) multiplier[m] = quant::requant_multiplier(x_scale, w_scale[m], y_scale);
        } else {
            quant::load_zero_point_values(in_x_dtype(), ctx.inputs[in_.x_zp], in_.x_zp_count, &x_zp, 1);
            quant::load_zero_point_values(in_w_dtype(), ctx.inputs[in_.w_zp], in_.w_zp_count, w_zp, M);
        }
        for (int64_t m = 0; m < M; ++m)
            bias[m] = in_.bias >= 0 ? static_cast<const int32_t*>(ctx.inputs[in_.bias])[m] : 0;

        const auto* w = static_cast<const W*>(ctx.inputs[in_.w]);
        for (int64_t m = 0; m < M; ++m)
            for (int64_t k = 0; k < K; ++k)
                wq[m * K + k] = static_cast<int16_t>(static_cast<int32_t>(w[m * K + k]) - w_zp[m]);

        const auto* x = static_cast<const X*>(ctx.inputs[in_.x]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        const int64_t cg = g_.in_channels / g_.groups, mg = M / g_.groups;
        const int64_t plane = g_.window.in_size();
        for (int64_t n = 0; n < g_.batch; ++n)
            for (int64_t grp = 0; grp < g_.groups; ++grp) {
                im2col(x + (n * g_.in_channels + grp * cg) * plane, cg, x_zp, col);
                for (int64_t p0 = 0; p0 < P; p0 += kColumnBlock) {
                    const int64_t pb = std::min(kColumnBlock, P - p0);
                    for (int64_t m = grp * mg; m < (grp + 1) * mg; ++m) {
                        for (int64_t j = 0; j < pb; ++j) acc[j] = bias[m];
                        quant::accumulate_rows(acc, wq + m * K, col + p0, K, P, pb);
                        Y* yr = y + (n * M + m) * P + p0;
                        if constexpr (std::is_same_v<Y, int32_t>) {
                            std::copy(acc, acc + pb, yr);
                        } else {
                            const float mult = multiplier[m];
                            for (int64_t j = 0; j < pb; ++j) yr[j] = quant::requantize<Y>(acc[j], mult, y_zp);
                        }
                    }
                }
            }
    }

private:
    static DT in_x_dtype() { return std::is_same_v<X, uint8_t> ? DT::Uint8 : DT::Int8; }
    static DT in_w_dtype() { return std::is_same_v<W, uint8_t> ? DT::Uint8 : DT::Int8; }

    // col[k, p]: row k = (channel, kd, kh, kw) of the group, column p = output position; x - x_zp, 0 in padding.
    void im2col(const X* x, int64_t channels, int32_t x_zp, int16_t* col) const {
        const Window3d& w = g_.window;
        const int64_t P = w.out_size();
        int64_t k = 0;
        for (int64_t c = 0; c < channels; ++c)
            for (int64_t kd = 0; kd < w.kernel[0]; ++kd)
                for (int64_t kh = 0; kh < w.kernel[1]; ++kh)
                    for (int64_t kw = 0; kw < w.kernel[2]; ++kw, ++k) {
                        int16_t* row = col + k * P;
                        const X* xc = x + c * w.in_size();
                        for (int64_t od = 0; od < w.out[0]; ++od) {
                            const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
                            for (int64_t oh = 0; oh < w.out[1]; ++oh) {
                                const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
                                int16_t* r = row + (od * w.out[1] + oh) * w.out[2];
                                if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
                                    std::fill(r, r + w.out[2], int16_t{0});
                                    continue;
                                }
                                const X* xr = xc + (id * w.in[1] + ih) * w.in[2];
                                for (int64_t ow = 0; ow < w.out[2]; ++ow) {
                                    const int64_t iw = ow * w.stride[2] - w.pad_begin[2] + kw * w.dilation[2];
                                    r[ow] = iw < 0 || iw >= w.in[2]
                                                ? int16_t{0}
                                                : static_cast<int16_t>(static_cast<int32_t>(xr[iw]) - x_zp);
                                }
                            }
                        }
                    }
    }

    IntConvGeometry g_;
    IntConvInputs in_;
};

template <class Y>
std::unique_ptr<Kernel> make_for_types(DT x, DT w, const IntConvGeometry& g, const IntConvInputs& in) {
    if (x == DT::Uint8) {
        if (w == DT::Uint8) return std::make_unique<IntegerConvKernel<uint8_t, uint8_t, Y>>(g, in);
        return std::make_unique<IntegerConvKernel<uint8_t, int8_t, Y>>(g, in);
    }
    if (w == DT::Uint8) return std::make_unique<IntegerConvKernel<int8_t, uint8_t, Y>>(g, in);
    return std::make_unique<IntegerConvKernel<int8_t, int8_t, Y>>(g, in);
}

// Checks X and W, reads the window attributes and declares Y with `y_dtype`.
IntConvGeometry conv_geometry(KernelContext& ctx, size_t x_index, size_t w_index, DT y_dtype) {
    ctx.require_dtype(x_index, {DT::Uint8, DT::Int8});
    ctx.require_dtype(w_index, {DT::Uint8, DT::Int8});
    const Shape& x = ctx.input(x_index).shape;
    const Shape& w = ctx.input(w_index).shape;
    if (x.size() < 3 || x.size() > 5)
        ctx.fail("input X has rank " + std::to_string(x.size()) + "; 1-D to 3-D convolutions (rank 3 to 5) only");
    if (w.size() != x.size())
        ctx.fail("weights W " + shape_to_string(w) + " must have the rank of X " + shape_to_string(x));
    IntConvGeometry g;
    g.groups = ctx.attr_int("group", 1);
    if (g.groups < 1) ctx.fail("attribute 'group' must be positive, got " + std::to_string(g.groups));
    g.batch = x[0];
    g.in_channels = x[1];
    g.out_channels = w[0];
    if (x[1] % g.groups != 0 || w[1] != x[1] / g.groups || w[0] % g.groups != 0)
        ctx.fail("weights W " + shape_to_string(w) + " do not fit X " + shape_to_string(x) + " with group " +
                 std::to_string(g.groups));
    std::vector<int64_t> in(x.begin() + 2, x.end());
    WindowSpec spec = parse_window(ctx, x.size() - 2, std::vector<int64_t>(w.begin() + 2, w.end()), false, true);
    std::vector<int64_t> out = resolve_window(ctx, in, spec);
    g.window = to_window3d(in, out, spec);
    Shape y{g.batch, g.out_channels};
    y.insert(y.end(), out.begin(), out.end());
    ctx.set_output(0, y_dtype, y);
    return g;
}

}  // namespace

std::unique_ptr<Kernel> make_conv_integer(KernelContext& ctx) {
    ctx.require_inputs(2, 4);
    ctx.require_outputs(1, 1);
    const IntConvGeometry g = conv_geometry(ctx, 0, 1, DT::Int32);
    IntConvInputs in;
    in.x_zp_count = quant::check_zero_point(ctx, 2, ctx.input(0).dtype, 1, "x");
    in.w_zp_count = quant::check_zero_point(ctx, 3, ctx.input(1).dtype, g.out_channels, "w");
    return make_for_types<int32_t>(ctx.input(0).dtype, ctx.input(1).dtype, g, in);
}

std::unique_ptr<Kernel> make_qlinear_conv(KernelContext& ctx) {
    ctx.require_inputs(8, 9);
    ctx.require_outputs(1, 1);
    const DT x_dtype = ctx.input(0).dtype;
    const DT y_dtype = ctx.input(7).dtype;
    if (!quant::is_8bit(y_dtype))
        ctx.fail(std::string("the y zero point (input 7) is ") + onnx::data_type_name(y_dtype) +
                 "; QLinearConv outputs uint8 or int8");
    const IntConvGeometry g = conv_geometry(ctx, 0, 3, y_dtype);
    IntConvInputs in;
    in.qlinear = true;
    in.x = 0;
    in.w = 3;
    in.x_q = quant::check_scale_operand(ctx, 1, 2, x_dtype, 1, "x");
    in.w_q = quant::check_scale_operand(ctx, 4, 5, ctx.input(3).dtype, g.out_channels, "w");
    in.y_q = quant::check_scale_operand(ctx, 6, 7, y_dtype, 1, "y");
    if (ctx.has_input(8)) {
        ctx.require_dtype(8, {DT::Int32});
        if (ctx.input(8).shape != Shape{g.out_channels})
            ctx.fail("bias B " + shape_to_string(ctx.input(8).shape) + " must be [" + std::to_string(g.out_channels) +
                     "]");
        in.bias = 8;
    }
    if (y_dtype == DT::Uint8) return make_for_types<uint8_t>(x_dtype, ctx.input(3).dtype, g, in);
    return make_for_types<int8_t>(x_dtype, ctx.input(3).dtype, g, in);
}

}  // namespace ezemu::kernels
