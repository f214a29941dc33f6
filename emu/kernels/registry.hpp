// The explicit table of default-domain kernels. An explicit table, not self-registering objects: ezemu_core is a
// static library and the linker drops registration objects nothing references.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

struct KernelEntry {
    const char* op_type;
    int64_t min_opset;  // the model's imported default-domain opset must lie in [min_opset, max_opset]
    int64_t max_opset;
    KernelFactory factory;
};

std::span<const KernelEntry> kernel_table();

// The kernel for op_type at the model's default-domain opset, or nullptr.
const KernelEntry* find_kernel(std::string_view op_type, int64_t opset);

// Factories, one family per file under nn/, math/, tensor/.
std::unique_ptr<Kernel> make_conv(KernelContext& ctx);
std::unique_ptr<Kernel> make_max_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_global_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_gemm(KernelContext& ctx);
std::unique_ptr<Kernel> make_matmul(KernelContext& ctx);
std::unique_ptr<Kernel> make_add(KernelContext& ctx);
std::unique_ptr<Kernel> make_sub(KernelContext& ctx);
std::unique_ptr<Kernel> make_mul(KernelContext& ctx);
std::unique_ptr<Kernel> make_div(KernelContext& ctx);
std::unique_ptr<Kernel> make_relu(KernelContext& ctx);
std::unique_ptr<Kernel> make_sigmoid(KernelContext& ctx);
std::unique_ptr<Kernel> make_clip(KernelContext& ctx);
std::unique_ptr<Kernel> make_softmax(KernelContext& ctx);
std::unique_ptr<Kernel> make_reshape(KernelContext& ctx);
std::unique_ptr<Kernel> make_flatten(KernelContext& ctx);
std::unique_ptr<Kernel> make_concat(KernelContext& ctx);
std::unique_ptr<Kernel> make_transpose(KernelContext& ctx);
std::unique_ptr<Kernel> make_constant(KernelContext& ctx);
std::unique_ptr<Kernel> make_identity(KernelContext& ctx);

}  // namespace ezemu::kernels
