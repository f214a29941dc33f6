// Ops that are one strided copy of their input: Slice, Expand, Tile, DepthToSpace and SpaceToDepth. Their factories
// work out the output shape and the input stride of every output dim; StridedCopyPlan does the moving.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "kernels/broadcast.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/strided_copy.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

// A shape-determining input: int32/int64, 1-D and known at load time.
std::vector<int64_t> constant_list(KernelContext& ctx, size_t i, const char* what) {
    const ValueDesc& v = ctx.input(i);
    if (v.shape.size() != 1) ctx.fail(std::string("the ") + what + " input must be 1-D, got " + shape_to_string(v.shape));
    if (!v.is_constant())
        ctx.fail(std::string("its ") + what + " input '" + ctx.node().inputs[i] +
                 "' must be a constant: the NPU needs static shapes");
    return ctx.constant_ints(i);
}

// Transposed view of a reshaped input: `split` is the input seen as a higher-rank tensor, `perm` the output order.
std::unique_ptr<Kernel> permuted_copy(const Shape& split, const std::vector<size_t>& perm, size_t esize) {
    const std::vector<int64_t> in_strides = dense_strides(split);
    Shape dims;
    std::vector<int64_t> strides;
    for (size_t p : perm) {
        dims.push_back(split[p]);
        strides.push_back(in_strides[p]);
    }
    return make_strided_copy_kernel(StridedCopyPlan(dims, strides, 0, esize));
}

}  // namespace

std::unique_ptr<Kernel> make_slice(KernelContext& ctx) {
    ctx.require_outputs(1, 1);
    const bool attributes = ctx.opset() < 10;  // starts/ends/axes were attributes before opset 10
    ctx.require_inputs(attributes ? 1 : 3, attributes ? 1 : 5);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    std::vector<int64_t> starts, ends, axes, steps;
    if (attributes) {
        if (!ctx.has_attr("starts") || !ctx.has_attr("ends")) ctx.fail("attributes 'starts' and 'ends' are required");
        starts = ctx.attr_ints("starts");
        ends = ctx.attr_ints("ends");
        axes = ctx.attr_ints("axes");
    } else {
        starts = constant_list(ctx, 1, "starts");
        ends = constant_list(ctx, 2, "ends");
        if (ctx.has_input(3)) axes = constant_list(ctx, 3, "axes");
        if (ctx.has_input(4)) steps = constant_list(ctx, 4, "steps");
    }
    if (ends.size() != starts.size()) ctx.fail("starts and ends must have the same length");
    const bool has_axes = attributes ? ctx.has_attr("axes") : ctx.has_input(3);
    if (!has_axes)
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (attributes || !ctx.has_input(4)) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
        ctx.fail("starts, ends, axes and steps must have the same length");
    Shape y = x.shape;
    std::vector<int64_t> strides = dense_strides(x.shape);
    const std::vector<int64_t> dense = strides;
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    int64_t base = 0;
    for (size_t i = 0; i < starts.size(); ++i) {
        const size_t a = static_cast<size_t>(ctx.normalize_axis(axes[i], rank));
        if (seen[a]) ctx.fail("axis " + std::to_string(axes[i]) + " is repeated");
        seen[a] = true;
        const int64_t n = x.shape[a], step = steps[i];
        if (step == 0) ctx.fail("steps must not be 0");
        int64_t start = starts[i], end = ends[i];
        if (start < 0) start += n;
        if (end < 0) end += n;
        int64_t count;
        if (step > 0) {
            start = std::clamp<int64_t>(start, 0, n);
            end = std::clamp<int64_t>(end, 0, n);
            count = end > start ? (end - start + step - 1) / step : 0;
        } else {
            start = std::clamp<int64_t>(start, 0, n - 1);
            end = std::clamp<int64_t>(end, -1, n - 1);
            count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
        }
        y[a] = count;
        strides[a] = dense[a] * step;
        if (count > 0) base += start * dense[a];
    }
    ctx.set_output(0, x.dtype, y);
    return make_strided_copy_kernel(StridedCopyPlan(y, strides, base, esize));
}

