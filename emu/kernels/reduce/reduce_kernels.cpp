// The reduce family: Reduce* and ArgMax/ArgMin.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_reduce_sum(KernelContext& ctx);
std::unique_ptr<Kernel> make_reduce_mean(KernelContext& ctx);
std::unique_ptr<Kernel> make_reduce_max(KernelContext& ctx);
std::unique_ptr<Kernel> make_reduce_min(KernelContext& ctx);
std::unique_ptr<Kernel> make_arg_max(KernelContext& ctx);
std::unique_ptr<Kernel> make_arg_min(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 6> kTable{{
    KernelEntry{"ArgMax", 1, kNewestOpset, make_arg_max},
    KernelEntry{"ArgMin", 1, kNewestOpset, make_arg_min},
    KernelEntry{"ReduceMax", 1, kNewestOpset, make_reduce_max},
    KernelEntry{"ReduceMean", 1, kNewestOpset, make_reduce_mean},
    KernelEntry{"ReduceMin", 1, kNewestOpset, make_reduce_min},
    KernelEntry{"ReduceSum", 1, kNewestOpset, make_reduce_sum},
}};

}  // namespace

std::span<const KernelEntry> reduce_kernels() { return kTable; }

}  // namespace ezemu::kernels
