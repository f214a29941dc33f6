// Numpy-style broadcasting: the output shape, and a walk over two inputs reduced to the fewest dims so that the
// innermost loop is contiguous (or a scalar) in each input.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// Multidirectional broadcast of two shapes, or nullopt when they are incompatible.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);
// True when `from` broadcasts to `to` without changing `to` (unidirectional, as Gemm's C).
bool broadcasts_to(const Shape& from, const Shape& to);

struct BinaryBroadcast {
    int64_t inner = 1;          // length of the innermost (merged) dim
    bool a_inner_scalar = false;  // a's stride in the inner dim is 0
    bool b_inner_scalar = false;
    std::vector<int64_t> outer_dims;  // merged outer dims, outermost first
    std::vector<int64_t> a_strides;   // element strides of a and b per outer dim (0 where broadcast)
    std::vector<int64_t> b_strides;
    int64_t outer_count = 1;

    BinaryBroadcast() = default;
    BinaryBroadcast(const Shape& a, const Shape& b, const Shape& out);

    // Calls f(a_offset, b_offset, out_offset) once per inner row, in output order.
    template <class F>
    void for_each_row(F&& f) const {
        const size_t r = outer_dims.size();
        if (r == 0) {
            f(int64_t{0}, int64_t{0}, int64_t{0});
            return;
        }
        // Merged ranks are tiny; the heap is touched only for absurd ranks.
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);
        int64_t* idx = r > 16 ? large.data() : small;
        int64_t ao = 0, bo = 0;
        for (int64_t row = 0; row < outer_count; ++row) {
            f(ao, bo, row * inner);
            for (size_t k = r; k-- > 0;) {
                ao += a_strides[k];
                bo += b_strides[k];
                if (++idx[k] < outer_dims[k]) break;
                ao -= a_strides[k] * outer_dims[k];
                bo -= b_strides[k] * outer_dims[k];
                idx[k] = 0;
            }
        }
    }
};

}  // namespace ezemu::kernels
