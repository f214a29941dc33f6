#include "graph/activation_chains.hpp"

#include <cstring>
#include <limits>
#include <unordered_set>

#include "graph/subgraph.hpp"

namespace ezemu::graph {
namespace {

class ActivationChainFinder {
public:
    ActivationChainFinder(const onnx::Graph& graph, int64_t opset) : graph_(graph), opset_(opset) {}

    std::unordered_map<size_t, FusedChain> find() {
        std::unordered_map<size_t, FusedChain> chain_after;
        for (const onnx::Tensor& t : graph_.initializers) initializers_.emplace(t.name, &t);
        for (size_t i = 0; i < graph_.nodes.size(); ++i) {
            for (const std::string& in : graph_.nodes[i].inputs)
                if (!in.empty()) readers_[in].push_back(i);
            for (const std::string& in : outer_scope_names(graph_.nodes[i])) readers_[in].push_back(i);
            if (graph_.nodes[i].is_default_domain() && graph_.nodes[i].op_type == "Constant")
                for (const std::string& o : graph_.nodes[i].outputs) constant_nodes_[o] = i;
        }
        for (const onnx::ValueInfo& vi : graph_.outputs) graph_outputs_.insert(vi.name);
        for (size_t p = 0; p < graph_.nodes.size(); ++p) {
            const onnx::Node& source = graph_.nodes[p];
            if (!source.is_default_domain() || source.outputs.size() != 1 || source.outputs[0].empty()) continue;
            FusedChain chain;
            std::string t = source.outputs[0];
            while (extend_chain(chain, t)) {
            }
            if (!chain.ops.empty()) chain_after.emplace(p, std::move(chain));
        }
        return chain_after;
    }

    // The nodes reading `name` when it is no graph output; empty otherwise.
    const std::vector<size_t>& private_readers(const std::string& name) const {
        static const std::vector<size_t> kNone;
        auto it = readers_.find(name);
        return it == readers_.end() || graph_outputs_.count(name) ? kNone : it->second;
    }

    // Appends the op that reads t (and only it) to the chain and moves t to its output.
    bool extend_chain(FusedChain& chain, std::string& t) {
        const std::vector<size_t>& rs = private_readers(t);
        const auto single_out = [&](size_t n) {
            const onnx::Node& node = graph_.nodes[n];
            return node.is_default_domain() && node.outputs.size() == 1 && !node.outputs[0].empty();
        };
        const auto other = [&](const onnx::Node& node) -> const std::string& {
            return node.inputs[0] == t ? node.inputs[1] : node.inputs[0];
        };
        if (rs.size() == 2) return extend_hard_swish(chain, t, rs);
        if (rs.size() != 1 || !single_out(rs[0])) return false;
        const onnx::Node& node = graph_.nodes[rs[0]];
        kernels::FusedOp op;
        float c = 0.0f;
        if (node.op_type == "Relu" && node.inputs.size() == 1) {
            op.kind = kernels::FusedActivation::Relu;
        } else if (node.op_type == "Clip" && node.inputs[0] == t && clip_bounds(node, op.a, op.b)) {
            op.kind = kernels::FusedActivation::Clip;
        } else if ((node.op_type == "Mul" || node.op_type == "Add") && node.inputs.size() == 2 &&
                   node.inputs[0] != node.inputs[1] && float_scalar(other(node), c)) {
            op.kind = kernels::FusedActivation::Linear;
            op.a = node.op_type == "Mul" ? c : 1.0f;
            op.b = node.op_type == "Mul" ? 0.0f : c;
        } else if (node.op_type == "Sub" && node.inputs.size() == 2 && node.inputs[0] == t &&
                   node.inputs[1] != t && float_scalar(node.inputs[1], c)) {
            op = {kernels::FusedActivation::Linear, 1.0f, -c};  // x - c and x + (-c) round alike
        } else {
            return false;
        }
        // oneDNN 2.6's brgconv applies a second post-op of the same kind with the first one's parameters (measured:
        // Mul then Add both became a * x + b): each kind at most once. A Mul by a then an Add of b (an exported
        // scale and shift) become one a * x + b, which oneDNN may round once where the graph rounds twice.
        const bool scale_then_shift = !chain.ops.empty() && chain.ops.back().kind == kernels::FusedActivation::Linear &&
                                      chain.ops.back().b == 0.0f && op.kind == kernels::FusedActivation::Linear &&
                                      op.a == 1.0f && node.op_type == "Add";
        for (const kernels::FusedOp& done : chain.ops)
            if (done.kind == op.kind && !scale_then_shift) return false;
        if (scale_then_shift) chain.ops.back().b = op.b;
        else chain.ops.push_back(op);
        chain.nodes.emplace_back(rs[0], t);
        t = node.outputs[0];
        return true;
    }

