// lower_graph: validation, static shape inference, constant folding and dead-node removal.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "graph/activation_chains.hpp"
#include "graph/qdq_fusion.hpp"
#include "graph/channels_last_plan.hpp"
#include "graph/conv_batch_norm_folding.hpp"
#include "graph/custom_op_node.hpp"
#include "graph/lowered_graph.hpp"
#include "graph/memory_budget.hpp"
#include "graph/subgraph.hpp"
#include "graph/topological_sort.hpp"
#include "kernels/onednn.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::graph {

std::string node_reference(const onnx::Node& node, size_t index) {
    if (!node.name.empty()) return "'" + node.name + "'";
    std::string s = "#";
    s += std::to_string(index);
    for (const std::string& o : node.outputs)
        if (!o.empty()) return s + " (output '" + o + "')";
    return s;
}

namespace {

using kernels::Shape;
using kernels::ValueDesc;

// Refuses absurd shapes before anything is allocated for them.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

// Zero-byte constants still need a non-null address: a null data pointer means "not a constant".
alignas(kernels::kBufferAlignment) const uint8_t kEmptyTensor[kernels::kBufferAlignment] = {};

void check_size(const std::string& what, onnx::DataType dtype, const Shape& shape) {
    uint64_t bytes = onnx::data_type_size(dtype);
    for (int64_t d : shape) {
        if (d < 0) throw ModelError(what + " has a negative dim " + kernels::shape_to_string(shape));
        if (d != 0 && bytes > kMaxTensorBytes / static_cast<uint64_t>(d))
            throw ModelError(what + " of shape " + kernels::shape_to_string(shape) + " is too large");
        bytes *= static_cast<uint64_t>(d);
    }
    if (bytes > memory_budget_bytes())
        throw ModelError(what + " of shape " + kernels::shape_to_string(shape) + " needs " +
                         std::to_string(bytes >> 20) + " MiB, more than " + memory_budget_text());
}

std::string dims_to_string(const std::vector<onnx::Dim>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) {
        if (i) s += ",";
        if (dims[i].is_static()) s += std::to_string(dims[i].value);
        else s += dims[i].param.empty() ? "?" : dims[i].param;
    }
    return s + "]";
}

class GraphLowering {
public:
    GraphLowering(const onnx::Model& model, const kernels::BuildOptions& options, bool channels_last)
        : model_(model), graph_(model.graph), options_(options), channels_last_(channels_last) {}

    LoweredGraph lower() {
        opset_ = model_.opset("");
        if (opset_ <= 0) throw ModelError("the model imports no default-domain (ai.onnx) opset");
        check_operators();
        add_initializers(graph_);
        add_inputs();
        std::unordered_set<std::string> available;
        for (const auto& [name, id] : ids_) available.insert(name);
        const std::vector<size_t> order = topological_order(graph_, available);
        for (const onnx::ValueInfo& vi : graph_.value_info) declared_.emplace(vi.name, &vi);
        for (const onnx::ValueInfo& vi : graph_.outputs) declared_.emplace(vi.name, &vi);
        chain_after_ = find_activation_chains(graph_, opset_);
        conv_batch_norms_ = find_conv_batch_norm_pairs(graph_, opset_);
        qdq_patterns_ = find_qdq_patterns(graph_);
        if (channels_last_ && !options_.reference_kernels) {
            std::unordered_map<size_t, size_t> views = conv_batch_norms_;
            for (const auto& [producer, chain] : chain_after_) views.emplace(producer, chain.nodes.back().first);
            channels_last_plan_ = plan_channels_last(graph_, views);
            // The exact integer kernels read and write NCHW only: plan integer steps where oneDNN computes them.
            if (kernels::quant::int8_backend() == kernels::quant::Int8Backend::OnednnVnni) {
                IntegerChannelsLastPlan integer = plan_integer_channels_last(graph_, qdq_patterns_);
                channels_last_plan_.insert(integer.tensors.begin(), integer.tensors.end());
                unused_dequantize_ = std::move(integer.unused_dequantize);
            }
        }
        for (size_t index : order) lower_node(index);
        bind_outputs();
        remove_dead_steps();
        return std::move(g_);
    }

private:
    int add_value(const std::string& name, ValueDesc desc, int producer) {
        check_size("tensor '" + name + "'", desc.dtype, desc.shape);
        const int id = static_cast<int>(g_.values.size());
        // Only an inlined If branch can repeat a name (a model that breaks SSA across scopes).
        if (!ids_.emplace(name, id).second) throw ModelError("tensor '" + name + "' is defined twice");
        g_.values.push_back(Value{name, std::move(desc), producer, {}});
        return id;
    }

