// The logic family: comparisons, boolean ops, Where and Cast.
#include <algorithm>
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_equal(KernelContext& ctx);
std::unique_ptr<Kernel> make_greater(KernelContext& ctx);
std::unique_ptr<Kernel> make_greater_or_equal(KernelContext& ctx);
std::unique_ptr<Kernel> make_less(KernelContext& ctx);
std::unique_ptr<Kernel> make_less_or_equal(KernelContext& ctx);
std::unique_ptr<Kernel> make_and(KernelContext& ctx);
std::unique_ptr<Kernel> make_or(KernelContext& ctx);
std::unique_ptr<Kernel> make_xor(KernelContext& ctx);
std::unique_ptr<Kernel> make_not(KernelContext& ctx);
std::unique_ptr<Kernel> make_where(KernelContext& ctx);
std::unique_ptr<Kernel> make_cast(KernelContext& ctx);

namespace {

// Cast-25 only added dtypes the ABI does not carry (2-bit integers), so its semantics here are Cast-24's; it is still
// the newest Cast at opset 27.
constexpr std::array<KernelEntry, 11> kTable{{
    KernelEntry{"And", 7, kNewestOpset, make_and},
    KernelEntry{"Cast", 6, std::max<int64_t>(kNewestOpset, 25), make_cast},
    KernelEntry{"Equal", 7, kNewestOpset, make_equal},
    KernelEntry{"Greater", 7, kNewestOpset, make_greater},
    KernelEntry{"GreaterOrEqual", 12, kNewestOpset, make_greater_or_equal},
    KernelEntry{"Less", 7, kNewestOpset, make_less},
    KernelEntry{"LessOrEqual", 12, kNewestOpset, make_less_or_equal},
    KernelEntry{"Not", 1, kNewestOpset, make_not},
    KernelEntry{"Or", 7, kNewestOpset, make_or},
    KernelEntry{"Where", 9, kNewestOpset, make_where},
    KernelEntry{"Xor", 7, kNewestOpset, make_xor},
}};

}  // namespace

std::span<const KernelEntry> logic_kernels() { return kTable; }

}  // namespace ezemu::kernels
