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
std::unique_ptr<Kernel> make_qlinear_lookup(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_on_codes(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_concat(KernelContext& ctx);
std::unique_ptr<Kernel> make_qlinear_split(KernelContext& ctx);

namespace {

// QLinearAdd, QLinearMul, QGemm, QLinearAveragePool and QLinearGlobalAveragePool are onnxruntime contrib ops
// (com.microsoft); here they are only the targets of the QDQ fusion (graph/qdq_fusion.hpp), which names them in the
// default domain; so are the internal QLinearLookup, QLinearConcat, QLinearSplit and QLinear<op> for the ops that
// run on codes (code_table_kernels.cpp).
constexpr std::array<KernelEntry, 28> kTable{{
    KernelEntry{"ConvInteger", 10, kNewestOpset, make_conv_integer},
    KernelEntry{"DequantizeLinear", 10, kNewestOpset, make_dequantize_linear},
    KernelEntry{"MatMulInteger", 10, kNewestOpset, make_matmul_integer},
    KernelEntry{"QGemm", 10, kNewestOpset, make_qgemm},
    KernelEntry{"QLinearAdd", 10, kNewestOpset, make_qlinear_add},
    KernelEntry{"QLinearAveragePool", 10, kNewestOpset, make_qlinear_average_pool},
    KernelEntry{"QLinearConcat", 10, kNewestOpset, make_qlinear_concat},
    KernelEntry{"QLinearConv", 10, kNewestOpset, make_qlinear_conv},
    KernelEntry{"QLinearDepthToSpace", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearExpand", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearFlatten", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearGather", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearGatherElements", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearGlobalAveragePool", 10, kNewestOpset, make_qlinear_global_average_pool},
    KernelEntry{"QLinearLookup", 10, kNewestOpset, make_qlinear_lookup},
    KernelEntry{"QLinearMatMul", 10, kNewestOpset, make_qlinear_matmul},
    KernelEntry{"QLinearMaxPool", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearMul", 10, kNewestOpset, make_qlinear_mul},
    KernelEntry{"QLinearReshape", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearResize", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearSlice", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearSpaceToDepth", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearSplit", 10, kNewestOpset, make_qlinear_split},
    KernelEntry{"QLinearSqueeze", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearTile", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearTranspose", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QLinearUnsqueeze", 10, kNewestOpset, make_qlinear_on_codes},
    KernelEntry{"QuantizeLinear", 10, kNewestOpset, make_quantize_linear},
}};

}  // namespace

std::span<const KernelEntry> quant_kernels() { return kTable; }

}  // namespace ezemu::kernels
