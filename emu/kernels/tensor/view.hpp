// The kernel of ops whose output is their input seen with another shape (Reshape, Flatten, Identity).
#pragma once

#include <memory>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// Copies `bytes` from input 0 to output 0, unless the planner gave both the same storage.
std::unique_ptr<Kernel> make_view_kernel(size_t bytes);

// The dtype's element size; a ModelError naming the node for dtypes without one (string).
size_t element_size_or_fail(const KernelContext& ctx, onnx::DataType dtype);

}  // namespace ezemu::kernels
