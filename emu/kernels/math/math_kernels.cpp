// The math family. Elementwise ops before opset 7 had the legacy "broadcast"/"axis" attributes and Gemm before 6
// had "broadcast" on C: those versions are not implemented.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_gemm(KernelContext& ctx);
std::unique_ptr<Kernel> make_matmul(KernelContext& ctx);
std::unique_ptr<Kernel> make_add(KernelContext& ctx);
std::unique_ptr<Kernel> make_sub(KernelContext& ctx);
std::unique_ptr<Kernel> make_mul(KernelContext& ctx);
std::unique_ptr<Kernel> make_div(KernelContext& ctx);
std::unique_ptr<Kernel> make_relu(KernelContext& ctx);
std::unique_ptr<Kernel> make_sigmoid(KernelContext& ctx);
std::unique_ptr<Kernel> make_clip(KernelContext& ctx);
std::unique_ptr<Kernel> make_softmax(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 10> kTable{{
    KernelEntry{"Add", 7, kNewestOpset, make_add},
    KernelEntry{"Clip", 1, kNewestOpset, make_clip},
    KernelEntry{"Div", 7, kNewestOpset, make_div},
    KernelEntry{"Gemm", 6, kNewestOpset, make_gemm},
    KernelEntry{"MatMul", 1, kNewestOpset, make_matmul},
    KernelEntry{"Mul", 7, kNewestOpset, make_mul},
    KernelEntry{"Relu", 1, kNewestOpset, make_relu},
    KernelEntry{"Sigmoid", 1, kNewestOpset, make_sigmoid},
    KernelEntry{"Softmax", 1, kNewestOpset, make_softmax},
    KernelEntry{"Sub", 7, kNewestOpset, make_sub},
}};

}  // namespace

std::span<const KernelEntry> math_kernels() { return kTable; }

}  // namespace ezemu::kernels
