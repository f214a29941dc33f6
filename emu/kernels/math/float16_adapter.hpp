// Runs a float32 kernel for a node whose inputs are float16: the float16 inputs are widened to float (constants
// once at load time, run-time inputs into the kernel's scratch on every run) and float outputs are rounded back to
// float16 with round-to-nearest-even. For ops whose float16 form is defined as the float32 one rounded.
#pragma once

#include <memory>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// Builds `float_factory`'s kernel for ctx's node as if every float16 input were float32; ctx's float32 outputs
// are declared float16.
std::unique_ptr<Kernel> make_float16_via_float32(KernelContext& ctx, KernelFactory float_factory);

}  // namespace ezemu::kernels
