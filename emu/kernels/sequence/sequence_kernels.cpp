// The sequence family: recurrent ops and control flow. LSTM and GRU before opset 7 had the output_sequence
// attribute and are not implemented. An If with a constant condition never reaches its kernel: the graph lowering
// inlines the chosen branch.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_gru(KernelContext& ctx);
std::unique_ptr<Kernel> make_if(KernelContext& ctx);
std::unique_ptr<Kernel> make_lstm(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 3> kTable{{
    KernelEntry{"GRU", 7, kNewestOpset, make_gru},
    KernelEntry{"If", 1, kNewestOpset, make_if},
    KernelEntry{"LSTM", 7, kNewestOpset, make_lstm},
}};

}  // namespace

std::span<const KernelEntry> sequence_kernels() { return kTable; }

}  // namespace ezemu::kernels
