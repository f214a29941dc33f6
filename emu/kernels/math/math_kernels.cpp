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
std::unique_ptr<Kernel> make_pow(KernelContext& ctx);
std::unique_ptr<Kernel> make_mod(KernelContext& ctx);
std::unique_ptr<Kernel> make_prelu(KernelContext& ctx);
std::unique_ptr<Kernel> make_max(KernelContext& ctx);
std::unique_ptr<Kernel> make_min(KernelContext& ctx);
std::unique_ptr<Kernel> make_relu(KernelContext& ctx);
std::unique_ptr<Kernel> make_sigmoid(KernelContext& ctx);
std::unique_ptr<Kernel> make_tanh(KernelContext& ctx);
std::unique_ptr<Kernel> make_exp(KernelContext& ctx);
std::unique_ptr<Kernel> make_log(KernelContext& ctx);
std::unique_ptr<Kernel> make_sqrt(KernelContext& ctx);
std::unique_ptr<Kernel> make_cos(KernelContext& ctx);
std::unique_ptr<Kernel> make_sin(KernelContext& ctx);
std::unique_ptr<Kernel> make_floor(KernelContext& ctx);
std::unique_ptr<Kernel> make_erf(KernelContext& ctx);
std::unique_ptr<Kernel> make_elu(KernelContext& ctx);
std::unique_ptr<Kernel> make_leaky_relu(KernelContext& ctx);
std::unique_ptr<Kernel> make_hard_sigmoid(KernelContext& ctx);
std::unique_ptr<Kernel> make_hardswish(KernelContext& ctx);
std::unique_ptr<Kernel> make_mish(KernelContext& ctx);
std::unique_ptr<Kernel> make_softplus(KernelContext& ctx);
std::unique_ptr<Kernel> make_clip(KernelContext& ctx);
std::unique_ptr<Kernel> make_softmax(KernelContext& ctx);
std::unique_ptr<Kernel> make_log_softmax(KernelContext& ctx);
std::unique_ptr<Kernel> make_dropout(KernelContext& ctx);

namespace {

constexpr std::array<KernelEntry, 31> kTable{{
    KernelEntry{"Add", 7, kNewestOpset, make_add},
    KernelEntry{"Clip", 1, kNewestOpset, make_clip},
    KernelEntry{"Cos", 7, kNewestOpset, make_cos},
    KernelEntry{"Div", 7, kNewestOpset, make_div},
    KernelEntry{"Dropout", 7, kNewestOpset, make_dropout},
    KernelEntry{"Elu", 1, kNewestOpset, make_elu},
    KernelEntry{"Erf", 9, kNewestOpset, make_erf},
    KernelEntry{"Exp", 1, kNewestOpset, make_exp},
    KernelEntry{"Floor", 1, kNewestOpset, make_floor},
    KernelEntry{"Gemm", 6, kNewestOpset, make_gemm},
    KernelEntry{"HardSigmoid", 1, kNewestOpset, make_hard_sigmoid},
    KernelEntry{"HardSwish", 14, kNewestOpset, make_hardswish},
    KernelEntry{"LeakyRelu", 1, kNewestOpset, make_leaky_relu},
    KernelEntry{"Log", 1, kNewestOpset, make_log},
    KernelEntry{"LogSoftmax", 1, kNewestOpset, make_log_softmax},
    KernelEntry{"MatMul", 1, kNewestOpset, make_matmul},
    KernelEntry{"Max", 1, kNewestOpset, make_max},
    KernelEntry{"Min", 1, kNewestOpset, make_min},
    KernelEntry{"Mish", 18, kNewestOpset, make_mish},
    KernelEntry{"Mod", 10, kNewestOpset, make_mod},
    KernelEntry{"Mul", 7, kNewestOpset, make_mul},
    KernelEntry{"Pow", 7, kNewestOpset, make_pow},
    KernelEntry{"PRelu", 7, kNewestOpset, make_prelu},
    KernelEntry{"Relu", 1, kNewestOpset, make_relu},
    KernelEntry{"Sigmoid", 1, kNewestOpset, make_sigmoid},
    KernelEntry{"Sin", 7, kNewestOpset, make_sin},
    KernelEntry{"Softmax", 1, kNewestOpset, make_softmax},
    KernelEntry{"Softplus", 1, kNewestOpset, make_softplus},
    KernelEntry{"Sqrt", 1, kNewestOpset, make_sqrt},
    KernelEntry{"Sub", 7, kNewestOpset, make_sub},
    KernelEntry{"Tanh", 1, kNewestOpset, make_tanh},
}};

}  // namespace

std::span<const KernelEntry> math_kernels() { return kTable; }

}  // namespace ezemu::kernels
