// ConvInteger and QLinearConv: int32 accumulation of (x - x_zero_point) * (w - w_zero_point) over the window, plus
// the int32 bias; ConvInteger returns the accumulators, QLinearConv requantizes them (requantize.hpp). Padding taps
// hold the real value 0, so they add nothing. With VNNI, oneDNN computes the sums (integer_onednn.cpp); otherwise
// the exact kernel here lowers each group to im2col and an integer GEMM, on the emulator's intra-op threads.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/aligned_buffer.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/quant/integer_conv.hpp"
#include "kernels/quant/integer_gemm.hpp"
#include "kernels/quant/integer_output.hpp"
#include "kernels/quant/intra_op_threads.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::IntConvGeometry;
using quant::IntegerOperands;

constexpr int64_t kColumnBlock = 256;  // output positions per accumulator block: the block's columns stay in cache

// w - w_zero_point as int16, [M, K]: made once at load for constant weights, else per run in scratch.
template <class W>
void subtract_weight_zero_points(const W* w, const int32_t* w_zp, int64_t M, int64_t K, int16_t* out) {
    for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k)
            out[m * K + k] = static_cast<int16_t>(static_cast<int32_t>(w[m * K + k]) - w_zp[m]);
}

template <class X, class W, class Y>
class IntegerConvKernel final : public quant::IntegerProductKernel {
public:
    IntegerConvKernel(const IntConvGeometry& g, const IntegerOperands& in, int bias, int threads,
                      const KernelContext& ctx)
        : g_(g), in_(in), bias_(bias), threads_(std::max(1, threads)) {
        const int64_t M = g_.out_channels, K = g_.kdim();
        const bool zp_constant = !in_.w_q.has_zp || ctx.input(in_.w_q.zp_index).is_constant();
        if (ctx.input(in_.w).is_constant() && zp_constant) {
            std::vector<int32_t> w_zp(static_cast<size_t>(M));
            const void* zp = in_.w_q.has_zp ? ctx.input(in_.w_q.zp_index).data : nullptr;
            quant::load_zero_point_values(in_.w_q.zp_dtype, zp, in_.w_q.zp_count, w_zp.data(), M);
            prepared_ = AlignedBuffer(static_cast<size_t>(M * K) * sizeof(int16_t));
            subtract_weight_zero_points(static_cast<const W*>(ctx.input(in_.w).data), w_zp.data(), M, K,
                                        reinterpret_cast<int16_t*>(prepared_.data()));
        }
    }

    quant::Int8Backend backend() const override { return quant::Int8Backend::Exact; }

    size_t scratch_bytes() const override {
        const auto m = static_cast<size_t>(g_.out_channels), k = static_cast<size_t>(g_.kdim());
        const auto p = static_cast<size_t>(g_.window.out_size());
        return align_up(m * k * 2) + align_up(k * p * 2) + static_cast<size_t>(threads_) * align_up(kColumnBlock * 4) +
               3 * align_up(m * 4);
    }

