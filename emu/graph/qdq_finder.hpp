// The QDQ pattern finder behind find_qdq_patterns (qdq_fusion.hpp). qdq_fusion.cpp holds the shared helpers and
// matches the products (Conv, MatMul) and the binary ops (Add, Mul); a further group of patterns goes into its own
// qdq_fusion_<group>.cpp as a member of QdqFinder, called from find(). Internal to the graph lowering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "graph/qdq_fusion.hpp"

namespace ezemu::graph::detail {

class QdqFinder {
public:
    explicit QdqFinder(const onnx::Graph& graph);

    // Node index -> the pattern that replaces it, for every node that matches one.
    std::unordered_map<size_t, QdqPattern> find() const;

    static constexpr size_t kNone = QdqPattern::kNone;

    // The initializer called `name`, or nullptr.
    const onnx::Tensor* initializer(const std::string& name) const;

    // The `op` (DequantizeLinear / QuantizeLinear) node of the default domain with an explicit zero point that
    // produces `tensor`, or nullptr.
    const onnx::Node* producer(const std::string& tensor, const char* op) const;

    // True when the Q/DQ node's scale and zero point are initializers holding one value each, the scale float and
    // the zero point of `dtype` (any 8-bit type if Undefined).
    bool per_tensor(const onnx::Node& q, onnx::DataType dtype) const;

    // The node's `axis` attribute (default 1) made non-negative for a tensor of `rank`.
    int64_t axis_of(const onnx::Node& q, int64_t rank) const;

    // The QuantizeLinear (per tensor, explicit 8-bit zero point) that is the only reader of `y`, which is no graph
    // output; nullptr otherwise. `y` may first pass through a Relu or Clip that the QuantizeLinear's saturation makes
    // redundant (onnxruntime removes those too, with the same conditions); it is then `activation`.
    const onnx::Node* only_quantize_reader(const std::string& y, size_t& q_index, size_t& activation) const;

    // The one node that reads `y` (once), which is no graph output, or kNone.
    size_t only_reader(const std::string& y) const;

    // True when QuantizeLinear `q` clamps at least as tightly as the Relu / Clip `act` before it.
    bool redundant_before(const onnx::Node& act, const onnx::Node& q) const;

    // The weights of DQ(w): an 8-bit initializer quantized per tensor, or per channel along `axis` when it has `rank`
    // dims (0: any), with initializer scales and zero points of its type.
    bool weight_initializer(const onnx::Node& dq_w, int64_t rank, int64_t axis) const;

    // The int32 initializer that the DequantizeLinear producing `tensor` dequantizes with zero points 0, or nullptr.
    const onnx::Tensor* int32_bias(const std::string& tensor) const;

    const onnx::Graph& graph() const { return graph_; }

private:
    // DQ(a), DQ(b) -> Add / Mul -> Q(y): QLinearAdd / QLinearMul (qdq_fusion.cpp).
    bool match_binary(const onnx::Node& op, QdqPattern& p) const;
    // DQ(x), DQ(w) [, DQ(bias)] -> Conv / MatMul -> Q(y): QLinearConv / QLinearMatMul (qdq_fusion.cpp).
    bool match_product(const onnx::Node& op, QdqPattern& p) const;
    // Ops on int32 sums (qdq_fusion_accum.cpp): DQ(a), DQ(b) [, DQ(int32 c)] -> Gemm -> Q(y): QGemm;
    // DQ(x) -> GlobalAveragePool / AveragePool -> Q(y): QLinearGlobalAveragePool / QLinearAveragePool.
    bool match_accumulating(const onnx::Node& op, QdqPattern& p) const;
    bool match_gemm(const onnx::Node& op, QdqPattern& p) const;
    bool match_average_pool(const onnx::Node& op, QdqPattern& p) const;
    // The patterns whose kernels look 8-bit codes up in 256-entry tables (qdq_fusion_lut.cpp): DQ(x) -> activation
    // -> Q(y) as QLinearLookup, DQ(x) -> MaxPool / Reshape / Transpose ... -> Q(y) as QLinear<op> (the op on the
    // codes), DQ(x_i)... -> Concat -> Q(y) as QLinearConcat, DQ(x) -> Split -> Q(y_k)... as QLinearSplit.
    bool match_table(const onnx::Node& op, QdqPattern& p) const;
    bool match_lookup(const onnx::Node& op, QdqPattern& p) const;
    bool match_lookup_max_pool(const onnx::Node& op, QdqPattern& p) const;
    bool match_unary(const onnx::Node& op, const std::string& fused_type, QdqPattern& p) const;
    bool match_concat(const onnx::Node& op, QdqPattern& p) const;
    bool match_split(const onnx::Node& op, QdqPattern& p) const;
    // The per-tensor DequantizeLinear of `dtype` (any 8-bit type if Undefined) producing `tensor` whose scale a
    // table can use: positive and finite, and no attribute that changes its output type. nullptr otherwise.
    const onnx::Node* table_dequantize(const std::string& tensor, onnx::DataType dtype) const;
    // The QuantizeLinear that is the only reader of `y`, for a table of `dtype` (the same conditions), with no
    // Relu / Clip between them. nullptr otherwise.
    const onnx::Node* table_quantize(const std::string& y, onnx::DataType dtype, size_t& q_index) const;

    const onnx::Graph& graph_;
    std::unordered_map<std::string, const onnx::Tensor*> initializers_;
    std::unordered_set<std::string> graph_outputs_;
    std::unordered_map<std::string, size_t> producer_;
    std::unordered_map<std::string, int> readers_;
};

}  // namespace ezemu::graph::detail
