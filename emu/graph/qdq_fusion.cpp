#include "graph/qdq_finder.hpp"

#include <cstring>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/subgraph.hpp"

namespace ezemu::graph {

namespace detail {

namespace {
using DT = onnx::DataType;
}  // namespace

QdqFinder::QdqFinder(const onnx::Graph& graph) : graph_(graph) {
    for (const onnx::Tensor& t : graph.initializers) initializers_.emplace(t.name, &t);
    for (const onnx::ValueInfo& vi : graph.outputs) graph_outputs_.insert(vi.name);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const std::string& out : graph.nodes[i].outputs)
            if (!out.empty()) producer_.emplace(out, i);
        for (const std::string& in : graph.nodes[i].inputs)
            if (!in.empty()) ++readers_[in];
        for (const std::string& in : outer_scope_names(graph.nodes[i])) ++readers_[in];
    }
}

std::unordered_map<size_t, QdqPattern> QdqFinder::find() const {
    std::unordered_map<size_t, QdqPattern> found;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
        const onnx::Node& n = graph_.nodes[i];
        if (!n.is_default_domain()) continue;
        QdqPattern p;
        const bool product = n.op_type == "Conv" || n.op_type == "MatMul";
        const bool binary = n.op_type == "Add" || n.op_type == "Mul";
        if ((product && match_product(n, p)) || (binary && match_binary(n, p)) || match_accumulating(n, p) ||
            match_table(n, p))
            found.emplace(i, std::move(p));
    }
    return found;
}

const onnx::Tensor* QdqFinder::initializer(const std::string& name) const {
    auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : it->second;
}

// The DequantizeLinear / QuantizeLinear node that produces `tensor` (default domain, 3 inputs), or nullptr.
const onnx::Node* QdqFinder::producer(const std::string& tensor, const char* op) const {
    auto it = producer_.find(tensor);
    if (it == producer_.end()) return nullptr;
    const onnx::Node& n = graph_.nodes[it->second];
    if (!n.is_default_domain() || n.op_type != op || n.inputs.size() < 3 || n.inputs[2].empty()) return nullptr;
    return &n;
}

// Scale and zero point of a Q/DQ node: initializers, one value each, zero point of `dtype` (8-bit if Undefined).
bool QdqFinder::per_tensor(const onnx::Node& q, DT dtype) const {
    const onnx::Tensor* s = initializer(q.inputs[1]);
    const onnx::Tensor* z = initializer(q.inputs[2]);
    if (!s || !z || s->data_type != DT::Float || z->dims.size() > 1) return false;
    int64_t count = 1;
    for (int64_t d : s->dims) count *= d;
    if (count != 1 || s->dims.size() > 1) return false;
    if (dtype == DT::Undefined) return z->data_type == DT::Uint8 || z->data_type == DT::Int8;
    return z->data_type == dtype;
}

int64_t QdqFinder::axis_of(const onnx::Node& q, int64_t rank) const {
    const onnx::Attribute* a = q.find_attribute("axis");
    const int64_t axis = a ? a->i : 1;
    return axis < 0 ? axis + rank : axis;
}

// The QuantizeLinear (per tensor, explicit 8-bit zero point) that is the only reader of `y`, which is no graph
// output; nullptr otherwise. `y` may first pass through a Relu or Clip that the QuantizeLinear's saturation makes
// redundant (onnxruntime removes those too, with the same conditions); it is then `activation`.
const onnx::Node* QdqFinder::only_quantize_reader(const std::string& y, size_t& q_index, size_t& activation) const {
    const size_t reader = only_reader(y);
    if (reader == kNone) return nullptr;
    const onnx::Node& n = graph_.nodes[reader];
    if (n.is_default_domain() && (n.op_type == "Relu" || n.op_type == "Clip") && n.outputs.size() == 1) {
        const onnx::Node* q = only_quantize_reader(n.outputs[0], q_index, activation);
        if (!q || activation != kNone || !redundant_before(n, *q)) return nullptr;
        activation = reader;
        return q;
    }
    if (!n.is_default_domain() || n.op_type != "QuantizeLinear" || n.inputs.size() != 3 || n.inputs[0] != y ||
        n.inputs[2].empty() || n.outputs.size() != 1 || n.outputs[0].empty() || !per_tensor(n, DT::Undefined))
        return nullptr;
    q_index = reader;
    return &n;
}

