// QLinearAdd and QLinearMul: what the QDQ fusion (graph/qdq_fusion.hpp) makes of DequantizeLinear -> Add / Mul ->
// QuantizeLinear, with onnxruntime's arithmetic for them (requantize.hpp's AddRule / MulRule) and numpy
// broadcasting. Inputs as onnxruntime's contrib ops: a, a_scale, a_zero_point, b, b_scale, b_zero_point,
// y_scale, y_zero_point; all per tensor, one 8-bit type.
#include "kernels/broadcast.hpp"
#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/qlinear_binary_rows.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;

template <class Rule, class Q>
class QLinearBinaryKernel final : public Kernel {
public:
    QLinearBinaryKernel(const BinaryBroadcast& walk, quant::QuantOperand aq, quant::QuantOperand bq,
                        quant::QuantOperand yq, bool same_shapes)
        : walk_(walk), a_(aq), b_(bq), y_(yq), same_shapes_(same_shapes) {}

    bool elementwise() const override { return same_shapes_; }

    void run(const RunContext& ctx) const override {
        float sa = 0, sb = 0, sy = 0;
        int32_t za = 0, zb = 0, zy = 0;
        quant::load_operand(a_, ctx.inputs, &sa, &za, 1);
        quant::load_operand(b_, ctx.inputs, &sb, &zb, 1);
        quant::load_operand(y_, ctx.inputs, &sy, &zy, 1);
        const Rule rule(sa, za, sb, zb, sy, zy);
        const auto* a = static_cast<const Q*>(ctx.inputs[0]);
        const auto* b = static_cast<const Q*>(ctx.inputs[3]);
        auto* y = static_cast<Q*>(ctx.outputs[0]);
        walk_.for_each_row([&](int64_t ao, int64_t bo, int64_t yo) {
            quant::binary_row(rule, a + ao, walk_.a_inner_scalar, b + bo, walk_.b_inner_scalar, y + yo, walk_.inner);
        });
    }

private:
    BinaryBroadcast walk_;
    quant::QuantOperand a_, b_, y_;
    bool same_shapes_;
};

template <class Rule>
std::unique_ptr<Kernel> make_qlinear_binary(KernelContext& ctx) {
    ctx.require_inputs(8, 8);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Uint8, DT::Int8});
    const DT dtype = ctx.input(0).dtype;
    ctx.require_dtype(3, {dtype});
    const Shape& a = ctx.input(0).shape;
    const Shape& b = ctx.input(3).shape;
    std::optional<Shape> y = broadcast_shapes(a, b);
    if (!y) ctx.fail("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    const quant::QuantOperand aq = quant::check_scale_operand(ctx, 1, 2, dtype, 1, "a");
    const quant::QuantOperand bq = quant::check_scale_operand(ctx, 4, 5, dtype, 1, "b");
    const quant::QuantOperand yq = quant::check_scale_operand(ctx, 6, 7, dtype, 1, "y");
    if (!ctx.has_input(7)) ctx.fail("the y zero point (input 7) is required: it gives the output type");
    ctx.require_dtype(7, {dtype});
    ctx.set_output(0, dtype, *y);
    const BinaryBroadcast walk(a, b, *y);
    const bool same = a == *y && b == *y;
    if (dtype == DT::Uint8) return std::make_unique<QLinearBinaryKernel<Rule, uint8_t>>(walk, aq, bq, yq, same);
    return std::make_unique<QLinearBinaryKernel<Rule, int8_t>>(walk, aq, bq, yq, same);
}

}  // namespace

std::unique_ptr<Kernel> make_qlinear_add(KernelContext& ctx) { return make_qlinear_binary<quant::AddRule>(ctx); }
std::unique_ptr<Kernel> make_qlinear_mul(KernelContext& ctx) { return make_qlinear_binary<quant::MulRule>(ctx); }

}  // namespace ezemu::kernels
