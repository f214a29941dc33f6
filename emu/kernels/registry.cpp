#include "kernels/registry.hpp"

#include <array>

namespace ezemu::kernels {

namespace {

// The newest default-domain opset whose semantics these kernels were checked against (ONNX 1.22 = opset 24).
// A model importing a newer opset is refused rather than run with semantics nobody verified.
constexpr int64_t kNewestOpset = 24;

// Lower bounds mark where the semantics these kernels implement begin: elementwise ops before opset 7 had the
// legacy "broadcast"/"axis" attributes, Gemm before 6 had "broadcast" on C.
constexpr std::array kTable{
    KernelEntry{"Add", 7, kNewestOpset, make_add},
    KernelEntry{"AveragePool", 1, kNewestOpset, make_average_pool},
    KernelEntry{"Clip", 1, kNewestOpset, make_clip},
    KernelEntry{"Concat", 1, kNewestOpset, make_concat},
    KernelEntry{"Constant", 1, kNewestOpset, make_constant},
    KernelEntry{"Conv", 1, kNewestOpset, make_conv},
    KernelEntry{"Div", 7, kNewestOpset, make_div},
    KernelEntry{"Flatten", 1, kNewestOpset, make_flatten},
    KernelEntry{"Gemm", 6, kNewestOpset, make_gemm},
    KernelEntry{"GlobalAveragePool", 1, kNewestOpset, make_global_average_pool},
    KernelEntry{"Identity", 1, kNewestOpset, make_identity},
    KernelEntry{"MatMul", 1, kNewestOpset, make_matmul},
    KernelEntry{"MaxPool", 1, kNewestOpset, make_max_pool},
    KernelEntry{"Mul", 7, kNewestOpset, make_mul},
    KernelEntry{"Relu", 1, kNewestOpset, make_relu},
    KernelEntry{"Reshape", 1, kNewestOpset, make_reshape},
    KernelEntry{"Sigmoid", 1, kNewestOpset, make_sigmoid},
    KernelEntry{"Softmax", 1, kNewestOpset, make_softmax},
    KernelEntry{"Sub", 7, kNewestOpset, make_sub},
    KernelEntry{"Transpose", 1, kNewestOpset, make_transpose},
};

}  // namespace

std::span<const KernelEntry> kernel_table() { return kTable; }

const KernelEntry* find_kernel(std::string_view op_type, int64_t opset) {
    for (const KernelEntry& e : kTable)
        if (op_type == e.op_type && opset >= e.min_opset && opset <= e.max_opset) return &e;
    return nullptr;
}

}  // namespace ezemu::kernels
