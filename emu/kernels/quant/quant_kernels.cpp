// The quant family: QuantizeLinear, DequantizeLinear and integer ops.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_quantize_linear(KernelContext& ctx);
std::unique_ptr<Kernel> make_dequantize_linear(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 2> kTable{{
    KernelEntry{"DequantizeLinear", 10, kNewestOpset, make_dequantize_linear},
    KernelEntry{"QuantizeLinear", 10, kNewestOpset, make_quantize_linear},
}};

}  // namespace

std::span<const KernelEntry> quant_kernels() { return kTable; }

}  // namespace ezemu::kernels
