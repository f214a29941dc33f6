// A dense copy of a strided view of the input: the data movement of Slice, Expand, Tile, DepthToSpace and
// SpaceToDepth. The plan merges dims at load time so that a run is a few loops over long contiguous runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

struct StridedCopyPlan {
    std::vector<int64_t> dims;     // merged output dims, outermost first
    std::vector<int64_t> strides;  // input element stride of each (0 repeats, negative walks backwards)
    int64_t base = 0;              // input element offset of output element 0
    size_t esize = 1;
    int64_t total = 0;             // output elements

    // out_dims[k] with input stride in_strides[k]; dims of size 1 are dropped and adjacent dims merged.
    StridedCopyPlan(const Shape& out_dims, const std::vector<int64_t>& in_strides, int64_t base_offset,
                    size_t element_size);

    void run(const void* in, void* out) const;
};

// Row-major element strides of a dense tensor.
std::vector<int64_t> dense_strides(const Shape& shape);

// A kernel that runs one plan from input 0 to output 0.
std::unique_ptr<Kernel> make_strided_copy_kernel(StridedCopyPlan plan);

}  // namespace ezemu::kernels
