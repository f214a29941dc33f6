// The tensor family: shape, layout and data movement.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_reshape(KernelContext& ctx);
std::unique_ptr<Kernel> make_flatten(KernelContext& ctx);
std::unique_ptr<Kernel> make_concat(KernelContext& ctx);
std::unique_ptr<Kernel> make_transpose(KernelContext& ctx);
std::unique_ptr<Kernel> make_constant(KernelContext& ctx);
std::unique_ptr<Kernel> make_identity(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 6> kTable{{
    KernelEntry{"Concat", 1, kNewestOpset, make_concat},
    KernelEntry{"Constant", 1, kNewestOpset, make_constant},
    KernelEntry{"Flatten", 1, kNewestOpset, make_flatten},
    KernelEntry{"Identity", 1, kNewestOpset, make_identity},
    KernelEntry{"Reshape", 1, kNewestOpset, make_reshape},
    KernelEntry{"Transpose", 1, kNewestOpset, make_transpose},
}};

}  // namespace

std::span<const KernelEntry> tensor_kernels() { return kTable; }

}  // namespace ezemu::kernels
