// float16 support for float32 kernels: the node's float16 tensors are widened to float32, the float kernel runs, and
// its float outputs are rounded back to float16 (round-to-nearest-even). Constant float16 inputs are widened once at
// load time, so a float16 Conv still gets its oneDNN primitive. For ops whose float16 form is defined as the float32
// one rounded.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// True when any input of the node is float16.
bool has_float16_input(const KernelContext& ctx);

// Builds `float_factory`'s kernel on a float32 view of the node and wraps it. Outputs the float kernel declares as
// float32 become float16, except those whose bit is set in `keep_float_outputs` (e.g. LayerNormalization's
// float32 Mean); other dtypes (int64 indices) pass through unchanged.
std::unique_ptr<Kernel> make_float16_via_float(KernelContext& ctx, KernelFactory float_factory,
                                               uint32_t keep_float_outputs = 0);

}  // namespace ezemu::kernels