// The one node that reads `y` (once), which is no graph output, or kNone.
size_t QdqFinder::only_reader(const std::string& y) const {
    if (graph_outputs_.count(y)) return kNone;
    auto r = readers_.find(y);
    if (r == readers_.end() || r->second != 1) return kNone;
    for (size_t i = 0; i < graph_.nodes.size(); ++i)
        for (const std::string& in : graph_.nodes[i].inputs)
            if (in == y) return i;
    return kNone;  // read by a subgraph only
}

// True when QuantizeLinear `q` clamps at least as tightly as the Relu / Clip `act` before it: a Relu when q's
// zero point is the type's minimum; a Clip [lo, hi] when q's range [s * (qmin - zp), s * (qmax - zp)] lies
// inside it up to float epsilon.
bool QdqFinder::redundant_before(const onnx::Node& act, const onnx::Node& q) const {
    const onnx::Tensor* s = initializer(q.inputs[1]);
    const onnx::Tensor* z = initializer(q.inputs[2]);
    const bool int8 = z->data_type == DT::Int8;
    const int32_t zp = int8 ? static_cast<int32_t>(static_cast<int8_t>(z->data()[0])) : z->data()[0];
    const int32_t qmin = int8 ? -128 : 0, qmax = int8 ? 127 : 255;
    if (act.op_type == "Relu") return zp == qmin;
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (act.inputs.size() > 1) {  // opset 11+: optional constant inputs
        for (size_t k = 1; k < act.inputs.size() && k < 3; ++k) {
            if (act.inputs[k].empty()) continue;
            const onnx::Tensor* t = initializer(act.inputs[k]);
            if (!t || t->data_type != DT::Float || t->byte_size() != sizeof(float)) return false;
            float v;
            std::memcpy(&v, t->data(), sizeof v);
            (k == 1 ? lo : hi) = v;
        }
    } else {
        if (const onnx::Attribute* a = act.find_attribute("min")) lo = a->f;
        if (const onnx::Attribute* a = act.find_attribute("max")) hi = a->f;
    }
    float scale;
    std::memcpy(&scale, s->data(), sizeof scale);
    const float lower = scale * static_cast<float>(qmin - zp), upper = scale * static_cast<float>(qmax - zp);
    constexpr float eps = std::numeric_limits<float>::epsilon();
    return !(eps < lo - lower) && !(eps < upper - hi);
}

// The weights of DQ(w): an 8-bit initializer quantized per tensor, or per channel along `axis` when it has `rank`
// dims (0: any), with initializer scales and zero points of its type.
bool QdqFinder::weight_initializer(const onnx::Node& dq_w, int64_t rank, int64_t axis) const {
    const onnx::Tensor* w = initializer(dq_w.inputs[0]);
    const onnx::Tensor* ws = initializer(dq_w.inputs[1]);
    const onnx::Tensor* wz = initializer(dq_w.inputs[2]);
    if (!w || !ws || !wz || (w->data_type != DT::Int8 && w->data_type != DT::Uint8) || wz->data_type != w->data_type ||
        ws->data_type != DT::Float)
        return false;
    if (per_tensor(dq_w, w->data_type)) return true;
    const auto dims = static_cast<int64_t>(w->dims.size());
    if ((rank > 0 && dims != rank) || dims <= axis || axis_of(dq_w, dims) != axis) return false;
    const int64_t channels = w->dims[static_cast<size_t>(axis)];
    return ws->dims == std::vector<int64_t>{channels} && wz->dims == std::vector<int64_t>{channels};
}

