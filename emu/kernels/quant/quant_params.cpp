#include "kernels/quant/quant_params.hpp"

#include "numerics/fp16.hpp"

namespace ezemu::kernels::quant {

namespace {

using DT = onnx::DataType;

template <class T>
void widen(const void* src, int32_t* dst, int64_t count) {
    const auto* s = static_cast<const T*>(src);
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<int32_t>(s[i]);
}

}  // namespace

QuantParamLayout quant_param_layout(const KernelContext& ctx) {
    const ValueDesc& x = ctx.input(0);
    const ValueDesc& scale = ctx.input(1);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t block_size = ctx.opset() >= 21 ? ctx.attr_int("block_size", 0) : 0;
    if (block_size < 0) ctx.fail("block_size must not be negative, got " + std::to_string(block_size));

    QuantParamLayout q;
    q.inner = x.element_count();
    const bool scalar_scale = scale.shape.size() <= 1 && scale.element_count() == 1;
    if (block_size == 0 && scalar_scale) {
        q.mode = QuantParamLayout::Mode::PerTensor;
    } else {
        if (ctx.opset() < 13) ctx.fail("the scale must be a scalar before opset 13, got " + shape_to_string(scale.shape));
        const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 1), rank);
        for (int64_t d = 0; d < axis; ++d) q.outer *= x.shape[static_cast<size_t>(d)];
        q.axis_dim = x.shape[static_cast<size_t>(axis)];
        q.inner = 1;
        for (int64_t d = axis + 1; d < rank; ++d) q.inner *= x.shape[static_cast<size_t>(d)];
        if (block_size == 0) {
            if (scale.shape.size() != 1 || scale.shape[0] != q.axis_dim)
                ctx.fail("a per-axis scale must be 1-D with " + std::to_string(q.axis_dim) + " elements (x dim " +
                         std::to_string(axis) + "), got " + shape_to_string(scale.shape));
            q.mode = QuantParamLayout::Mode::PerAxis;
            q.param_count = q.axis_dim;
        } else {
            Shape expect = x.shape;
            q.block_size = block_size;
            q.blocks = (q.axis_dim + block_size - 1) / block_size;
            expect[static_cast<size_t>(axis)] = q.blocks;
            if (scale.shape != expect)
                ctx.fail("a blocked scale (block_size " + std::to_string(block_size) + ") must have shape " +
                         shape_to_string(expect) + ", got " + shape_to_string(scale.shape));
            q.mode = QuantParamLayout::Mode::Blocked;
            q.param_count = q.outer * q.blocks * q.inner;
        }
    }
    if (ctx.has_input(2) && ctx.input(2).shape != scale.shape && !(scalar_scale && ctx.input(2).element_count() == 1))
        ctx.fail("the zero point's shape " + shape_to_string(ctx.input(2).shape) + " differs from the scale's " +
                 shape_to_string(scale.shape));
    return q;
}

void check_scale_dtype(const KernelContext& ctx) {
    const DT t = ctx.input(1).dtype;
    if (t != DT::Float && t != DT::Float16)
        ctx.fail(std::string("scale dtype ") + onnx::data_type_name(t) +
                 " is not supported (supported: float32, float16)");
}

void load_scales(DT dtype, const void* src, float* dst, int64_t count) {
    if (dtype == DT::Float16) {
        const auto* s = static_cast<const uint16_t*>(src);
        for (int64_t i = 0; i < count; ++i) dst[i] = numerics::half_to_float(s[i]);
    } else {
        const auto* s = static_cast<const float*>(src);
        for (int64_t i = 0; i < count; ++i) dst[i] = s[i];
    }
}

void load_zero_points(DT dtype, const void* src, int32_t* dst, int64_t count) {
    switch (dtype) {
        case DT::Uint8: widen<uint8_t>(src, dst, count); break;
        case DT::Int8: widen<int8_t>(src, dst, count); break;
        case DT::Uint16: widen<uint16_t>(src, dst, count); break;
        case DT::Int16: widen<int16_t>(src, dst, count); break;
        case DT::Int32: widen<int32_t>(src, dst, count); break;
        default:
            for (int64_t i = 0; i < count; ++i) dst[i] = 0;
            break;
    }
}

}  // namespace ezemu::kernels::quant
