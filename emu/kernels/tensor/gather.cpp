// Gather (whole slices picked along one axis) and GatherElements (one element per index), for every dtype, with
// int32 or int64 indices that may count from the end. An index out of range fails the run: it depends on data.
#include <cstring>
#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

// Index i of an int32 or int64 array, normalized to [0, dim) or a RunError.
inline int64_t load_index(const void* indices, bool wide, int64_t i, int64_t dim, const char* op) {
    int64_t v = wide ? static_cast<const int64_t*>(indices)[i] : static_cast<const int32_t*>(indices)[i];
    if (v < -dim || v >= dim)
        throw RunError(std::string(op) + ": index " + std::to_string(v) + " is out of range for a dim of " +
                       std::to_string(dim));
    return v < 0 ? v + dim : v;
}

class GatherKernel final : public Kernel {
public:
    GatherKernel(int64_t outer, int64_t axis_dim, int64_t count, size_t inner_bytes, bool wide)
        : outer_(outer), axis_dim_(axis_dim), count_(count), inner_bytes_(inner_bytes), wide_(wide) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        for (int64_t o = 0; o < outer_; ++o) {
            const uint8_t* slab = x + static_cast<size_t>(o * axis_dim_) * inner_bytes_;
            for (int64_t i = 0; i < count_; ++i) {
                const int64_t j = load_index(ctx.inputs[1], wide_, i, axis_dim_, "Gather");
                std::memcpy(y, slab + static_cast<size_t>(j) * inner_bytes_, inner_bytes_);
                y += inner_bytes_;
            }
        }
    }

private:
    int64_t outer_, axis_dim_, count_;
    size_t inner_bytes_;
    bool wide_;
};

class GatherElementsKernel final : public Kernel {
public:
    // Output (= indices) shape split around the axis: outer x axis_count x inner; the data has outer x axis_dim x
    // inner_data, where the output's inner coordinates index the data's inner block through data strides.
    GatherElementsKernel(Shape index_shape, Shape data_shape, size_t axis, size_t esize, bool wide)
        : ishape_(std::move(index_shape)), dstrides_(data_shape.size(), 1), axis_(axis), esize_(esize), wide_(wide) {
        for (size_t d = data_shape.size(); d-- > 1;) dstrides_[d - 1] = dstrides_[d] * data_shape[d];
        axis_dim_ = data_shape[axis];
    }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        const int64_t n = shape_elements(ishape_);
        const size_t r = ishape_.size();
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);
        int64_t* idx = r > 16 ? large.data() : small;
        int64_t base = 0;  // data offset of the current coordinates with the axis coordinate left out
        for (int64_t i = 0; i < n; ++i) {
            const int64_t j = load_index(ctx.inputs[1], wide_, i, axis_dim_, "GatherElements");
            std::memcpy(y + static_cast<size_t>(i) * esize_,
                        x + static_cast<size_t>(base + j * dstrides_[axis_]) * esize_, esize_);
            for (size_t k = r; k-- > 0;) {
                const int64_t step = k == axis_ ? 0 : dstrides_[k];
                base += step;
                if (++idx[k] < ishape_[k]) break;
                base -= step * ishape_[k];
                idx[k] = 0;
            }
        }
    }

private:
    Shape ishape_;
    std::vector<int64_t> dstrides_;
    size_t axis_;
    size_t esize_;
    bool wide_;
    int64_t axis_dim_ = 0;
};

// Index inputs are int32 or int64; a constant one is checked now rather than on every run.
bool check_indices(KernelContext& ctx, size_t input, int64_t dim) {
    ctx.require_dtype(input, {onnx::DataType::Int64, onnx::DataType::Int32});
    const ValueDesc& ind = ctx.input(input);
    const bool wide = ind.dtype == onnx::DataType::Int64;
    if (ind.is_constant())
        for (int64_t v : ctx.constant_ints(input))
            if (v < -dim || v >= dim)
                ctx.fail("index " + std::to_string(v) + " is out of range for a dim of " + std::to_string(dim));
    return wide;
}

}  // namespace

std::unique_ptr<Kernel> make_gather(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    if (rank == 0) ctx.fail("data must have rank 1 or more");
    const size_t axis = static_cast<size_t>(ctx.normalize_axis(ctx.attr_int("axis", 0), rank));
    const bool wide = check_indices(ctx, 1, x.shape[axis]);
    const Shape& ind = ctx.input(1).shape;
    Shape y(x.shape.begin(), x.shape.begin() + static_cast<std::ptrdiff_t>(axis));
    y.insert(y.end(), ind.begin(), ind.end());
    y.insert(y.end(), x.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.shape.end());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    ctx.set_output(0, x.dtype, y);
    return std::make_unique<GatherKernel>(outer, x.shape[axis], shape_elements(ind),
                                          static_cast<size_t>(inner) * esize, wide);
}

std::unique_ptr<Kernel> make_gather_elements(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    if (rank == 0) ctx.fail("data must have rank 1 or more");
    const size_t axis = static_cast<size_t>(ctx.normalize_axis(ctx.attr_int("axis", 0), rank));
    const bool wide = check_indices(ctx, 1, x.shape[axis]);
    const Shape& ind = ctx.input(1).shape;
    if (ind.size() != x.shape.size())
        ctx.fail("indices " + shape_to_string(ind) + " must have the rank of data " + shape_to_string(x.shape));
    for (size_t d = 0; d < ind.size(); ++d)
        if (d != axis && ind[d] > x.shape[d])
            ctx.fail("indices " + shape_to_string(ind) + " exceed data " + shape_to_string(x.shape) + " on dim " +
                     std::to_string(d));
    ctx.set_output(0, x.dtype, ind);
    return std::make_unique<GatherElementsKernel>(ind, x.shape, axis, esize, wide);
}

}  // namespace ezemu::kernels
