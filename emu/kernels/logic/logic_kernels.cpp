// The logic family: comparisons, boolean ops, Where and Cast.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {


namespace {

constexpr std::array<KernelEntry, 0> kTable{};

}  // namespace

std::span<const KernelEntry> logic_kernels() { return kTable; }

}  // namespace ezemu::kernels