// The int32 initializer that the DequantizeLinear producing `tensor` dequantizes with zero points 0 (the bias is
// added to the accumulators as is), or nullptr.
const onnx::Tensor* QdqFinder::int32_bias(const std::string& tensor) const {
    const onnx::Node* dq_b = producer(tensor, "DequantizeLinear");
    if (!dq_b) return nullptr;
    const onnx::Tensor* b = initializer(dq_b->inputs[0]);
    const onnx::Tensor* bz = initializer(dq_b->inputs[2]);
    if (!b || b->data_type != DT::Int32 || !bz || bz->data_type != DT::Int32) return nullptr;
    for (size_t k = 0; k < bz->byte_size(); ++k)
        if (bz->data()[k] != 0) return nullptr;
    return b;
}

// DQ(a), DQ(b) -> Add / Mul -> Q(y), all per tensor and of one 8-bit type: QLinearAdd / QLinearMul.
bool QdqFinder::match_binary(const onnx::Node& op, QdqPattern& p) const {
    if (op.outputs.size() != 1 || op.inputs.size() != 2) return false;
    const onnx::Node* dq_a = producer(op.inputs[0], "DequantizeLinear");
    const onnx::Node* dq_b = producer(op.inputs[1], "DequantizeLinear");
    size_t q_index = 0, activation = kNone;
    const onnx::Node* q_y = only_quantize_reader(op.outputs[0], q_index, activation);
    if (!dq_a || !dq_b || !q_y) return false;
    const onnx::Tensor* z = initializer(q_y->inputs[2]);
    if (!per_tensor(*dq_a, z->data_type) || !per_tensor(*dq_b, z->data_type)) return false;
    p.fused.name = op.name;
    p.fused.op_type = op.op_type == "Add" ? "QLinearAdd" : "QLinearMul";
    p.fused.inputs = {dq_a->inputs[0], dq_a->inputs[1], dq_a->inputs[2], dq_b->inputs[0],
                      dq_b->inputs[1], dq_b->inputs[2], q_y->inputs[1],  q_y->inputs[2]};
    p.fused.outputs = {q_y->outputs[0]};
    p.quantize_node = q_index;
    p.activation_node = activation;
    return true;
}

bool QdqFinder::match_product(const onnx::Node& op, QdqPattern& p) const {
    const bool conv = op.op_type == "Conv";
    if (op.outputs.size() != 1 || op.inputs.size() < 2 || (!conv && op.inputs.size() != 2)) return false;
    const onnx::Node* dq_x = producer(op.inputs[0], "DequantizeLinear");
    const onnx::Node* dq_w = producer(op.inputs[1], "DequantizeLinear");
    if (!dq_x || !dq_w || !per_tensor(*dq_x, DT::Undefined)) return false;
    size_t q_index = 0, activation = kNone;
    const onnx::Node* q_y = only_quantize_reader(op.outputs[0], q_index, activation);
    if (!q_y) return false;

    if (!weight_initializer(*dq_w, conv ? 0 : 2, conv ? 0 : 1)) return false;

    p.fused.name = op.name;
    p.fused.domain = op.domain;
    p.fused.op_type = conv ? "QLinearConv" : "QLinearMatMul";
    p.fused.inputs = {dq_x->inputs[0], dq_x->inputs[1], dq_x->inputs[2], dq_w->inputs[0], dq_w->inputs[1],
                      dq_w->inputs[2], q_y->inputs[1], q_y->inputs[2]};
    p.fused.outputs = {q_y->outputs.empty() ? std::string() : q_y->outputs[0]};
    if (conv && op.inputs.size() > 2 && !op.inputs[2].empty()) {
        const onnx::Tensor* b = int32_bias(op.inputs[2]);
        if (!b) return false;
        p.fused.inputs.push_back(b->name);
    }
    if (p.fused.outputs[0].empty()) return false;
    if (conv) p.fused.attributes = op.attributes;
    p.quantize_node = q_index;
    p.activation_node = activation;
    return true;
}

}  // namespace detail

std::unordered_map<size_t, QdqPattern> find_qdq_patterns(const onnx::Graph& graph) { return detail::QdqFinder(graph).find(); }

}  // namespace ezemu::graph
