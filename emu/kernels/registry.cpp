#include "kernels/registry.hpp"

#include <array>

namespace ezemu::kernels {

namespace {

using TableFn = std::span<const KernelEntry> (*)();
constexpr std::array<TableFn, 7> kFamilies{nn_kernels,     math_kernels,     logic_kernels, tensor_kernels,
                                           reduce_kernels, sequence_kernels, quant_kernels};

}  // namespace

const KernelEntry* find_kernel(std::string_view op_type, int64_t opset) {
    for (TableFn family : kFamilies)
        for (const KernelEntry& e : family())
            if (op_type == e.op_type && opset >= e.min_opset && opset <= e.max_opset) return &e;
    return nullptr;
}

}  // namespace ezemu::kernels