std::unique_ptr<Kernel> make_expand(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const Shape target = constant_list(ctx, 1, "shape");
    const std::optional<Shape> y = broadcast_shapes(x.shape, target);
    if (!y) ctx.fail("cannot expand " + shape_to_string(x.shape) + " to " + shape_to_string(target));
    const std::vector<int64_t> dense = dense_strides(x.shape);
    std::vector<int64_t> strides(y->size(), 0);
    const size_t lead = y->size() - x.shape.size();
    for (size_t d = 0; d < x.shape.size(); ++d)
        strides[lead + d] = x.shape[d] == (*y)[lead + d] ? dense[d] : 0;
    ctx.set_output(0, x.dtype, *y);
    return make_strided_copy_kernel(StridedCopyPlan(*y, strides, 0, esize));
}

std::unique_ptr<Kernel> make_tile(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const std::vector<int64_t> repeats = constant_list(ctx, 1, "repeats");
    if (repeats.size() != x.shape.size())
        ctx.fail("repeats " + shape_to_string(repeats) + " must have one entry per dim of " + shape_to_string(x.shape));
    // Output dim d seen as [repeats[d], x.shape[d]]: the repeat index has input stride 0.
    const std::vector<int64_t> dense = dense_strides(x.shape);
    Shape y, split;
    std::vector<int64_t> strides;
    for (size_t d = 0; d < x.shape.size(); ++d) {
        if (repeats[d] < 0) ctx.fail("repeats " + shape_to_string(repeats) + " has a negative entry");
        y.push_back(x.shape[d] * repeats[d]);
        split.push_back(repeats[d]);
        strides.push_back(0);
        split.push_back(x.shape[d]);
        strides.push_back(dense[d]);
    }
    ctx.set_output(0, x.dtype, y);
    return make_strided_copy_kernel(StridedCopyPlan(split, strides, 0, esize));
}

std::unique_ptr<Kernel> make_depth_to_space(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    if (x.shape.size() != 4) ctx.fail("input must be 4-D, got " + shape_to_string(x.shape));
    const int64_t bs = ctx.attr_int("blocksize", 0);
    const std::string mode = ctx.opset() >= 11 ? ctx.attr_string("mode", "DCR") : "DCR";
    if (bs <= 0) ctx.fail("attribute 'blocksize' must be positive");
    if (mode != "DCR" && mode != "CRD") ctx.fail("mode '" + mode + "' is not DCR or CRD");
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (c % (bs * bs) != 0) ctx.fail("channels " + std::to_string(c) + " are not divisible by blocksize squared");
    const int64_t oc = c / (bs * bs);
    ctx.set_output(0, x.dtype, {n, oc, h * bs, w * bs});
    if (mode == "DCR")  // [n, bs, bs, oc, h, w] -> [n, oc, h, bs, w, bs]
        return permuted_copy({n, bs, bs, oc, h, w}, {0, 3, 4, 1, 5, 2}, esize);
    return permuted_copy({n, oc, bs, bs, h, w}, {0, 1, 4, 2, 5, 3}, esize);
}

std::unique_ptr<Kernel> make_space_to_depth(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    if (x.shape.size() != 4) ctx.fail("input must be 4-D, got " + shape_to_string(x.shape));
    const int64_t bs = ctx.attr_int("blocksize", 0);
    if (bs <= 0) ctx.fail("attribute 'blocksize' must be positive");
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (h % bs != 0 || w % bs != 0)
        ctx.fail("height and width of " + shape_to_string(x.shape) + " are not divisible by the blocksize");
    ctx.set_output(0, x.dtype, {n, c * bs * bs, h / bs, w / bs});
    // [n, c, h/bs, bs, w/bs, bs] -> [n, bs, bs, c, h/bs, w/bs]
    return permuted_copy({n, c, h / bs, bs, w / bs, bs}, {0, 3, 5, 1, 2, 4}, esize);
}

}  // namespace ezemu::kernels
