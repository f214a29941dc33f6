// Concat along one axis (negative counts from the end), for any fixed-size dtype.
#include <cstring>
#include <vector>

#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

class ConcatKernel final : public Kernel {
public:
    ConcatKernel(int64_t outer, std::vector<size_t> chunk_bytes) : outer_(outer), chunks_(std::move(chunk_bytes)) {}
    void run(const RunContext& ctx) const override {
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        for (int64_t o = 0; o < outer_; ++o)
            for (size_t i = 0; i < chunks_.size(); ++i) {
                const size_t n = chunks_[i];
                if (n == 0) continue;
                std::memcpy(y, static_cast<const uint8_t*>(ctx.inputs[i]) + static_cast<size_t>(o) * n, n);
                y += n;
            }
    }

private:
    int64_t outer_;
    std::vector<size_t> chunks_;  // bytes each input contributes per outer index
};

}  // namespace

std::unique_ptr<Kernel> make_concat(KernelContext& ctx) {
    ctx.require_inputs(1, ctx.input_count() ? ctx.input_count() : 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& first = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, first.dtype);
    const int64_t rank = static_cast<int64_t>(first.shape.size());
    if (rank == 0) ctx.fail("inputs must have rank 1 or more");
    if (ctx.opset() >= 4 && !ctx.has_attr("axis")) ctx.fail("attribute 'axis' is required");
    const size_t axis = static_cast<size_t>(ctx.normalize_axis(ctx.attr_int("axis", 1), rank));
    Shape y = first.shape;
    y[axis] = 0;
    int64_t outer = 1;
    for (size_t d = 0; d < axis; ++d) outer *= first.shape[d];
    std::vector<size_t> chunks;
    for (size_t i = 0; i < ctx.input_count(); ++i) {
        const ValueDesc& in = ctx.input(i);
        if (in.dtype != first.dtype) ctx.fail("input " + std::to_string(i) + " has another dtype than input 0");
        bool fits = in.shape.size() == first.shape.size();
        for (size_t d = 0; fits && d < in.shape.size(); ++d) fits = d == axis || in.shape[d] == first.shape[d];
        if (!fits)
            ctx.fail("input " + std::to_string(i) + " " + shape_to_string(in.shape) + " does not fit input 0 " +
                     shape_to_string(first.shape) + " on axis " + std::to_string(axis));
        y[axis] += in.shape[axis];
        int64_t inner = 1;
        for (size_t d = axis; d < in.shape.size(); ++d) inner *= in.shape[d];
        chunks.push_back(static_cast<size_t>(inner) * esize);
    }
    ctx.set_output(0, first.dtype, y);
    return std::make_unique<ConcatKernel>(outer, std::move(chunks));
}

}  // namespace ezemu::kernels
