// The quant family: QuantizeLinear, DequantizeLinear and integer ops.
#include <array>

#include "kernels/registry.hpp"

namespace ezemu::kernels {

std::unique_ptr<Kernel> make_quantize_linear(KernelContext& ctx);
std::unique_ptr<Kernel> make_dequantize_linear(KernelContext& ctx);
std::unique_ptr<Kernel> make_conv_integer(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_conv(KernelContext& ctx);
std::unique_ptr<Kernel> make_matmul_integer(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_matmul(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_add(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_mul(KernelContext& ctx);
std::unique_ptr<Kernel> make_qgemm(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_average_pool(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_global_average_pool(KernelContext& ctx);

namespace {

// QLinearAdd, QLinearMul, QGemm, QLinearAveragePool and QLinearGlobalAveragePool are onnxruntime contrib ops
// (com.microsoft); here they are only the targets of the QDQ fusion (graph/qdq_fusion.hpp), which names them in the
// default domain.
constexpr std::array<KernelEntry, 11> kTable{{
    KernelEntry{"ConvInteger", 10, kNewestOpset, make_conv_integer},
    KernelEntry{"DequantizeLinear", 10, kNewestOpset, make_dequantize_linear},
    KernelEntry{"MatMulInteger", 10, kNewestOpset, make_matmul_integer},
    KernelEntry{"QGemm", 10, kNewestOpset, make_qgemm},
    KernelEntry{"QLinearAdd", 10, kNewestOpset, make_qlinear_add},
    KernelEntry{"QLinearAveragePool", 10, kNewestOpset, make_qlinear_average_pool},
    KernelEntry{"QLinearConv", 10, kNewestOpset, make_qlinear_conv},
    KernelEntry{"QLinearGlobalAveragePool", 10, kNewestOpset, make_qlinear_global_average_pool},
    KernelEntry{"QLinearMatMul", 10, kNewestOpset, make_qlinear_matmul},
    KernelEntry{"QLinearMul", 10, kNewestOpset, make_qlinear_mul},
    KernelEntry{"QuantizeLinear", 10, kNewestOpset, make_quantize_linear},
}};

}  // namespace

std::span<const KernelEntry> quant_kernels() { return kTable; }

}  // namespace ezemu::kernels
