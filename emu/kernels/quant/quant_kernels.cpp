// The quant family: QuantizeLinear, DequantizeLinear and integer ops.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {


namespace {

constexpr std::array<KernelEntry, 0> kTable{};

}  // namespace

std::span<const KernelEntry> quant_kernels() { return kTable; }

}  // namespace ezemu::kernels