    void add_initializers(const onnx::Graph& graph) {
        for (const onnx::Tensor& t : graph.initializers) {
            const std::string what = "initializer '" + t.name + "'";
            if (ids_.count(t.name)) throw ModelError(what + " is defined twice");
            if (t.external)
                throw ModelError(what + " stores its data outside the model file (external data), which is not "
                                        "supported yet: save the model with its weights inside the .onnx file");
            const size_t esize = onnx::data_type_size(t.data_type);
            if (esize == 0)
                throw ModelError(what + " has dtype " + onnx::data_type_name(t.data_type) +
                                 ", which the emulator does not support");
            ValueDesc desc{t.data_type, t.dims, nullptr};
            check_size(what, desc.dtype, desc.shape);
            const size_t bytes = desc.byte_size();
            if (t.byte_size() != bytes)
                throw ModelError(what + " holds " + std::to_string(t.byte_size()) + " bytes; its dims " +
                                 kernels::shape_to_string(t.dims) + " need " + std::to_string(bytes));
            g_.weight_bytes += bytes;
            if (bytes == 0) {
                desc.data = kEmptyTensor;
            } else if (reinterpret_cast<uintptr_t>(t.data()) % esize != 0) {
                // raw_data sits at any byte offset of the file; kernels read whole elements.
                g_.constant_buffers.emplace_back(t.data(), bytes);
                desc.data = g_.constant_buffers.back().data();
            } else {
                desc.data = t.data();
            }
            add_value(t.name, std::move(desc), -1);
        }
    }

    void add_inputs() {
        std::unordered_set<std::string> seen;
        for (const onnx::ValueInfo& vi : graph_.inputs) {
            if (!seen.insert(vi.name).second) throw ModelError("graph input '" + vi.name + "' is listed twice");
            if (ids_.count(vi.name)) continue;  // an initializer: a constant of the model, not an input
            const std::string what = "input '" + vi.name + "'";
            if (!vi.has_tensor_type) throw ModelError(what + " is not a tensor; the NPU takes tensor inputs only");
            if (onnx::data_type_size(vi.elem_type) == 0)
                throw ModelError(what + " has dtype " + onnx::data_type_name(vi.elem_type) +
                                 ", which the emulator does not support");
            // -1 is the reader's "unknown"; any other negative dim_value is simply invalid, not symbolic.
            for (const onnx::Dim& d : vi.dims)
                if (d.param.empty() && d.value < -1)
                    throw ModelError(what + " has a negative dim " + std::to_string(d.value));
            bool is_static = vi.has_shape;
            for (const onnx::Dim& d : vi.dims) is_static = is_static && d.is_static();
            if (!is_static)
                throw ModelError(what + " has " + (vi.has_shape ? "symbolic dims " + dims_to_string(vi.dims)
                                                                : std::string("no shape")) +
                                 "; the NPU runs static shapes only: pin the dims before loading (rknn-toolkit2 "
                                 "input_size_list, or onnx.tools.update_model_dims)");
            ValueDesc desc{vi.elem_type, {}, nullptr};
            for (const onnx::Dim& d : vi.dims) desc.shape.push_back(d.value);
            g_.inputs.push_back(add_value(vi.name, std::move(desc), -1));
        }
    }

