// Ops whose result follows from shapes alone (Shape, Size, EyeLike) or from a constant shape (ConstantOfShape).
// The first three are computed at load time even when their input is a graph input: the NPU's shapes are static.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

// Writes a fixed value computed at load time; the input's data is never read.
class ValueKernel final : public Kernel {
public:
    ValueKernel(const void* data, size_t bytes, bool from_shapes) : value_(data, bytes), from_shapes_(from_shapes) {}
    void run(const RunContext& ctx) const override {
        if (value_.size()) std::memcpy(ctx.outputs[0], value_.data(), value_.size());
    }
    bool output_from_shapes_only() const override { return from_shapes_; }

private:
    AlignedBuffer value_;
    bool from_shapes_;
};

// Fills the output with `count` copies of one element.
class FillKernel final : public Kernel {
public:
    FillKernel(const void* element, size_t esize, int64_t count) : esize_(esize), count_(count) {
        std::memcpy(element_, element, esize);
    }
    void run(const RunContext& ctx) const override {
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        for (int64_t i = 0; i < count_; ++i) std::memcpy(y + static_cast<size_t>(i) * esize_, element_, esize_);
    }

private:
    uint8_t element_[8] = {};
    size_t esize_;
    int64_t count_;
};

// The element `1` (or `true`) of a dtype, as bytes; false for dtypes EyeLike cannot produce.
bool one_of(onnx::DataType dtype, uint8_t (&bytes)[8]) {
    using DT = onnx::DataType;
    std::memset(bytes, 0, sizeof bytes);
    switch (dtype) {
        case DT::Float: {
            const float one = 1.0f;
            std::memcpy(bytes, &one, sizeof one);
            return true;
        }
        case DT::Double: {
            const double one = 1.0;
            std::memcpy(bytes, &one, sizeof one);
            return true;
        }
        case DT::Float16: {
            const uint16_t one = numerics::float_to_half(1.0f);
            std::memcpy(bytes, &one, sizeof one);
            return true;
        }
        case DT::Int8: case DT::Uint8: case DT::Int16: case DT::Uint16: case DT::Int32: case DT::Uint32:
        case DT::Int64: case DT::Uint64: case DT::Bool:
            bytes[0] = 1;  // little-endian integers
            return true;
        default: return false;
    }
}

}  // namespace

std::unique_ptr<Kernel> make_shape(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const Shape& s = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    int64_t start = 0, end = rank;
    if (ctx.opset() >= 15) {
        // Out-of-range start/end clamp to [0, rank]; start > end gives an empty shape.
        auto clamp = [rank](int64_t v) { return std::min(std::max(v < 0 ? v + rank : v, int64_t{0}), rank); };
        start = clamp(ctx.attr_int("start", 0));
        end = clamp(ctx.attr_int("end", rank));
    }
    std::vector<int64_t> dims;
    for (int64_t d = start; d < end; ++d) dims.push_back(s[static_cast<size_t>(d)]);
    ctx.set_output(0, onnx::DataType::Int64, {static_cast<int64_t>(dims.size())});
    return std::make_unique<ValueKernel>(dims.data(), dims.size() * sizeof(int64_t), true);
}

std::unique_ptr<Kernel> make_size(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const int64_t n = ctx.input(0).element_count();
    ctx.set_output(0, onnx::DataType::Int64, {});
    return std::make_unique<ValueKernel>(&n, sizeof n, true);
}

std::unique_ptr<Kernel> make_eye_like(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    if (x.shape.size() != 2) ctx.fail("input must be 2-D, got " + shape_to_string(x.shape));
    const auto dtype = static_cast<onnx::DataType>(ctx.attr_int("dtype", static_cast<int64_t>(x.dtype)));
    uint8_t one[8];
    if (!one_of(dtype, one)) ctx.fail(std::string("output dtype ") + onnx::data_type_name(dtype) + " is not supported");
    const size_t esize = onnx::data_type_size(dtype);
    const int64_t rows = x.shape[0], cols = x.shape[1], k = ctx.attr_int("k", 0);
    std::vector<uint8_t> value(static_cast<size_t>(rows * cols) * esize, 0);
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r + k;
        if (c >= 0 && c < cols) std::memcpy(value.data() + static_cast<size_t>(r * cols + c) * esize, one, esize);
    }
    ctx.set_output(0, dtype, x.shape);
    return std::make_unique<ValueKernel>(value.data(), value.size(), true);
}

std::unique_ptr<Kernel> make_constant_of_shape(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    if (ctx.input(0).shape.size() != 1)
        ctx.fail("the shape input must be 1-D, got " + shape_to_string(ctx.input(0).shape));
    if (!ctx.input(0).is_constant())
        ctx.fail("its shape input '" + ctx.node().inputs[0] + "' must be a constant: the NPU needs static shapes");
    const Shape shape = ctx.constant_ints(0);
    for (int64_t d : shape)
        if (d < 0) ctx.fail("shape " + shape_to_string(shape) + " has a negative dim");
    uint8_t element[8] = {};
    onnx::DataType dtype = onnx::DataType::Float;
    if (const onnx::Attribute* a = ctx.attribute("value", onnx::AttributeType::Tensor)) {
        const onnx::Tensor& t = a->t;
        if (t.external) ctx.fail("its value tensor uses external data, which is not supported");
        const size_t esize = element_size_or_fail(ctx, t.data_type);
        if (t.element_count() != 1 || t.byte_size() != esize)
            ctx.fail("attribute 'value' must hold exactly one element, got dims " + shape_to_string(t.dims));
        if (esize > sizeof element) ctx.fail("attribute 'value' has an unsupported dtype");
        dtype = t.data_type;
        std::memcpy(element, t.data(), esize);
    }
    ctx.set_output(0, dtype, shape);
    return std::make_unique<FillKernel>(element, onnx::data_type_size(dtype), shape_elements(shape));
}

}  // namespace ezemu::kernels
