// The QDQ patterns whose integer kernels look 8-bit codes up in 256-entry tables built at load
// (kernels/quant/code_table.hpp), as onnxruntime's QLinearSigmoid / QLinearLeakyRelu / QLinearConcat do:
//   DQ(x) -> activation -> Q(y)       QLinearLookup   (kernels/quant/code_table.hpp lists the activations, and
//                                                      Pow by a constant exponent)
//   DQ(x) -> MaxPool -> Q(y)          QLinearMaxPool  (MaxPool on the codes, then the requantization table)
//   DQ(x) -> activation -> MaxPool -> Q(y)   QLinearMaxPool with lookup_op (the activation's table, then MaxPool)
//   DQ(x) -> Reshape -> Q(y) ...      QLinearReshape  (likewise every op of runs_on_codes: Transpose, Slice, ...)
//   DQ(x_i)... -> Concat -> Q(y)      QLinearConcat   (inputs quantized like y are copied, the others requantized)
//   DQ(x) -> Split -> Q(y_k)...       QLinearSplit    (Split on the codes, then each output's table if any)
// Every Q/DQ is per tensor with constant parameters, one 8-bit type throughout, and a positive finite scale (else
// the pattern stays unfused and the Q/DQ node's own checks speak). A Relu / Clip between the op and its
// QuantizeLinear keeps the pattern unfused: tabulating it exactly is left for later.
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <string>

#include "graph/qdq_finder.hpp"
#include "kernels/quant/code_table.hpp"

namespace ezemu::graph::detail {

namespace {

using DT = onnx::DataType;

// True when the node has no attribute but the listed ones (per-tensor Q/DQ attributes that change nothing here).
bool only_attributes(const onnx::Node& n, std::initializer_list<const char*> allowed) {
    for (const onnx::Attribute& a : n.attributes) {
        bool ok = false;
        for (const char* name : allowed) ok = ok || a.name == name;
        if (!ok) return false;
    }
    return true;
}

// The op's first output, when the others are absent (MaxPool's Indices); "" otherwise.
std::string only_output(const onnx::Node& op) {
    for (size_t k = 1; k < op.outputs.size(); ++k)
        if (!op.outputs[k].empty()) return {};
    return op.outputs.empty() ? std::string() : op.outputs[0];
}

// True when a per-tensor Q/DQ scale (one float32) is positive and finite: dequantization is then increasing, which
// the tables and the ops on codes need.
bool positive_finite_scale(const onnx::Tensor& scale) {
    float v;
    std::memcpy(&v, scale.data(), sizeof v);
    return std::isfinite(v) && v > 0.0f;
}

}  // namespace

const onnx::Node* QdqFinder::table_dequantize(const std::string& tensor, DT dtype) const {
    const onnx::Node* dq = producer(tensor, "DequantizeLinear");
    if (!dq || dq->inputs.size() != 3 || !per_tensor(*dq, dtype) || !only_attributes(*dq, {"axis"})) return nullptr;
    return positive_finite_scale(*initializer(dq->inputs[1])) ? dq : nullptr;
}

const onnx::Node* QdqFinder::table_quantize(const std::string& y, DT dtype, size_t& q_index) const {
    if (y.empty()) return nullptr;
    size_t activation = kNone;
    const onnx::Node* q = only_quantize_reader(y, q_index, activation);
    if (!q || activation != kNone || !per_tensor(*q, dtype) || !only_attributes(*q, {"axis", "saturate"}))
        return nullptr;
    return positive_finite_scale(*initializer(q->inputs[1])) ? q : nullptr;
}

bool QdqFinder::match_table(const onnx::Node& op, QdqPattern& p) const {
    // Cheap first: every data input dequantized (a map lookup) before the search for the QuantizeLinear.
    if (op.inputs.empty() || !producer(op.inputs[0], "DequantizeLinear")) return false;
    if (op.op_type == "Concat") return match_concat(op, p);
    if (op.op_type == "Split") return match_split(op, p);
    if (op.op_type == "Resize") {
        // Nearest sampling only (the others compute new values), and no crop: its extrapolation_value is a float
        // that the codes cannot hold.
        const onnx::Attribute* mode = op.find_attribute("mode");
        const onnx::Attribute* coords = op.find_attribute("coordinate_transformation_mode");
        if ((mode && mode->s != "nearest") || (coords && coords->s == "tf_crop_and_resize")) return false;
    }
    if (kernels::quant::runs_on_codes(op.op_type)) return match_unary(op, "QLinear" + op.op_type, p);
    return kernels::quant::is_tabulated_activation(op.op_type) && match_lookup(op, p);
}

bool QdqFinder::match_lookup(const onnx::Node& op, QdqPattern& p) const {
    if (op.inputs.empty() || op.outputs.size() != 1) return false;
    // Clip's bounds (opset 11+) and Pow's exponent are the only further inputs: one-value initializers the table
    // reads (more values would broadcast to a shape the 256 codes do not have).
    const bool pow = op.op_type == "Pow";
    if (op.inputs.size() > (op.op_type == "Clip" ? 3u : pow ? 2u : 1u)) return false;
    if (pow && (op.inputs.size() != 2 || op.inputs[1].empty())) return false;
    for (size_t k = 1; k < op.inputs.size(); ++k) {
        const onnx::Tensor* t = op.inputs[k].empty() ? nullptr : initializer(op.inputs[k]);
        if (!op.inputs[k].empty() && (!t || t->element_count() != 1 || (!pow && t->data_type != DT::Float)))
            return false;
    }
    if (match_lookup_max_pool(op, p)) return true;
    if (!match_unary(op, "QLinearLookup", p)) return false;
    onnx::Attribute which;
    which.name = "lookup_op";
    which.type = onnx::AttributeType::String;
    which.s = op.op_type;
    p.fused.attributes.push_back(std::move(which));
    return true;
}

// DQ(x) -> activation -> MaxPool -> Q(y) as QLinearMaxPool with the activation's table first (attribute lookup_op):
// quantization is non-decreasing, so Q(max of the activated values) = max of their codes, bit for bit. Only an
// activation without attributes or further inputs (HardSwish, Relu, Sigmoid, ...): the fused node carries MaxPool's.
bool QdqFinder::match_lookup_max_pool(const onnx::Node& op, QdqPattern& p) const {
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || !op.attributes.empty()) return false;
    const size_t pool = only_reader(op.outputs[0]);
    if (pool == kNone) return false;
    const onnx::Node& max_pool = graph_.nodes[pool];
    if (!max_pool.is_default_domain() || max_pool.op_type != "MaxPool" || max_pool.inputs.size() != 1) return false;
    size_t q_index = 0;
    const onnx::Node* q = table_quantize(only_output(max_pool), DT::Undefined, q_index);
    if (!q) return false;
    const onnx::Node* dq = table_dequantize(op.inputs[0], initializer(q->inputs[2])->data_type);
    if (!dq) return false;
    p.fused.name = max_pool.name;
    p.fused.op_type = "QLinearMaxPool";
    p.fused.inputs = {dq->inputs[0], dq->inputs[1], dq->inputs[2], q->inputs[1], q->inputs[2]};
    p.fused.outputs = {q->outputs[0]};
    p.fused.attributes = max_pool.attributes;
    onnx::Attribute which;
    which.name = "lookup_op";
    which.type = onnx::AttributeType::String;
    which.s = op.op_type;
    p.fused.attributes.push_back(std::move(which));
    p.quantize_node = q_index;
    p.pooled_node = pool;
    return true;
}

