// QLinearGlobalAveragePool and QLinearAveragePool: what the QDQ fusion (graph/qdq_finder.hpp) makes of
// DequantizeLinear -> GlobalAveragePool / AveragePool -> QuantizeLinear, with onnxruntime's arithmetic for its
// contrib ops of those names (requantize.hpp). Inputs: x, x_scale, x_zero_point, y_scale, y_zero_point, all per
// tensor, x and y of one 8-bit type; NCHW, 1-D to 3-D.
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/nn/window.hpp"
#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/requantize.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;

// onnxruntime refuses planes of 2^24 codes or more; below 2^23 the int32 sum of codes minus zero points cannot wrap.
constexpr int64_t kMaxPlane = int64_t{1} << 23;

struct PoolOperands {
    quant::QuantOperand x, y;

    void load(const void* const* inputs, float& xs, int32_t& xz, float& ys, int32_t& yz) const {
        quant::load_operand(x, inputs, &xs, &xz, 1);
        quant::load_operand(y, inputs, &ys, &yz, 1);
    }
};

// Checks what both ops share: 5 inputs, x and y zero points of one 8-bit type, per-tensor scales, rank 3 to 5.
PoolOperands check_pool_operands(KernelContext& ctx) {
    ctx.require_inputs(5, 5);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Uint8, DT::Int8});
    const DT dtype = ctx.input(0).dtype;
    if (!ctx.has_input(4)) ctx.fail("the y zero point (input 4) is required: it gives the output type");
    ctx.require_dtype(4, {dtype});
    PoolOperands op{quant::check_scale_operand(ctx, 1, 2, dtype, 1, "x"),
                    quant::check_scale_operand(ctx, 3, 4, dtype, 1, "y")};
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3 || x.size() > 5)
        ctx.fail("input X has rank " + std::to_string(x.size()) + "; pooling supports 1-D to 3-D (rank 3 to 5)");
    return op;
}

// Int32 sums of each plane's codes, requantized once.
template <class Q>
class QLinearGlobalAveragePoolKernel final : public Kernel {
public:
    QLinearGlobalAveragePoolKernel(int64_t planes, int64_t plane_size, PoolOperands op)
        : planes_(planes), plane_(plane_size), op_(op) {}

    void run(const RunContext& ctx) const override {
        float xs = 0, ys = 0;
        int32_t xz = 0, yz = 0;
        op_.load(ctx.inputs, xs, xz, ys, yz);
        const float multiplier = plane_ > 0 ? quant::global_average_multiplier(xs, ys, plane_) : 0.0f;
        const int32_t start = -xz * static_cast<int32_t>(plane_);
        const auto* x = static_cast<const Q*>(ctx.inputs[0]);
        auto* y = static_cast<Q*>(ctx.outputs[0]);
        for (int64_t p = 0; p < planes_; ++p) {
            const Q* xp = x + p * plane_;
            int32_t sum = start;
            for (int64_t i = 0; i < plane_; ++i) sum += xp[i];
            y[p] = quant::requantize<Q>(sum, multiplier, yz);
        }
    }

private:
    int64_t planes_, plane_;
    PoolOperands op_;
};

// What QLinearAveragePool's run needs from the scales and zero points: the dequantized value of every code.
struct MeanRule {
    std::array<float, 256> value{};  // indexed by code - the type's minimum
    float y_scale = 1.0f, y_zero_point = 0.0f;
};

template <class Q>
MeanRule make_mean_rule(const PoolOperands& op, const void* const* inputs) {
    float xs = 0, ys = 0;
    int32_t xz = 0, yz = 0;
    op.load(inputs, xs, xz, ys, yz);
    MeanRule r;
    constexpr int32_t lo = std::numeric_limits<Q>::min();
    for (int32_t c = 0; c < 256; ++c) r.value[static_cast<size_t>(c)] = static_cast<float>(c + lo - xz) * xs;
    r.y_scale = ys;
    r.y_zero_point = static_cast<float>(yz);
    return r;
}

