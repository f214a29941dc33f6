// Constant (folded at load time, like every node whose inputs are all known) and Identity (a view).
#include <cstring>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

class ConstantKernel final : public Kernel {
public:
    ConstantKernel(const void* data, size_t bytes) : value_(data, bytes) {}
    void run(const RunContext& ctx) const override {
        if (value_.size()) std::memcpy(ctx.outputs[0], value_.data(), value_.size());
    }

private:
    AlignedBuffer value_;
};

}  // namespace

std::unique_ptr<Kernel> make_constant(KernelContext& ctx) {
    using AT = onnx::AttributeType;
    ctx.require_inputs(0, 0);
    ctx.require_outputs(1, 1);
    const onnx::Node& node = ctx.node();
    if (node.attributes.size() != 1)
        ctx.fail("needs exactly one value attribute, got " + std::to_string(node.attributes.size()));
    const onnx::Attribute& a = node.attributes.front();
    if (a.name == "value") {
        const onnx::Tensor& t = ctx.attribute("value", AT::Tensor)->t;
        if (t.external) ctx.fail("its tensor uses external data, which is not supported yet");
        const size_t esize = element_size_or_fail(ctx, t.data_type);
        const size_t bytes = static_cast<size_t>(t.element_count()) * esize;
        if (t.byte_size() != bytes)
            ctx.fail("tensor holds " + std::to_string(t.byte_size()) + " bytes, its dims " + shape_to_string(t.dims) +
                     " need " + std::to_string(bytes));
        ctx.set_output(0, t.data_type, t.dims);
        return std::make_unique<ConstantKernel>(t.data(), bytes);
    }
    if (a.name == "value_float") {
        const float v = ctx.attribute("value_float", AT::Float)->f;
        ctx.set_output(0, onnx::DataType::Float, {});
        return std::make_unique<ConstantKernel>(&v, sizeof v);
    }
    if (a.name == "value_floats") {
        const std::vector<float>& v = ctx.attribute("value_floats", AT::Floats)->floats;
        ctx.set_output(0, onnx::DataType::Float, {static_cast<int64_t>(v.size())});
        return std::make_unique<ConstantKernel>(v.data(), v.size() * sizeof(float));
    }
    if (a.name == "value_int") {
        const int64_t v = ctx.attribute("value_int", AT::Int)->i;
        ctx.set_output(0, onnx::DataType::Int64, {});
        return std::make_unique<ConstantKernel>(&v, sizeof v);
    }
    if (a.name == "value_ints") {
        const std::vector<int64_t>& v = ctx.attribute("value_ints", AT::Ints)->ints;
        ctx.set_output(0, onnx::DataType::Int64, {static_cast<int64_t>(v.size())});
        return std::make_unique<ConstantKernel>(v.data(), v.size() * sizeof(int64_t));
    }
    if (a.name == "value_string" || a.name == "value_strings")
        ctx.fail("string constants ('" + a.name + "') are not supported: the RKNN ABI carries no strings");
    ctx.fail("attribute '" + a.name + "' is not supported (sparse constants are not)");
}

std::unique_ptr<Kernel> make_identity(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    element_size_or_fail(ctx, x.dtype);
    ctx.set_output(0, x.dtype, x.shape);
    return make_view_kernel(x.byte_size());
}

}  // namespace ezemu::kernels