// DQ(x) -> op -> Q(y) as `fused_type`: x, x_scale, x_zp, y_scale, y_zp, then the op's further inputs.
bool QdqFinder::match_unary(const onnx::Node& op, const std::string& fused_type, QdqPattern& p) const {
    if (op.inputs.empty()) return false;
    size_t q_index = 0;
    const onnx::Node* q = table_quantize(only_output(op), DT::Undefined, q_index);
    if (!q) return false;
    const onnx::Node* dq = table_dequantize(op.inputs[0], initializer(q->inputs[2])->data_type);
    if (!dq) return false;
    p.fused.name = op.name;
    p.fused.op_type = fused_type;
    p.fused.inputs = {dq->inputs[0], dq->inputs[1], dq->inputs[2], q->inputs[1], q->inputs[2]};
    p.fused.inputs.insert(p.fused.inputs.end(), op.inputs.begin() + 1, op.inputs.end());
    p.fused.outputs = {q->outputs[0]};
    p.fused.attributes = op.attributes;
    p.quantize_node = q_index;
    return true;
}

bool QdqFinder::match_concat(const onnx::Node& op, QdqPattern& p) const {
    if (op.inputs.empty()) return false;
    size_t q_index = 0;
    const onnx::Node* q = table_quantize(only_output(op), DT::Undefined, q_index);
    if (!q) return false;
    const DT dtype = initializer(q->inputs[2])->data_type;
    p.fused.inputs = {q->inputs[1], q->inputs[2]};
    for (const std::string& x : op.inputs) {
        const onnx::Node* dq = x.empty() ? nullptr : table_dequantize(x, dtype);
        if (!dq) return false;
        p.fused.inputs.insert(p.fused.inputs.end(), dq->inputs.begin(), dq->inputs.end());
    }
    p.fused.name = op.name;
    p.fused.op_type = "QLinearConcat";
    p.fused.outputs = {q->outputs[0]};
    p.fused.attributes = op.attributes;
    p.quantize_node = q_index;
    return true;
}

bool QdqFinder::match_split(const onnx::Node& op, QdqPattern& p) const {
    if (op.inputs.size() > 2 || op.outputs.empty()) return false;
    const onnx::Node* dq = table_dequantize(op.inputs[0], DT::Undefined);
    if (!dq) return false;
    const DT dtype = initializer(dq->inputs[2])->data_type;
    p.fused.inputs = {dq->inputs[0], dq->inputs[1], dq->inputs[2], op.inputs.size() > 1 ? op.inputs[1] : ""};
    for (size_t k = 0; k < op.outputs.size(); ++k) {
        size_t q_index = 0;
        const onnx::Node* q = table_quantize(op.outputs[k], dtype, q_index);
        if (!q) return false;
        p.fused.inputs.push_back(q->inputs[1]);
        p.fused.inputs.push_back(q->inputs[2]);
        p.fused.outputs.push_back(q->outputs[0]);
        if (k == 0) p.quantize_node = q_index;
        else p.more_quantize_nodes.push_back(q_index);
    }
    p.fused.name = op.name;
    p.fused.op_type = "QLinearSplit";
    p.fused.attributes = op.attributes;
    return true;
}

}  // namespace ezemu::graph::detail