// onnxruntime's float arithmetic (requantize.hpp, quantize_mean): the dequantized taps summed in window order.
template <class Q>
class QLinearAveragePoolKernel final : public Kernel {
public:
    QLinearAveragePoolKernel(int64_t planes, const Window3d& w, bool count_include_pad, PoolOperands op,
                             const KernelContext& ctx)
        : planes_(planes), w_(w), op_(op), count_(static_cast<size_t>(w.out_size())) {
        for (int64_t od = 0, o = 0; od < w_.out[0]; ++od)
            for (int64_t oh = 0; oh < w_.out[1]; ++oh)
                for (int64_t ow = 0; ow < w_.out[2]; ++ow, ++o)
                    count_[static_cast<size_t>(o)] = static_cast<float>(w_.average_count({od, oh, ow}, count_include_pad));
        constant_ = true;
        std::array<const void*, 5> inputs{};
        for (size_t i = 1; i < inputs.size(); ++i) {
            if (!ctx.has_input(i)) continue;
            constant_ = constant_ && ctx.input(i).is_constant();
            inputs[i] = ctx.input(i).data;
        }
        if (constant_) rule_ = make_mean_rule<Q>(op_, inputs.data());
    }

    void run(const RunContext& ctx) const override {
        MeanRule run_time;
        if (!constant_) run_time = make_mean_rule<Q>(op_, ctx.inputs);
        const MeanRule& r = constant_ ? rule_ : run_time;
        constexpr int32_t lo = std::numeric_limits<Q>::min();
        const auto* x = static_cast<const Q*>(ctx.inputs[0]);
        auto* y = static_cast<Q*>(ctx.outputs[0]);
        const int64_t in_size = w_.in_size(), out_size = w_.out_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const Q* xp = x + p * in_size;
            Q* yp = y + p * out_size;
            for (int64_t od = 0, o = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh)
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow, ++o) {
                        float sum = 0.0f;
                        w_.for_each_tap(xp, {od, oh, ow}, [&](int64_t, int64_t, int64_t, Q v) {
                            sum += r.value[static_cast<size_t>(static_cast<int32_t>(v) - lo)];
                        });
                        const float count = count_[static_cast<size_t>(o)];
                        const float mean = count > 0.0f ? sum / count : 0.0f;
                        yp[o] = quant::quantize_mean<Q>(mean, r.y_scale, r.y_zero_point);
                    }
        }
    }

private:
    int64_t planes_;
    Window3d w_;
    PoolOperands op_;
    std::vector<float> count_;  // the divisor of each output position
    bool constant_ = false;     // scales and zero points are constants: rule_ holds them
    MeanRule rule_;
};

}  // namespace

std::unique_ptr<Kernel> make_qlinear_global_average_pool(KernelContext& ctx) {
    const PoolOperands op = check_pool_operands(ctx);
    const Shape& x = ctx.input(0).shape;
    Shape y(x.size(), 1);
    y[0] = x[0];
    y[1] = x[1];
    ctx.set_output(0, ctx.input(0).dtype, y);
    const int64_t planes = x[0] * x[1];
    int64_t plane = 1;
    for (size_t d = 2; d < x.size(); ++d) plane *= x[d];
    if (plane >= kMaxPlane)
        ctx.fail("a plane of " + std::to_string(plane) + " elements exceeds the int32 accumulator (at most " +
                 std::to_string(kMaxPlane - 1) + ")");
    if (ctx.input(0).dtype == DT::Uint8)
        return std::make_unique<QLinearGlobalAveragePoolKernel<uint8_t>>(planes, plane, op);
    return std::make_unique<QLinearGlobalAveragePoolKernel<int8_t>>(planes, plane, op);
}

std::unique_ptr<Kernel> make_qlinear_average_pool(KernelContext& ctx) {
    const PoolOperands op = check_pool_operands(ctx);
    const Shape& x = ctx.input(0).shape;
    for (int64_t d : ctx.attr_ints("dilations"))  // onnxruntime's QLinearAveragePool has none
        if (d != 1) ctx.fail("attribute 'dilations' is not supported (got " + std::to_string(d) + ")");
    WindowSpec spec = parse_window(ctx, x.size() - 2, {}, true, false);
    std::vector<int64_t> in(x.begin() + 2, x.end());
    std::vector<int64_t> out = resolve_window(ctx, in, spec);
    Shape y{x[0], x[1]};
    y.insert(y.end(), out.begin(), out.end());
    ctx.set_output(0, ctx.input(0).dtype, y);
    const int64_t c = ctx.attr_int("count_include_pad", 0);
    if (c != 0 && c != 1) ctx.fail("attribute 'count_include_pad' must be 0 or 1, got " + std::to_string(c));
    const Window3d w = to_window3d(in, out, spec);
    if (ctx.input(0).dtype == DT::Uint8)
        return std::make_unique<QLinearAveragePoolKernel<uint8_t>>(x[0] * x[1], w, c == 1, op, ctx);
    return std::make_unique<QLinearAveragePoolKernel<int8_t>>(x[0] * x[1], w, c == 1, op, ctx);
}

}  // namespace ezemu::kernels
