// The explicit table of default-domain kernels. An explicit table, not self-registering objects: ezemu_core is a
// static library and the linker drops registration objects nothing references.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

struct KernelEntry {
    const char* op_type;
    int64_t min_opset;  // the model's imported default-domain opset must lie in [min_opset, max_opset]
    int64_t max_opset;
    KernelFactory factory;
};

// The kernel for op_type at the model's default-domain opset, or nullptr.
const KernelEntry* find_kernel(std::string_view op_type, int64_t opset);

// Each op family lists its kernels in its own table file (<family>/<family>_kernels.cpp), so families grow
// independently; find_kernel searches them all. An op type may appear in one family only.
std::span<const KernelEntry> nn_kernels();         // conv, pooling, normalization, ROI ops
std::span<const KernelEntry> math_kernels();       // gemm/matmul, elementwise arithmetic, activations, softmax
std::span<const KernelEntry> logic_kernels();      // comparisons, boolean ops, Where, Cast
std::span<const KernelEntry> tensor_kernels();     // shape, layout, indexing and data-movement ops
std::span<const KernelEntry> reduce_kernels();     // Reduce*, ArgMax, ArgMin
std::span<const KernelEntry> sequence_kernels();   // recurrent ops (GRU, LSTM) and control flow (If)
std::span<const KernelEntry> quant_kernels();      // QuantizeLinear, DequantizeLinear and integer ops

// The newest default-domain opset a model may import: ONNX 1.22's. No operator of the NPU list changed after its
// opset-25 version (which only added int2/uint2 types), so a model at opset 25-27 means the same as at 24.
inline constexpr int64_t kNewestOpset = 27;

}  // namespace ezemu::kernels
