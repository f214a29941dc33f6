// The reduce family: Reduce* and ArgMax/ArgMin.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {


namespace {

constexpr std::array<KernelEntry, 0> kTable{};

}  // namespace

std::span<const KernelEntry> reduce_kernels() { return kTable; }

}  // namespace ezemu::kernels
