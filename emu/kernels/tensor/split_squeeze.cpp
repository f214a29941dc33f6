// Split (chunks along one axis into several outputs), and Squeeze / Unsqueeze (views that drop or add dims of 1).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

class SplitKernel final : public Kernel {
public:
    SplitKernel(int64_t outer, size_t row_bytes, std::vector<size_t> chunk_bytes)
        : outer_(outer), row_bytes_(row_bytes), chunks_(std::move(chunk_bytes)) {}
    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        for (int64_t o = 0; o < outer_; ++o) {
            const uint8_t* src = x + static_cast<size_t>(o) * row_bytes_;
            for (size_t i = 0; i < chunks_.size(); ++i) {
                const size_t n = chunks_[i];
                if (n && ctx.outputs[i]) std::memcpy(static_cast<uint8_t*>(ctx.outputs[i]) + static_cast<size_t>(o) * n, src, n);
                src += n;
            }
        }
    }

private:
    int64_t outer_;
    size_t row_bytes_;
    std::vector<size_t> chunks_;  // bytes each output takes from one outer row
};

// Axes from the attribute (before opset 13) or from the optional constant input 1; `given` tells whether any.
std::vector<int64_t> axes_argument(KernelContext& ctx, bool& given) {
    if (ctx.opset() < 13) {
        given = ctx.has_attr("axes");
        return ctx.attr_ints("axes");
    }
    given = ctx.has_input(1);
    if (!given) return {};
    const ValueDesc& a = ctx.input(1);
    if (a.shape.size() > 1) ctx.fail("the axes input must be 1-D, got " + shape_to_string(a.shape));
    if (!a.is_constant())
        ctx.fail("its axes input '" + ctx.node().inputs[1] + "' must be a constant: the NPU needs static shapes");
    return ctx.constant_ints(1);
}

}  // namespace

std::unique_ptr<Kernel> make_split(KernelContext& ctx) {
    ctx.require_inputs(1, ctx.opset() >= 13 ? 2 : 1);
    const size_t n_out = ctx.output_count();
    if (n_out == 0) ctx.fail("has no outputs");
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    if (rank == 0) ctx.fail("input must have rank 1 or more");
    const size_t axis = static_cast<size_t>(ctx.normalize_axis(ctx.attr_int("axis", 0), rank));
    const int64_t dim = x.shape[axis];
    std::vector<int64_t> split;
    if (ctx.opset() >= 13 && ctx.has_input(1)) {
        if (!ctx.input(1).is_constant())
            ctx.fail("its split input '" + ctx.node().inputs[1] + "' must be a constant: the NPU needs static shapes");
        if (ctx.opset() >= 18 && ctx.has_attr("num_outputs"))
            ctx.fail("takes either the split input or attribute 'num_outputs', not both");
        split = ctx.constant_ints(1);
    } else if (ctx.opset() < 13 && ctx.has_attr("split")) {
        split = ctx.attr_ints("split");
    } else {
        int64_t parts = static_cast<int64_t>(n_out);
        if (ctx.opset() >= 18 && ctx.has_attr("num_outputs")) {
            parts = ctx.attr_int("num_outputs", 0);
            if (parts != static_cast<int64_t>(n_out))
                ctx.fail("attribute 'num_outputs' is " + std::to_string(parts) + " but the node has " +
                         std::to_string(n_out) + " outputs");
            // Since opset 18 an uneven split makes the last chunk smaller.
            const int64_t chunk = (dim + parts - 1) / parts;
            for (int64_t i = 0; i < parts; ++i) split.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
        } else {
            if (dim % parts != 0)
                ctx.fail("cannot split dim " + std::to_string(dim) + " into " + std::to_string(parts) + " equal parts");
            split.assign(static_cast<size_t>(parts), dim / parts);
        }
    }
    if (split.size() != n_out)
        ctx.fail("split " + shape_to_string(split) + " does not name one size per output (" + std::to_string(n_out) +
                 ")");
    int64_t sum = 0;
    for (int64_t s : split) {
        if (s < 0) ctx.fail("split " + shape_to_string(split) + " has a negative size");
        sum += s;
    }
    if (sum != dim) ctx.fail("split " + shape_to_string(split) + " does not add up to dim " + std::to_string(dim));
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    std::vector<size_t> chunks;
    for (size_t i = 0; i < n_out; ++i) {
        Shape y = x.shape;
        y[axis] = split[i];
        ctx.set_output(i, x.dtype, y);
        chunks.push_back(static_cast<size_t>(split[i] * inner) * esize);
    }
    return std::make_unique<SplitKernel>(outer, static_cast<size_t>(dim * inner) * esize, std::move(chunks));
}

std::unique_ptr<Kernel> make_squeeze(KernelContext& ctx) {
    ctx.require_inputs(1, ctx.opset() >= 13 ? 2 : 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    bool given = false;
    const std::vector<int64_t> axes = axes_argument(ctx, given);
    std::vector<bool> drop(x.shape.size(), false);
    if (!given) {
        for (size_t d = 0; d < x.shape.size(); ++d) drop[d] = x.shape[d] == 1;
    } else {
        for (int64_t a : axes) {
            const size_t d = static_cast<size_t>(ctx.normalize_axis(a, rank));
            if (x.shape[d] != 1)
                ctx.fail("cannot squeeze dim " + std::to_string(a) + " of " + shape_to_string(x.shape) +
                         ": it is not 1");
            drop[d] = true;
        }
    }
    Shape y;
    for (size_t d = 0; d < x.shape.size(); ++d)
        if (!drop[d]) y.push_back(x.shape[d]);
    ctx.set_output(0, x.dtype, y);
    return make_view_kernel(x.byte_size());
}

std::unique_ptr<Kernel> make_unsqueeze(KernelContext& ctx) {
    ctx.require_inputs(ctx.opset() >= 13 ? 2 : 1, ctx.opset() >= 13 ? 2 : 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    element_size_or_fail(ctx, x.dtype);
    bool given = false;
    const std::vector<int64_t> axes = axes_argument(ctx, given);
    if (!given) ctx.fail(ctx.opset() >= 13 ? "input 'axes' is required" : "attribute 'axes' is required");
    const int64_t out_rank = static_cast<int64_t>(x.shape.size() + axes.size());
    std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
    for (int64_t a : axes) {
        const size_t d = static_cast<size_t>(ctx.normalize_axis(a, out_rank));
        if (inserted[d]) ctx.fail("axes " + shape_to_string(axes) + " repeat an axis");
        inserted[d] = true;
    }
    Shape y;
    size_t next = 0;
    for (size_t d = 0; d < inserted.size(); ++d) y.push_back(inserted[d] ? 1 : x.shape[next++]);
    ctx.set_output(0, x.dtype, y);
    return make_view_kernel(x.byte_size());
}

}  // namespace ezemu::kernels
