// Linear and cubic Resize: one pass per resized axis through the tables of resize_weights.hpp. Every pass
// accumulates in double and the result is rounded once to the output type, as ONNX's reference implementation
// computes Resize: float32 rounding after each tap or each pass would decide exact ties of a QuantizeLinear that
// reads the output (QDQ models; docs/emulator.md, "Resize").
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/kernel.hpp"
#include "kernels/tensor/resize_weights.hpp"

namespace ezemu::kernels::resize {

// One resized axis of a tensor seen as [outer, in, inner] -> [outer, out, inner].
struct Pass {
    int64_t outer = 1, in = 1, out = 1, inner = 1;
    AxisTable table;
};

// The passes run in the given order; none leaves a copy. dtype: float, fp16 or an integer type (integers round half
// to even and saturate). extrapolation: tf_crop_and_resize's value for coordinates outside the crop.
std::unique_ptr<Kernel> make_interpolating_kernel(std::vector<Pass> passes, onnx::DataType dtype, int64_t in_count,
                                                  int64_t out_count, float extrapolation);

}  // namespace ezemu::kernels::resize
