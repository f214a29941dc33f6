// The sequence family: recurrent ops and control flow.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {


namespace {

constexpr std::array<KernelEntry, 0> kTable{};

}  // namespace

std::span<const KernelEntry> sequence_kernels() { return kTable; }

}  // namespace ezemu::kernels
