// QDQ patterns of ops whose integer kernels work on int32 sums of codes: Gemm (QGemm), GlobalAveragePool and
// AveragePool (QLinearGlobalAveragePool / QLinearAveragePool), as onnxruntime fuses them. Members of QdqFinder
// (qdq_finder.hpp), called from find().
#include <cmath>
#include <vector>

#include "graph/qdq_finder.hpp"

namespace ezemu::graph::detail {

namespace {

using DT = onnx::DataType;

float float_attribute(const onnx::Node& n, const char* name, float fallback) {
    const onnx::Attribute* a = n.find_attribute(name);
    return a ? a->f : fallback;
}

int64_t int_attribute(const onnx::Node& n, const char* name, int64_t fallback) {
    const onnx::Attribute* a = n.find_attribute(name);
    return a ? a->i : fallback;
}

}  // namespace

bool QdqFinder::match_accumulating(const onnx::Node& op, QdqPattern& p) const {
    if (op.op_type == "Gemm") return match_gemm(op, p);
    if (op.op_type == "GlobalAveragePool" || op.op_type == "AveragePool") return match_average_pool(op, p);
    return false;
}

// DQ(a) per tensor, DQ(b) of 8-bit initializer weights per tensor or per output column (axis 1, or 0 with transB)
// [, DQ(c) of an int32 initializer [N] or [1, N] with zero points 0, only with alpha = beta = 1] -> Gemm [-> Q(y)].
bool QdqFinder::match_gemm(const onnx::Node& op, QdqPattern& p) const {
    if (op.outputs.size() != 1 || op.inputs.size() < 2 || op.inputs.size() > 3) return false;
    const onnx::Node* dq_a = producer(op.inputs[0], "DequantizeLinear");
    const onnx::Node* dq_b = producer(op.inputs[1], "DequantizeLinear");
    if (!dq_a || !dq_b || !per_tensor(*dq_a, DT::Undefined)) return false;
    // Without a QuantizeLinear after it, the Gemm keeps its float output (onnxruntime's QGemm does the same).
    size_t q_index = kNone, activation = kNone;
    const onnx::Node* q_y = only_quantize_reader(op.outputs[0], q_index, activation);
    if (!q_y) q_index = activation = kNone;
    if (q_y && q_y->outputs[0].empty()) return false;
    const int64_t trans_b = int_attribute(op, "transB", 0);
    const float alpha = float_attribute(op, "alpha", 1.0f), beta = float_attribute(op, "beta", 1.0f);
    if ((trans_b != 0 && trans_b != 1) || !(alpha > 0.0f) || !std::isfinite(alpha)) return false;
    if (!weight_initializer(*dq_b, 2, trans_b ? 0 : 1)) return false;

    p.fused.name = op.name;
    p.fused.op_type = "QGemm";
    p.fused.inputs = {dq_a->inputs[0], dq_a->inputs[1], dq_a->inputs[2], dq_b->inputs[0], dq_b->inputs[1],
                      dq_b->inputs[2], q_y ? q_y->inputs[1] : std::string(), q_y ? q_y->inputs[2] : std::string()};
    if (op.inputs.size() == 3 && !op.inputs[2].empty()) {
        // onnxruntime leaves the pattern unfused otherwise: alpha would scale the bias as well.
        if (alpha != 1.0f || beta != 1.0f) return false;
        const onnx::Tensor* c = int32_bias(op.inputs[2]);
        const onnx::Tensor* b = initializer(dq_b->inputs[0]);
        if (!c || b->dims.size() != 2) return false;
        const int64_t n = b->dims[trans_b ? 0 : 1];
        if (c->dims != std::vector<int64_t>{n} && c->dims != std::vector<int64_t>{1, n}) return false;
        p.fused.inputs.push_back(c->name);
    }
    p.fused.outputs = {q_y ? q_y->outputs[0] : op.outputs[0]};
    p.fused.attributes = op.attributes;
    p.quantize_node = q_index;
    p.activation_node = activation;
    return true;
}

// DQ(x) -> GlobalAveragePool / AveragePool (without dilations) -> Q(y), x and y per tensor of one 8-bit type.
bool QdqFinder::match_average_pool(const onnx::Node& op, QdqPattern& p) const {
    if (op.outputs.size() != 1 || op.inputs.size() != 1) return false;
    const bool global = op.op_type == "GlobalAveragePool";
    if (const onnx::Attribute* d = op.find_attribute("dilations"))
        for (int64_t v : d->ints)
            if (v != 1) return false;
    const onnx::Node* dq_x = producer(op.inputs[0], "DequantizeLinear");
    size_t q_index = 0, activation = kNone;
    const onnx::Node* q_y = only_quantize_reader(op.outputs[0], q_index, activation);
    if (!dq_x || !q_y || q_y->outputs[0].empty()) return false;
    if (!per_tensor(*dq_x, initializer(q_y->inputs[2])->data_type)) return false;
    p.fused.name = op.name;
    p.fused.op_type = global ? "QLinearGlobalAveragePool" : "QLinearAveragePool";
    p.fused.inputs = {dq_x->inputs[0], dq_x->inputs[1], dq_x->inputs[2], q_y->inputs[1], q_y->inputs[2]};
    p.fused.outputs = {q_y->outputs[0]};
    if (!global) p.fused.attributes = op.attributes;
    p.quantize_node = q_index;
    p.activation_node = activation;
    return true;
}

}  // namespace ezemu::graph::detail
