// Reshape and Flatten: views of their input under a new static shape.
#include <string>

#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_reshape(KernelContext& ctx) {
    // Before opset 5 the target shape was an attribute; since then it is an input known at load time.
    const bool shape_attribute = ctx.opset() < 5;
    ctx.require_inputs(shape_attribute ? 1 : 2, shape_attribute ? 1 : 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    element_size_or_fail(ctx, x.dtype);
    std::vector<int64_t> target;
    if (shape_attribute) {
        target = ctx.attr_ints("shape");
    } else {
        if (ctx.input(1).shape.size() != 1)
            ctx.fail("the shape input must be 1-D, got " + shape_to_string(ctx.input(1).shape));
        target = ctx.constant_ints(1);
    }
    const bool allow_zero = ctx.attr_int("allowzero", 0) != 0;
    Shape y(target.size());
    int64_t infer_at = -1, known = 1;
    bool has_zero = false;
    for (size_t i = 0; i < target.size(); ++i) {
        int64_t d = target[i];
        if (d == -1) {
            if (infer_at >= 0) ctx.fail("shape " + shape_to_string(target) + " has more than one -1");
            infer_at = static_cast<int64_t>(i);
            continue;
        }
        if (d < -1) ctx.fail("shape " + shape_to_string(target) + " has an invalid dim " + std::to_string(d));
        if (d == 0 && !allow_zero) {
            // 0 copies the input's dim at the same index.
            if (i >= x.shape.size())
                ctx.fail("shape " + shape_to_string(target) + " copies dim " + std::to_string(i) +
                         " (a 0) that input " + shape_to_string(x.shape) + " does not have");
            d = x.shape[i];
        }
        has_zero = has_zero || d == 0;
        y[i] = d;
        if (__builtin_mul_overflow(known, d, &known))
            ctx.fail("shape " + shape_to_string(target) + " has more elements than any tensor can hold");
    }
    const int64_t total = x.element_count();
    if (infer_at >= 0) {
        if (allow_zero && has_zero) ctx.fail("shape " + shape_to_string(target) + " has both -1 and 0 with allowzero");
        if (known == 0 || total % known != 0)
            ctx.fail("cannot reshape " + shape_to_string(x.shape) + " to " + shape_to_string(target));
        y[static_cast<size_t>(infer_at)] = total / known;
    } else if (known != total) {
        ctx.fail("cannot reshape " + shape_to_string(x.shape) + " (" + std::to_string(total) + " elements) to " +
                 shape_to_string(y));
    }
    ctx.set_output(0, x.dtype, y);
    return make_view_kernel(x.byte_size());
}

std::unique_ptr<Kernel> make_flatten(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 1), rank, true);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= x.shape[static_cast<size_t>(d)];
    ctx.set_output(0, x.dtype, {outer, inner});
    return make_view_kernel(x.byte_size());
}

}  // namespace ezemu::kernels