    // Every default-domain op needs a kernel at the imported opset: checked for all nodes before anything else, so
    // the message is about the op and not about some shape or structure problem further on.
    void check_operators() const {
        std::string first;
        std::vector<std::string> others;
        for (size_t i = 0; i < graph_.nodes.size(); ++i) {
            const onnx::Node& node = graph_.nodes[i];
            if (!node.is_default_domain() || kernels::find_kernel(node.op_type, opset_)) continue;
            if (first.empty()) {
                first = "unsupported operator '" + node.op_type + "' (opset " + std::to_string(opset_) +
                        ") at node " + node_reference(node, i);
                others.push_back(node.op_type);
            } else if (std::find(others.begin(), others.end(), node.op_type) == others.end()) {
                others.push_back(node.op_type);
            }
        }
        if (first.empty()) return;
        for (size_t i = 1; i < others.size(); ++i) first += (i == 1 ? "; also unsupported: '" : ", '") + others[i] + "'";
        throw ModelError(first);
    }

    void lower_node(size_t index) {
        const onnx::Node& node = graph_.nodes[index];
        if (absorbed_quantize_.count(index)) return;  // its output comes from the fused QDQ node
        if (unused_dequantize_.count(index)) return;  // only fused steps read its output, and they read its input
        if (lower_qdq_pattern(index)) return;
        lower_node(node, node_reference(node, index), index);
    }

    // A Conv / MatMul between DequantizeLinear and QuantizeLinear nodes runs as one QLinearConv / QLinearMatMul
    // (qdq_fusion.hpp), provided every tensor the fused node reads already exists.
    bool lower_qdq_pattern(size_t index) {
        auto it = qdq_patterns_.find(index);
        if (it == qdq_patterns_.end()) return false;
        const onnx::Node& fused = it->second.fused;
        for (const std::string& name : fused.inputs) {
            if (name.empty() || ids_.count(name)) continue;  // "": an absent optional input
            if (!unused_dequantize_.empty()) throw ChannelsLastRefused{};  // the unfused node may need one of them
            return false;
        }
        const size_t steps = g_.steps.size();
        lowering_fused_ = true;
        lower_node(fused, node_reference(graph_.nodes[index], index), kNotInMainGraph);
        lowering_fused_ = false;
        if (g_.steps.size() > steps) {
            g_.steps.back().node = &graph_.nodes[index];  // `fused` lives only as long as this lowering
            g_.steps.back().replaceable = false;           // a custom Conv / MatMul op must not take its place
        }
        if (it->second.quantize_node != QdqPattern::kNone) absorbed_quantize_.insert(it->second.quantize_node);
        absorbed_quantize_.insert(it->second.more_quantize_nodes.begin(), it->second.more_quantize_nodes.end());
        if (it->second.activation_node != QdqPattern::kNone) absorbed_quantize_.insert(it->second.activation_node);
        if (it->second.pooled_node != QdqPattern::kNone) absorbed_quantize_.insert(it->second.pooled_node);
        return true;
    }

