// The 256-entry tables behind the integer kernels that run an op on 8-bit codes (QLinearLookup, QLinearConcat,
// QLinearMaxPool): for every input code, the output code that the unfused DequantizeLinear -> op -> QuantizeLinear
// nodes give. A table is built once at load by running the emulator's own kernels for those nodes on all 256 codes,
// so the fused kernel matches the unfused path bit for bit by construction; a run only looks codes up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels::quant {

struct CodeTable {
    std::array<uint8_t, 256> code{};  // indexed by the input code's byte (an int8 code by its two's complement)

    bool identity() const;
    // y[i] = code[x[i]] over n codes; x and y may be the same buffer. AVX-512 VBMI where the CPU has it (64 codes
    // per two vpermi2b), else the scalar loop.
    void apply(const void* x, void* y, int64_t n) const;
    // The two paths of apply(), for tests; apply_vbmi returns false (nothing written) when the CPU lacks VBMI.
    void apply_scalar(const void* x, void* y, int64_t n) const;
    bool apply_vbmi(const void* x, void* y, int64_t n) const;
};

// The float ops a QLinearLookup may tabulate: elementwise activations of one float input whose other inputs, if any,
// are one-value constants (Clip's bounds, Pow's exponent).
bool is_tabulated_activation(std::string_view op_type);

// The ops that give the same output from the codes as from the dequantized values, up to the output's
// requantization: they move elements (Reshape, Transpose, Slice, nearest Resize, ...) or pick the largest (MaxPool,
// dequantization being increasing). A QLinear<op> kernel runs them on the codes.
bool runs_on_codes(std::string_view op_type);

// The kernel of `node` on `inputs`, built as the graph would at ctx's opset and options and labelled `label`, with
// its outputs in `outputs`: a stage of the unfused chain a table is built from, or the op a fused kernel runs on
// the codes. Fails naming ctx's node when the op has no kernel.
std::unique_ptr<Kernel> make_node_kernel(const KernelContext& ctx, const onnx::Node& node, const std::string& label,
                                         const std::vector<const ValueDesc*>& inputs, std::vector<ValueDesc>& outputs);

// The table of DequantizeLinear(x_scale, x_zero_point) -> `op` -> QuantizeLinear(y_scale, y_zero_point) over the
// codes of `dtype`, the four parameters being inputs of `ctx` that hold one constant value each, the zero points of
// `dtype`. `op` (nullptr: none, a plain requantization) reads the dequantized codes as input 0 and ctx's inputs
// `op_inputs` (constants, or absent: kAbsent) as its further inputs. Errors name ctx's node.
inline constexpr size_t kAbsent = static_cast<size_t>(-1);
CodeTable build_code_table(const KernelContext& ctx, onnx::DataType dtype, size_t x_scale, size_t x_zero_point,
                           size_t y_scale, size_t y_zero_point, const onnx::Node* op = nullptr,
                           const std::vector<size_t>& op_inputs = {});

}  // namespace ezemu::kernels::quant
