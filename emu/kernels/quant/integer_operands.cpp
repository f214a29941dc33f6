#include "kernels/quant/integer_operands.hpp"

#include <cmath>

#include "kernels/quant/quant_params.hpp"
#include "kernels/quant/requantize.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels::quant {

using DT = onnx::DataType;

bool is_8bit(DT dtype) { return dtype == DT::Uint8 || dtype == DT::Int8; }

void check_positive_scales(const KernelContext& ctx, size_t scale_index, const char* what) {
    const ValueDesc& s = ctx.input(scale_index);
    if (!s.is_constant() || (s.dtype != DT::Float && s.dtype != DT::Float16)) return;
    const int64_t n = s.element_count();
    for (int64_t i = 0; i < n; ++i) {
        const float v = s.dtype == DT::Float ? static_cast<const float*>(s.data)[i]
                                             : numerics::half_to_float(static_cast<const uint16_t*>(s.data)[i]);
        if (!(v > 0.0f) || !std::isfinite(v))
            ctx.fail(std::string("the ") + what + " scale (input " + std::to_string(scale_index) + ") holds " +
                     std::to_string(v) + " at index " + std::to_string(i) +
                     ": a quantization scale must be positive and finite; re-quantize the model");
    }
}

int64_t check_zero_point(const KernelContext& ctx, size_t zp_index, DT dtype, int64_t per_channel, const char* what) {
    if (!ctx.has_input(zp_index)) return 0;
    const ValueDesc& z = ctx.input(zp_index);
    if (z.dtype != dtype)
        ctx.fail(std::string("the ") + what + " zero point (input " + std::to_string(zp_index) + ") is " +
                 onnx::data_type_name(z.dtype) + " but " + what + " is " + onnx::data_type_name(dtype) +
                 "; they must match");
    const int64_t n = z.element_count();
    if (z.shape.size() > 1 || (n != 1 && n != per_channel))
        ctx.fail(std::string("the ") + what + " zero point (input " + std::to_string(zp_index) + ") has shape " +
                 shape_to_string(z.shape) + "; expected a scalar" +
                 (per_channel > 1 ? " or [" + std::to_string(per_channel) + "] (one per channel)" : std::string()));
    return n;
}

QuantOperand check_scale_operand(const KernelContext& ctx, size_t scale_index, size_t zp_index, DT dtype,
                                 int64_t per_channel, const char* what) {
    QuantOperand op;
    op.scale_index = scale_index;
    op.zp_index = zp_index;
    const ValueDesc& s = ctx.input(scale_index);
    if (s.dtype != DT::Float && s.dtype != DT::Float16)
        ctx.fail(std::string("the ") + what + " scale (input " + std::to_string(scale_index) + ") has dtype " +
                 onnx::data_type_name(s.dtype) + " (supported: float32, float16)");
    op.scale_dtype = s.dtype;
    op.count = s.element_count();
    if (s.shape.size() > 1 || (op.count != 1 && op.count != per_channel))
        ctx.fail(std::string("the ") + what + " scale (input " + std::to_string(scale_index) + ") has shape " +
                 shape_to_string(s.shape) + "; expected a scalar" +
                 (per_channel > 1 ? " or [" + std::to_string(per_channel) + "] (one per channel)" : std::string()));
    check_positive_scales(ctx, scale_index, what);
    const int64_t zn = check_zero_point(ctx, zp_index, dtype, per_channel, what);
    if (zn > 0 && zn != op.count && zn != 1)
        ctx.fail(std::string("the ") + what + " zero point has " + std::to_string(zn) + " values but the scale " +
                 std::to_string(op.count));
    op.has_zp = zn > 0;
    op.zp_count = zn;
    op.zp_dtype = op.has_zp ? dtype : DT::Undefined;
    return op;
}

void load_zero_point_values(DT dtype, const void* src, int64_t src_count, int32_t* dst, int64_t count) {
    if (!src || src_count == 0) {
        for (int64_t i = 0; i < count; ++i) dst[i] = 0;
        return;
    }
    load_zero_points(dtype, src, dst, src_count);
    for (int64_t i = src_count; i < count; ++i) dst[i] = dst[0];
}