    // `index` finds the node's fusion partners; kNotInMainGraph for a node of an inlined If branch.
    void lower_node(const onnx::Node& node, const std::string& reference, size_t index) {
        if (node.is_default_domain() && node.op_type == "If" && inline_if(node, reference)) return;
        Step step;
        step.node = &node;
        step.label = node.op_type + " node " + reference;
        std::vector<const ValueDesc*> inputs;
        bool all_constant = true;
        for (const std::string& name : node.inputs) {
            const int id = name.empty() ? -1 : ids_.at(name);
            step.inputs.push_back(id);
            inputs.push_back(id < 0 ? nullptr : &g_.values[static_cast<size_t>(id)].desc);
            if (id >= 0) all_constant = all_constant && g_.values[static_cast<size_t>(id)].desc.is_constant();
        }
        // Tensors the node's subgraphs read by name follow its own inputs (the If kernel expects them there).
        for (const std::string& name : outer_scope_names(node)) {
            const int id = ids_.at(name);
            step.inputs.push_back(id);
            inputs.push_back(&g_.values[static_cast<size_t>(id)].desc);
            all_constant = all_constant && g_.values[static_cast<size_t>(id)].desc.is_constant();
        }
        fold_batch_norm_into_conv(index, step, inputs);

        auto fused = fused_nodes_.find(index);
        if (fused != fused_nodes_.end()) {
            // Applied by the chain's producer: a view of the chain's tensor, which its other inputs do not change.
            const int id = ids_.at(fused->second);
            step.inputs = {id};
            inputs = {&g_.values[static_cast<size_t>(id)].desc};
            all_constant = false;
        }
        // Only input 0 of a kernel that takes channels-last, any input of an elementwise kernel, or a view may read
        // a channels-last tensor.
        bool view_of_channels_last = false, produces_channels_last = false, later_channels_last = false;
        for (size_t i = 1; i < step.inputs.size(); ++i) later_channels_last |= is_channels_last(step.inputs[i]);
        std::vector<ValueDesc> outputs;
        if (!node.is_default_domain()) {
            if (later_channels_last || (!step.inputs.empty() && is_channels_last(step.inputs[0])))
                throw ChannelsLastRefused{};
            step.kernel = make_custom_op_placeholder(node, index, declared_, outputs);
            if (std::find(g_.custom_op_types.begin(), g_.custom_op_types.end(), node.op_type) ==
                g_.custom_op_types.end())
                g_.custom_op_types.push_back(node.op_type);
            all_constant = false;  // a custom op never runs at load time
        } else if (fused != fused_nodes_.end() || folded_batch_norms_.count(index)) {
            // Its producer already applied it (a fused op, or a BatchNormalization folded into a Conv): a view.
            if (later_channels_last) throw ChannelsLastRefused{};
            outputs = {ValueDesc{inputs[0]->dtype, inputs[0]->shape, nullptr}};
            step.kernel = kernels::make_view_kernel(inputs[0]->byte_size());
            step.replaceable = false;
            view_of_channels_last = !step.inputs.empty() && is_channels_last(step.inputs[0]);
        } else {
            kernels::KernelContext ctx(node, step.label, opset_, std::move(inputs), options_);
            auto folded = conv_batch_norms_.find(index);
            const bool absorbs_bn = folded != conv_batch_norms_.end() && folded_batch_norms_.count(folded->second);
            auto chain = chain_after_.find(absorbs_bn ? folded->second : index);
            if (chain != chain_after_.end()) ctx.set_fused_ops(chain->second.ops);
            const bool cl_in = !step.inputs.empty() && is_channels_last(step.inputs[0]);
            const bool cl_out = (index != kNotInMainGraph || lowering_fused_) && node.outputs.size() == 1 &&
                                channels_last_plan_.count(node.outputs[0]) > 0;
            ctx.set_channels_last(cl_in, cl_out);
            step.kernel = kernels::find_kernel(node.op_type, opset_)->factory(ctx);
            if (step.kernel->elementwise() && !ctx.outputs().empty()) {
                // Every input of the output's shape must share its layout; the others (scalars) are not tensors of it.
                for (size_t i = 0; i < step.inputs.size(); ++i) {
                    const bool same_shape = ctx.has_input(i) && ctx.input(i).shape == ctx.outputs()[0].shape;
                    if (is_channels_last(step.inputs[i]) ? !(same_shape && cl_out) : (same_shape && cl_out))
                        throw ChannelsLastRefused{};
                }
                if (cl_out && all_constant) throw ChannelsLastRefused{};
            } else if (later_channels_last ||
                       ((cl_in || cl_out) && (!step.kernel->takes_channels_last() || all_constant))) {
                throw ChannelsLastRefused{};
            }
            produces_channels_last = cl_out;
            if (cl_in || cl_out) step.replaceable = false;
            if (chain != chain_after_.end() && step.kernel->applies_fused_activation()) {
                step.replaceable = false;
                for (const auto& [n, tensor] : chain->second.nodes) fused_nodes_.emplace(n, tensor);
            }
            if (step.kernel->output_from_shapes_only()) all_constant = true;  // folded: the shapes are static
            outputs = ctx.outputs();
            for (size_t i = 0; i < outputs.size(); ++i)
                if (!node.outputs[i].empty() && outputs[i].dtype == onnx::DataType::Undefined)
                    throw ModelError(step.label + ": output " + std::to_string(i) + " ('" + node.outputs[i] +
                                     "') is not produced by this kernel");
        }
        for (size_t i = 0; i < outputs.size(); ++i)
            if (outputs[i].dtype != onnx::DataType::Undefined)
                check_size(step.label + ": output " + std::to_string(i), outputs[i].dtype, outputs[i].shape);

        if (all_constant) {
            fold(step, outputs);
            for (size_t i = 0; i < node.outputs.size(); ++i)
                if (!node.outputs[i].empty()) add_value(node.outputs[i], outputs[i], -1);
            return;
        }
        const int step_index = static_cast<int>(g_.steps.size());
        for (size_t i = 0; i < node.outputs.size(); ++i)
            step.outputs.push_back(node.outputs[i].empty() ? -1 : add_value(node.outputs[i], outputs[i], step_index));
        if ((view_of_channels_last || produces_channels_last) && step.outputs.size() == 1 && step.outputs[0] >= 0)
            g_.values[static_cast<size_t>(step.outputs[0])].channels_last = true;
        g_.steps.push_back(std::move(step));
    }

