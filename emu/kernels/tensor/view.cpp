#include "kernels/tensor/view.hpp"

#include <cstring>

namespace ezemu::kernels {

namespace {

class ViewKernel final : public Kernel {
public:
    explicit ViewKernel(size_t bytes) : bytes_(bytes) {}
    int aliased_input() const override { return 0; }
    void run(const RunContext& ctx) const override {
        if (ctx.outputs[0] != ctx.inputs[0] && bytes_) std::memcpy(ctx.outputs[0], ctx.inputs[0], bytes_);
    }

private:
    size_t bytes_;
};

}  // namespace

std::unique_ptr<Kernel> make_view_kernel(size_t bytes) { return std::make_unique<ViewKernel>(bytes); }

size_t element_size_or_fail(const KernelContext& ctx, onnx::DataType dtype) {
    const size_t size = onnx::data_type_size(dtype);
    if (size == 0) ctx.fail(std::string("dtype ") + onnx::data_type_name(dtype) + " is not supported");
    return size;
}

}  // namespace ezemu::kernels
