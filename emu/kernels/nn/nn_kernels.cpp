// The nn family: convolution and pooling.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_conv(KernelContext& ctx);
std::unique_ptr<Kernel> make_max_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_global_average_pool(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 4> kTable{{
    KernelEntry{"AveragePool", 1, kNewestOpset, make_average_pool},
    KernelEntry{"Conv", 1, kNewestOpset, make_conv},
    KernelEntry{"GlobalAveragePool", 1, kNewestOpset, make_global_average_pool},
    KernelEntry{"MaxPool", 1, kNewestOpset, make_max_pool},
}};

}  // namespace

std::span<const KernelEntry> nn_kernels() { return kTable; }

}  // namespace ezemu::kernels