    // A Conv whose only reader is an inference BatchNormalization with constant parameters reads weights and bias
    // with the normalization folded in; the BatchNormalization node then becomes a view.
    void fold_batch_norm_into_conv(size_t index, Step& step, std::vector<const ValueDesc*>& inputs) {
        auto pair = conv_batch_norms_.find(index);
        if (pair == conv_batch_norms_.end() || options_.reference_kernels || inputs.size() < 2 || !inputs[1]) return;
        const onnx::Node& bn = graph_.nodes[pair->second];
        const ValueDesc* params[4];
        for (size_t k = 0; k < 4; ++k) {
            auto it = ids_.find(bn.inputs[k + 1]);
            params[k] = it == ids_.end() ? nullptr : &g_.values[static_cast<size_t>(it->second)].desc;
        }
        const onnx::Attribute* eps = bn.find_attribute("epsilon");
        kernels::AlignedBuffer w, b;
        if (!fold_conv_batch_norm(*inputs[1], inputs.size() > 2 ? inputs[2] : nullptr, params, eps ? eps->f : 1e-5f,
                                  w, b))
            return;
        const auto add_constant = [&](const char* suffix, kernels::AlignedBuffer buffer, Shape shape) {
            std::string name = graph_.nodes[index].outputs[0] + suffix;
            while (ids_.count(name)) name += "_";
            g_.constant_buffers.push_back(std::move(buffer));
            const void* data = g_.constant_buffers.back().data();
            return add_value(name, ValueDesc{onnx::DataType::Float, std::move(shape), data}, -1);
        };
        const Shape w_shape = inputs[1]->shape;
        const int64_t channels = w_shape[0];
        step.inputs.resize(3, -1);
        step.inputs[1] = add_constant("/bn_folded_weights", std::move(w), w_shape);
        step.inputs[2] = add_constant("/bn_folded_bias", std::move(b), Shape{channels});
        // add_value may have moved every value: take the descriptions again.
        inputs.assign(step.inputs.size(), nullptr);
        for (size_t i = 0; i < step.inputs.size(); ++i)
            if (step.inputs[i] >= 0) inputs[i] = &g_.values[static_cast<size_t>(step.inputs[i])].desc;
        folded_batch_norms_.insert(pair->second);
        step.replaceable = false;  // it reads the folded weights, not the node's own
    }