    void run(const RunContext& ctx) const override {
        const int64_t M = g_.out_channels, K = g_.kdim(), P = g_.window.out_size();
        ScratchCursor scratch(ctx.scratch);
        auto* wq = scratch.take<int16_t>(static_cast<size_t>(M * K));
        auto* col = scratch.take<int16_t>(static_cast<size_t>(K * P));
        auto* accs = scratch.take<int32_t>(static_cast<size_t>(threads_) * align_up(kColumnBlock * 4) / 4);
        auto* multiplier = scratch.take<float>(static_cast<size_t>(M));
        auto* w_zp = scratch.take<int32_t>(static_cast<size_t>(M));
        auto* bias = scratch.take<int32_t>(static_cast<size_t>(M));

        int32_t x_zp = 0, y_zp = 0;
        in_.load(ctx.inputs, x_zp, y_zp, w_zp, multiplier);
        for (int64_t m = 0; m < M; ++m) bias[m] = bias_ >= 0 ? static_cast<const int32_t*>(ctx.inputs[bias_])[m] : 0;
        const int16_t* weights = reinterpret_cast<const int16_t*>(prepared_.data());
        if (!weights) {
            subtract_weight_zero_points(static_cast<const W*>(ctx.inputs[in_.w]), w_zp, M, K, wq);
            weights = wq;
        }

        const auto* x = static_cast<const X*>(ctx.inputs[in_.x]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        const int64_t cg = g_.in_channels / g_.groups, mg = M / g_.groups;
        const int64_t plane = g_.window.in_size();
        const int64_t blocks = (P + kColumnBlock - 1) / kColumnBlock;
        const size_t acc_stride = align_up(kColumnBlock * 4) / 4;
        for (int64_t n = 0; n < g_.batch; ++n)
            for (int64_t grp = 0; grp < g_.groups; ++grp) {
                im2col(x + (n * g_.in_channels + grp * cg) * plane, cg, x_zp, col);
                // Each (row, column block) is independent; the threads share the rows of the group.
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1 && mg * blocks > 1)
#endif
                for (int64_t task = 0; task < mg * blocks; ++task) {
                    const int64_t m = grp * mg + task / blocks, p0 = (task % blocks) * kColumnBlock;
                    const int64_t pb = std::min(kColumnBlock, P - p0);
                    int32_t* acc = accs + static_cast<size_t>(quant::intra_op_thread()) * acc_stride;
                    for (int64_t j = 0; j < pb; ++j) acc[j] = bias[m];
                    quant::accumulate_rows(acc, weights + m * K, col + p0, K, P, pb);
                    quant::write_products<Y>(acc, nullptr, multiplier + m, y_zp, y + (n * M + m) * P + p0, pb, 1);
                }
            }
    }

private:
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
    IntegerOperands in_;
    int bias_;
    int threads_;
    AlignedBuffer prepared_;  // constant weights minus their zero points, or empty
};

template <class Y>
std::unique_ptr<Kernel> make_for_types(const IntConvGeometry& g, const IntegerOperands& in, int bias,
                                       const KernelContext& ctx) {
    const int t = ctx.options().intra_op_threads;
    if (in.x_dtype == DT::Uint8) {
        if (in.w_dtype == DT::Uint8)
            return std::make_unique<IntegerConvKernel<uint8_t, uint8_t, Y>>(g, in, bias, t, ctx);
        return std::make_unique<IntegerConvKernel<uint8_t, int8_t, Y>>(g, in, bias, t, ctx);
    }
    if (in.w_dtype == DT::Uint8) return std::make_unique<IntegerConvKernel<int8_t, uint8_t, Y>>(g, in, bias, t, ctx);
    return std::make_unique<IntegerConvKernel<int8_t, int8_t, Y>>(g, in, bias, t, ctx);
}

// The oneDNN kernel when the CPU has VNNI and the node fits it, else the exact one.
std::unique_ptr<Kernel> make_integer_conv(const IntConvGeometry& g, const IntegerOperands& in, int bias,
                                          const KernelContext& ctx) {
    if (!ctx.options().reference_kernels && in.constant_symmetric_weights(ctx) &&
        shape_elements(ctx.outputs()[0].shape) > 0)
        if (auto k = quant::make_onednn_integer_conv(g, in, bias, ctx.input(in.w).data,
                                                        ctx.options().intra_op_threads)) return k;
    switch (in.y_dtype) {
        case DT::Uint8: return make_for_types<uint8_t>(g, in, bias, ctx);
        case DT::Int8: return make_for_types<int8_t>(g, in, bias, ctx);
        default: return make_for_types<int32_t>(g, in, bias, ctx);
    }
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
    g.channels_last_in = ctx.channels_last_input();
    g.channels_last_out = ctx.channels_last_output();
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
    return make_integer_conv(g, quant::check_integer_operands(ctx, g.out_channels, "x", "w"), -1, ctx);
}

std::unique_ptr<Kernel> make_qlinear_conv(KernelContext& ctx) {
    ctx.require_inputs(8, 9);
    ctx.require_outputs(1, 1);
    const IntConvGeometry g = conv_geometry(ctx, 0, 3, ctx.input(7).dtype);
    const IntegerOperands in = quant::check_qlinear_operands(ctx, g.out_channels, "QLinearConv", "x", "w");
    int bias = -1;
    if (ctx.has_input(8)) {
        ctx.require_dtype(8, {DT::Int32});
        if (ctx.input(8).shape != Shape{g.out_channels})
            ctx.fail("bias B " + shape_to_string(ctx.input(8).shape) + " must be [" + std::to_string(g.out_channels) +
                     "]");
        bias = 8;
    }
    return make_integer_conv(g, in, bias, ctx);
}

}  // namespace ezemu::kernels
