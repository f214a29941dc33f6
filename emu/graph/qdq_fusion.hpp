// QDQ patterns that run on integer kernels, as onnxruntime runs them: DequantizeLinear(x), DequantizeLinear(w)
// [, DequantizeLinear(int32 bias)] -> Conv or MatMul -> QuantizeLinear(y) becomes one QLinearConv / QLinearMatMul
// node, so the accumulation is int32 and the output is requantized once (kernels/quant/requantize.hpp) instead of
// going through float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "graph/onnx_model.hpp"

namespace ezemu::graph {

struct QdqPattern {
    onnx::Node fused;           // the QLinear* node that replaces the group
    static constexpr size_t kNone = static_cast<size_t>(-1);
    size_t quantize_node = 0;   // the QuantizeLinear that the fused node absorbs (it then produces its output), or kNone
    size_t activation_node = kNone;  // a Relu / Clip between op and QuantizeLinear that the latter makes redundant
    std::vector<size_t> more_quantize_nodes;  // QLinearSplit: the QuantizeLinear of each further output
    size_t pooled_node = kNone;  // activation -> MaxPool as one QLinearMaxPool: the MaxPool it absorbs
};

// DequantizeLinear(a), DequantizeLinear(b) [, DequantizeLinear(int32 c)] -> Gemm [-> QuantizeLinear(y)] becomes QGemm
// (with a float output when no QuantizeLinear follows),
// and DequantizeLinear(x) -> GlobalAveragePool / AveragePool -> QuantizeLinear(y) becomes QLinearGlobalAveragePool /
// QLinearAveragePool (qdq_fusion_accum.cpp, with onnxruntime's conditions and arithmetic).
//
// DequantizeLinear(a), DequantizeLinear(b) -> Add / Mul -> QuantizeLinear(y) becomes QLinearAdd / QLinearMul (the
// arithmetic of onnxruntime's contrib ops of those names, kernels/quant/requantize.hpp), when a, b and y are
// quantized per tensor to one 8-bit type with constant scales and zero points.
//
// Activations, MaxPool and Concat between DequantizeLinear and QuantizeLinear nodes become QLinearLookup /
// QLinearMaxPool / QLinearConcat, kernels on 8-bit codes through 256-entry tables (qdq_fusion_lut.cpp).
//
// In the Conv / MatMul / Add / Mul patterns a Relu or Clip may sit between the op and its QuantizeLinear when the QuantizeLinear's saturation
// already does its clamping (onnxruntime's ReluQuantFusion / ClipQuantFusion conditions): it is dropped.
//
// Op node index -> its pattern. A Conv / MatMul pattern needs: x and y quantized per tensor
// with explicit 8-bit zero points; weights, scales and zero points that are initializers; 8-bit weights quantized
// per tensor or per output channel (Conv axis 0, 2-D MatMul axis 1); a bias, if any, dequantized from int32 with
// zero point 0 (its scale is taken to be x_scale * w_scale, as onnxruntime's fusion assumes); and the QuantizeLinear
// as the only reader of the op's output, which is no graph output. Anything else keeps running DequantizeLinear ->
// float op -> QuantizeLinear.
std::unordered_map<size_t, QdqPattern> find_qdq_patterns(const onnx::Graph& graph);

}  // namespace ezemu::graph