    // An If whose condition is known now: the chosen branch's nodes join this graph as if written in its place, and
    // the If's outputs become views of the branch's. False when the condition is not a constant.
    bool inline_if(const onnx::Node& node, const std::string& reference) {
        if (node.inputs.size() != 1 || node.inputs[0].empty()) return false;  // the If kernel explains
        const ValueDesc& cond = g_.values[static_cast<size_t>(ids_.at(node.inputs[0]))].desc;
        if (!cond.is_constant() || cond.dtype != onnx::DataType::Bool || cond.element_count() != 1) return false;
        const std::string label = "If node " + reference;
        const char* which = *static_cast<const uint8_t*>(cond.data) ? "then_branch" : "else_branch";
        const onnx::Attribute* attr = node.find_attribute(which);
        if (!attr || attr->type != onnx::AttributeType::Graph || !attr->g)
            throw ModelError(label + ": the '" + which + "' graph attribute is missing");
        const onnx::Graph& branch = *attr->g;
        if (!branch.inputs.empty()) throw ModelError(label + ": " + which + " declares inputs; If branches take none");
        if (branch.outputs.size() != node.outputs.size())
            throw ModelError(label + ": " + which + " has " + std::to_string(branch.outputs.size()) +
                             " outputs, the node " + std::to_string(node.outputs.size()));
        add_initializers(branch);
        for (const onnx::ValueInfo& vi : branch.value_info) declared_.emplace(vi.name, &vi);
        for (const onnx::ValueInfo& vi : branch.outputs) declared_.emplace(vi.name, &vi);
        std::unordered_set<std::string> available;
        for (const auto& [name, id] : ids_) available.insert(name);
        for (size_t i : topological_order(branch, available)) {
            const onnx::Node& inner = branch.nodes[i];
            const std::string inner_ref = node_reference(inner, i) + " of " + which + " of If node " + reference;
            if (inner.is_default_domain() && !kernels::find_kernel(inner.op_type, opset_))
                throw ModelError("unsupported operator '" + inner.op_type + "' (opset " + std::to_string(opset_) +
                                 ") at node " + inner_ref);
            lower_node(inner, inner_ref, kNotInMainGraph);
        }
        for (size_t k = 0; k < node.outputs.size(); ++k) {
            if (node.outputs[k].empty()) continue;
            auto it = ids_.find(branch.outputs[k].name);
            if (it == ids_.end())
                throw ModelError(label + ": " + which + " output '" + branch.outputs[k].name + "' is not produced");
            if (is_channels_last(it->second)) throw ChannelsLastRefused{};
            const ValueDesc from = g_.values[static_cast<size_t>(it->second)].desc;
            if (from.is_constant()) {
                add_value(node.outputs[k], from, -1);
                continue;
            }
            Step step;
            step.node = &node;
            step.label = label;
            step.kernel = kernels::make_view_kernel(from.byte_size());
            step.replaceable = false;
            step.inputs = {it->second};
            const int step_index = static_cast<int>(g_.steps.size());
            step.outputs = {add_value(node.outputs[k], ValueDesc{from.dtype, from.shape, nullptr}, step_index)};
            g_.steps.push_back(std::move(step));
        }
        return true;
    }

    // Runs a node whose inputs are all known once, now; its outputs become constants of the model.
    void fold(const Step& step, std::vector<ValueDesc>& outputs) {
        const int alias = step.kernel->aliased_input();
        if (alias >= 0) {
            outputs[0].data = g_.values[static_cast<size_t>(step.inputs[static_cast<size_t>(alias)])].desc.data;
            return;
        }
        std::vector<const void*> in;
        for (int id : step.inputs) in.push_back(id < 0 ? nullptr : g_.values[static_cast<size_t>(id)].desc.data);
        std::vector<void*> out;
        for (ValueDesc& o : outputs) {
            const size_t bytes = o.dtype == onnx::DataType::Undefined ? 0 : o.byte_size();
            if (bytes == 0) {
                o.data = kEmptyTensor;
                out.push_back(const_cast<uint8_t*>(kEmptyTensor));
                continue;
            }
            g_.constant_buffers.emplace_back(bytes);
            o.data = g_.constant_buffers.back().data();
            out.push_back(g_.constant_buffers.back().data());
        }
        if (!stream_) stream_.emplace(kernels::onednn::cpu_engine());
        try {
            kernels::onednn::run_at_load(*step.kernel, in.data(), out.data(), *stream_);
        } catch (const std::exception& e) {
            throw ModelError(step.label + ": folding constant inputs failed: " + e.what());
        }
    }

