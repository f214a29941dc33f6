// Transpose: a strided copy. Output dims that stay adjacent in the input merge, so common permutations (NCHW to
// NHWC, swapping the last two dims) become short loops over long contiguous runs.
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

class TransposeKernel final : public Kernel {
public:
    // dims: merged output dims; in_strides: input element stride of each.
    TransposeKernel(std::vector<int64_t> dims, std::vector<int64_t> in_strides, size_t esize)
        : dims_(std::move(dims)), strides_(std::move(in_strides)), esize_(esize) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        switch (esize_) {
            case 1: copy<uint8_t>(x, y); break;
            case 2: copy<uint16_t>(x, y); break;
            case 4: copy<uint32_t>(x, y); break;
            case 8: copy<uint64_t>(x, y); break;
            default: copy_bytes(x, y); break;
        }
    }

private:
    template <class T>
    void copy(const uint8_t* xb, uint8_t* yb) const {
        T* y = reinterpret_cast<T*>(yb);
        const size_t r = dims_.size();
        if (r == 0) {
            std::memcpy(yb, xb, sizeof(T));
            return;
        }
        const int64_t inner = dims_[r - 1], inner_stride = strides_[r - 1];
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);
        int64_t* idx = r > 16 ? large.data() : small;
        int64_t rows = 1;
        for (size_t k = 0; k + 1 < r; ++k) rows *= dims_[k];
        int64_t off = 0;
        for (int64_t row = 0; row < rows; ++row) {
            if (inner_stride == 1) {
                std::memcpy(y, xb + off * static_cast<int64_t>(sizeof(T)), static_cast<size_t>(inner) * sizeof(T));
            } else {
                for (int64_t i = 0; i < inner; ++i)
                    std::memcpy(y + i, xb + (off + i * inner_stride) * static_cast<int64_t>(sizeof(T)), sizeof(T));
            }
            y += inner;
            for (size_t k = r - 1; k-- > 0;) {
                off += strides_[k];
                if (++idx[k] < dims_[k]) break;
                off -= strides_[k] * dims_[k];
                idx[k] = 0;
            }
        }
    }

    void copy_bytes(const uint8_t* x, uint8_t* y) const {
        const int64_t n = std::accumulate(dims_.begin(), dims_.end(), int64_t{1}, std::multiplies<>());
        for (int64_t i = 0; i < n; ++i) {
            int64_t rem = i, off = 0;
            for (size_t k = dims_.size(); k-- > 0;) {
                off += (rem % dims_[k]) * strides_[k];
                rem /= dims_[k];
            }
            std::memcpy(y + static_cast<size_t>(i) * esize_, x + static_cast<size_t>(off) * esize_, esize_);
        }
    }

    std::vector<int64_t> dims_, strides_;
    size_t esize_;
};

}  // namespace

std::unique_ptr<Kernel> make_transpose(KernelContext& ctx) {
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const size_t rank = x.shape.size();
    std::vector<int64_t> perm(rank);
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    perm = ctx.attr_ints("perm", perm);
    std::vector<bool> seen(rank, false);
    if (perm.size() != rank) ctx.fail("perm " + shape_to_string(perm) + " does not match rank " + std::to_string(rank));
    for (int64_t p : perm) {
        if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)])
            ctx.fail("perm " + shape_to_string(perm) + " is not a permutation of the input's dims");
        seen[static_cast<size_t>(p)] = true;
    }
    std::vector<int64_t> in_strides(rank, 1);
    for (size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * x.shape[d];
    Shape y(rank);
    std::vector<int64_t> dims, strides;
    for (size_t i = 0; i < rank; ++i) {
        const size_t p = static_cast<size_t>(perm[i]);
        y[i] = x.shape[p];
        if (y[i] == 1) continue;  // size-1 dims carry no iteration
        // Merge with the previous output dim when the two are adjacent in the input, in the same order.
        if (!dims.empty() && strides.back() == in_strides[p] * x.shape[p]) {
            dims.back() *= y[i];
            strides.back() = in_strides[p];
        } else {
            dims.push_back(y[i]);
            strides.push_back(in_strides[p]);
        }
    }
    ctx.set_output(0, x.dtype, y);
    return std::make_unique<TransposeKernel>(std::move(dims), std::move(strides), esize);
}

}  // namespace ezemu::kernels