void load_operand(const QuantOperand& op, const void* const* inputs, float* scale, int32_t* zp, int64_t count) {
    load_scales(op.scale_dtype, inputs[op.scale_index], scale, op.count);
    for (int64_t i = op.count; i < count; ++i) scale[i] = scale[0];
    load_zero_point_values(op.zp_dtype, op.has_zp ? inputs[op.zp_index] : nullptr, op.zp_count, zp, count);
}

IntegerOperands check_qlinear_operands(const KernelContext& ctx, int64_t channels, const char* op, const char* x_name,
                                       const char* w_name, bool float_output_allowed) {
    IntegerOperands in;
    in.qlinear = true;
    in.x = 0;
    in.w = 3;
    in.channels = channels;
    in.x_dtype = ctx.input(0).dtype;
    in.w_dtype = ctx.input(3).dtype;
    in.x_q = check_scale_operand(ctx, 1, 2, in.x_dtype, 1, x_name);
    in.w_q = check_scale_operand(ctx, 4, 5, in.w_dtype, channels, w_name);
    if (float_output_allowed && !ctx.has_input(6) && !ctx.has_input(7)) {
        in.y_dtype = DT::Float;
        return in;
    }
    in.y_dtype = ctx.input(7).dtype;
    if (!is_8bit(in.y_dtype))
        ctx.fail(std::string("the y zero point (input 7) is ") + onnx::data_type_name(in.y_dtype) + "; " + op +
                 " outputs uint8 or int8");
    in.y_q = check_scale_operand(ctx, 6, 7, in.y_dtype, 1, "y");
    return in;
}

IntegerOperands check_integer_operands(const KernelContext& ctx, int64_t channels, const char* x_name,
                                       const char* w_name) {
    IntegerOperands in;
    in.channels = channels;
    in.x_dtype = ctx.input(0).dtype;
    in.w_dtype = ctx.input(1).dtype;
    in.x_q.zp_index = 2;
    in.x_q.zp_count = check_zero_point(ctx, 2, in.x_dtype, 1, x_name);
    in.x_q.has_zp = in.x_q.zp_count > 0;
    in.x_q.zp_dtype = in.x_dtype;
    in.w_q.zp_index = 3;
    in.w_q.zp_count = check_zero_point(ctx, 3, in.w_dtype, channels, w_name);
    in.w_q.has_zp = in.w_q.zp_count > 0;
    in.w_q.zp_dtype = in.w_dtype;
    return in;
}

void IntegerOperands::load(const void* const* inputs, int32_t& x_zp, int32_t& y_zp, int32_t* w_zp, float* multiplier,
                           float alpha) const {
    if (!qlinear) {
        y_zp = 0;
        load_zero_point_values(x_q.zp_dtype, x_q.has_zp ? inputs[x_q.zp_index] : nullptr, x_q.zp_count, &x_zp, 1);
        load_zero_point_values(w_q.zp_dtype, w_q.has_zp ? inputs[w_q.zp_index] : nullptr, w_q.zp_count, w_zp,
                               channels);
        for (int64_t c = 0; c < channels; ++c) multiplier[c] = 1.0f;
        return;
    }
    float x_scale = 0, y_scale = 1;
    load_operand(x_q, inputs, &x_scale, &x_zp, 1);
    if (y_dtype == DT::Float) y_zp = 0;  // QGemm's float output: no y scale (x / 1 is exact)
    else load_operand(y_q, inputs, &y_scale, &y_zp, 1);
    load_operand(w_q, inputs, multiplier, w_zp, channels);  // w's scales, turned into multipliers in place
    for (int64_t c = 0; c < channels; ++c) multiplier[c] = gemm_multiplier(alpha, x_scale, multiplier[c], y_scale);
}

bool IntegerOperands::constant_symmetric_weights(const KernelContext& ctx) const {
    if (!ctx.input(w).is_constant()) return false;
    if (!w_q.has_zp) return true;
    const ValueDesc& z = ctx.input(w_q.zp_index);
    if (!z.is_constant()) return false;
    const auto* bytes = static_cast<const uint8_t*>(z.data);
    for (size_t i = 0; i < z.byte_size(); ++i)
        if (bytes[i] != 0) return false;
    return true;
}

}  // namespace ezemu::kernels::quant