    void bind_outputs() {
        for (const onnx::ValueInfo& vi : graph_.outputs) {
            auto it = ids_.find(vi.name);
            if (it == ids_.end())
                throw ModelError("graph output '" + vi.name + "' is not produced by any node, initializer or input");
            if (is_channels_last(it->second)) throw ChannelsLastRefused{};
            g_.outputs.push_back(it->second);
        }
        if (g_.outputs.empty()) throw ModelError("the graph has no outputs");
    }

    // Nodes no graph output depends on never run.
    void remove_dead_steps() {
        std::vector<bool> needed(g_.values.size(), false);
        for (int v : g_.outputs) needed[static_cast<size_t>(v)] = true;
        std::vector<bool> keep(g_.steps.size(), false);
        for (size_t s = g_.steps.size(); s-- > 0;) {
            for (int o : g_.steps[s].outputs) keep[s] = keep[s] || (o >= 0 && needed[static_cast<size_t>(o)]);
            if (!keep[s]) continue;
            for (int i : g_.steps[s].inputs)
                if (i >= 0) needed[static_cast<size_t>(i)] = true;
        }
        std::vector<Step> live;
        for (size_t s = 0; s < g_.steps.size(); ++s) {
            for (int o : g_.steps[s].outputs)
                if (o >= 0) g_.values[static_cast<size_t>(o)].producer = keep[s] ? static_cast<int>(live.size()) : -1;
            if (keep[s]) live.push_back(std::move(g_.steps[s]));
        }
        g_.steps = std::move(live);
    }

    bool is_channels_last(int value) const {
        return value >= 0 && g_.values[static_cast<size_t>(value)].channels_last;
    }

    const onnx::Model& model_;
    const onnx::Graph& graph_;
    const kernels::BuildOptions& options_;
    bool channels_last_;
    std::unordered_set<std::string> channels_last_plan_;  // Conv outputs planned channels-last
    int64_t opset_ = 0;
    LoweredGraph g_;
    std::unordered_map<std::string, int> ids_;
    std::unordered_map<std::string, const onnx::ValueInfo*> declared_;
    std::optional<dnnl::stream> stream_;  // for oneDNN kernels run while folding
    std::unordered_map<size_t, FusedChain> chain_after_;         // node index -> chain it may absorb
    std::unordered_map<size_t, std::string> fused_nodes_;       // chain nodes applied by their producer: their input
    static constexpr size_t kNotInMainGraph = SIZE_MAX;
    std::unordered_map<size_t, size_t> conv_batch_norms_;  // Conv node index -> BatchNormalization it may absorb
    std::unordered_set<size_t> folded_batch_norms_;        // BatchNormalization nodes folded into their Conv
    std::unordered_map<size_t, QdqPattern> qdq_patterns_;  // Conv / MatMul node index -> its QDQ fusion
    std::unordered_set<size_t> absorbed_quantize_;         // QuantizeLinear (and Relu / Clip) nodes a fused QDQ node replaced
    std::unordered_set<size_t> unused_dequantize_;         // DequantizeLinear nodes of channels-last integer tensors
    bool lowering_fused_ = false;                          // lower_node is lowering a fused QDQ node
};

}  // namespace

LoweredGraph lower_graph(const onnx::Model& model, const kernels::BuildOptions& options) {
    try {
        return GraphLowering(model, options, true).lower();
    } catch (const ChannelsLastRefused&) {
        return GraphLowering(model, options, false).lower();  // a kernel did not honour the plan: all NCHW
    }
}

}  // namespace ezemu::graph