    // x read by Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(., 6), each intermediate read only by the next.
    bool extend_hard_swish(FusedChain& chain, std::string& t, const std::vector<size_t>& rs) {
        float c = 0.0f, lo = 0.0f, hi = 0.0f;
        for (int first = 0; first < 2; ++first) {
            const size_t add_i = rs[static_cast<size_t>(first)], mul_i = rs[static_cast<size_t>(1 - first)];
            const onnx::Node& add = graph_.nodes[add_i];
            const onnx::Node& mul = graph_.nodes[mul_i];
            if (!add.is_default_domain() || add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1)
                continue;
            if (!float_scalar(add.inputs[0] == t ? add.inputs[1] : add.inputs[0], c) || c != 3.0f) continue;
            const std::vector<size_t>& r1 = private_readers(add.outputs[0]);
            if (r1.size() != 1) continue;
            const onnx::Node& clip = graph_.nodes[r1[0]];
            if (!clip.is_default_domain() || clip.op_type != "Clip" || clip.outputs.size() != 1 ||
                clip.inputs[0] != add.outputs[0] || !clip_bounds(clip, lo, hi) || lo != 0.0f || hi != 6.0f)
                continue;
            const std::vector<size_t>& r2 = private_readers(clip.outputs[0]);
            if (r2.size() != 1 || r2[0] != mul_i || !mul.is_default_domain() || mul.op_type != "Mul" ||
                mul.inputs.size() != 2 || mul.outputs.size() != 1)
                continue;
            if (!((mul.inputs[0] == t && mul.inputs[1] == clip.outputs[0]) ||
                  (mul.inputs[1] == t && mul.inputs[0] == clip.outputs[0])))
                continue;
            const std::vector<size_t>& r3 = private_readers(mul.outputs[0]);
            if (r3.size() != 1) continue;
            const onnx::Node& div = graph_.nodes[r3[0]];
            if (!div.is_default_domain() || div.op_type != "Div" || div.inputs.size() != 2 ||
                div.outputs.size() != 1 || div.inputs[0] != mul.outputs[0] || !float_scalar(div.inputs[1], c) ||
                c != 6.0f)
                continue;
            for (const kernels::FusedOp& done : chain.ops)
                if (done.kind == kernels::FusedActivation::HardSwish) return false;
            chain.ops.push_back({kernels::FusedActivation::HardSwish, 0.0f, 0.0f});
            chain.nodes.emplace_back(add_i, t);
            chain.nodes.emplace_back(r1[0], t);
            chain.nodes.emplace_back(mul_i, t);
            chain.nodes.emplace_back(r3[0], t);
            t = div.outputs[0];
            return true;
        }
        return false;
    }

    // The value of a float32 one-element initializer or Constant node output.
    bool float_scalar(const std::string& name, float& v) const {
        if (name.empty()) return false;
        const onnx::Tensor* t = nullptr;
        if (auto init = initializers_.find(name); init != initializers_.end()) {
            t = init->second;
        } else if (auto c = constant_nodes_.find(name); c != constant_nodes_.end()) {
            const onnx::Node& node = graph_.nodes[c->second];
            if (node.attributes.size() != 1 || node.attributes[0].name != "value" ||
                node.attributes[0].type != onnx::AttributeType::Tensor)
                return false;
            t = &node.attributes[0].t;
        }
        if (!t || t->data_type != onnx::DataType::Float || t->element_count() != 1 || t->byte_size() != sizeof v)
            return false;
        std::memcpy(&v, t->data(), sizeof v);
        return true;
    }

    // The bounds of a Clip when they are known at load time: attributes before opset 11, else absent inputs or
    // float scalar constants.
    bool clip_bounds(const onnx::Node& clip, float& lo, float& hi) const {
        lo = -std::numeric_limits<float>::infinity();
        hi = std::numeric_limits<float>::infinity();
        if (opset_ < 11) {
            if (clip.inputs.size() != 1) return false;
            const onnx::Attribute* mn = clip.find_attribute("min");
            const onnx::Attribute* mx = clip.find_attribute("max");
            if ((mn && mn->type != onnx::AttributeType::Float) || (mx && mx->type != onnx::AttributeType::Float))
                return false;
            if (mn) lo = mn->f;
            if (mx) hi = mx->f;
            return true;
        }
        if (clip.inputs.size() > 3) return false;
        for (size_t k = 1; k < clip.inputs.size(); ++k)
            if (!clip.inputs[k].empty() && !float_scalar(clip.inputs[k], k == 1 ? lo : hi)) return false;
        return true;
    }

private:
    const onnx::Graph& graph_;
    int64_t opset_;
    std::unordered_map<std::string, std::vector<size_t>> readers_;
    std::unordered_map<std::string, size_t> constant_nodes_;  // Constant node outputs
    std::unordered_map<std::string, const onnx::Tensor*> initializers_;
    std::unordered_set<std::string> graph_outputs_;
};

}  // namespace

std::unordered_map<size_t, FusedChain> find_activation_chains(const onnx::Graph& graph, int64_t opset) {
    return ActivationChainFinder(graph, opset).find();
}

}  // namespace ezemu::graph
