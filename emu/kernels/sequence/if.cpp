// If whose condition is known only at run time (a constant condition never gets here: the graph lowering inlines
// the chosen branch). Each branch becomes a model of its own, compiled once at load time: the outer-scope tensors
// it reads become its inputs, or its initializers when they are constants, so shapes fold inside it as usual. A run
// picks a branch and runs it on the outer tensors' storage, writing straight into the If's outputs.
// The graph lowering appends the outer-scope tensors to the node's inputs, in outer_scope_names(node) order.
#include <algorithm>

#include "graph/compiled_model.hpp"
#include "graph/subgraph.hpp"
#include "kernels/aligned_buffer.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;

struct Branch {
    std::shared_ptr<const CompiledModel> model;
    std::vector<size_t> inputs;  // per input of the branch model: the If kernel's input index that feeds it
};

class IfState final : public KernelState {
public:
    std::unique_ptr<ExecutionState> then_state, else_state;
    std::vector<const void*> inputs;
    std::vector<void*> outputs;
};

class IfKernel final : public Kernel {
public:
    IfKernel(Branch then_branch, Branch else_branch, std::vector<size_t> omitted_bytes)
        : then_(std::move(then_branch)), else_(std::move(else_branch)), omitted_bytes_(std::move(omitted_bytes)) {}

    size_t scratch_bytes() const override {
        size_t bytes = 0;
        for (size_t b : omitted_bytes_) bytes += align_up(b);
        return bytes;
    }

    std::unique_ptr<KernelState> create_state() const override {
        auto s = std::make_unique<IfState>();
        s->then_state = then_.model->create_state();
        s->else_state = else_.model->create_state();
        s->inputs.resize(std::max(then_.inputs.size(), else_.inputs.size()));
        s->outputs.resize(omitted_bytes_.size());
        return s;
    }

    void run(const RunContext& ctx) const override {
        auto& s = static_cast<IfState&>(*ctx.state);
        const bool take_then = *static_cast<const uint8_t*>(ctx.inputs[0]) != 0;
        const Branch& b = take_then ? then_ : else_;
        for (size_t i = 0; i < b.inputs.size(); ++i) s.inputs[i] = ctx.inputs[b.inputs[i]];
        // Outputs nobody reads still need somewhere to go: they land in scratch.
        auto* spare = static_cast<uint8_t*>(ctx.scratch);
        for (size_t k = 0; k < omitted_bytes_.size(); ++k) {
            s.outputs[k] = ctx.outputs[k];
            if (!s.outputs[k]) {
                s.outputs[k] = spare;
                spare += align_up(omitted_bytes_[k]);
            }
        }
        b.model->run(take_then ? *s.then_state : *s.else_state, s.inputs.data(), s.outputs.data());
    }

private:
    Branch then_, else_;
    std::vector<size_t> omitted_bytes_;  // per output: its size when the node omits it, else 0
};

// The branch as a model of its own: outer constants become initializers viewing the outer data, other outer
// tensors become inputs with their static dtype and shape.
Branch compile_branch(KernelContext& ctx, const char* attr_name, const std::vector<std::string>& outer) {
    const onnx::Attribute* a = ctx.attribute(attr_name, onnx::AttributeType::Graph);
    if (!a || !a->g) ctx.fail(std::string("the '") + attr_name + "' graph attribute is missing");
    auto model = std::make_shared<onnx::Model>();
    model->ir_version = 8;
    model->opset_import.push_back({"", ctx.opset()});
    model->graph = *a->g;
    onnx::Graph& g = model->graph;
    if (!g.inputs.empty()) ctx.fail(std::string(attr_name) + " declares inputs; If branches take none");

    Branch branch;
    for (const std::string& name : graph::outer_scope_names(*a->g)) {
        const size_t k = static_cast<size_t>(std::find(outer.begin(), outer.end(), name) - outer.begin());
        const size_t input = ctx.node().inputs.size() + k;
        const ValueDesc& v = ctx.input(input);
        if (v.is_constant()) {
            onnx::Tensor t;
            t.name = name;
            t.data_type = v.dtype;
            t.dims = v.shape;
            t.raw = static_cast<const uint8_t*>(v.data);
            t.raw_size = v.byte_size();
            g.initializers.push_back(std::move(t));
        } else {
            onnx::ValueInfo vi;
            vi.name = name;
            vi.elem_type = v.dtype;
            vi.has_tensor_type = true;
            vi.has_shape = true;
            for (int64_t d : v.shape) vi.dims.push_back(onnx::Dim{d, {}});
            g.inputs.push_back(std::move(vi));
            branch.inputs.push_back(input);
        }
    }
    CompileOptions options;
    options.intra_op_threads = ctx.options().intra_op_threads;
    options.reference_kernels = ctx.options().reference_kernels;
    try {
        branch.model = CompiledModel::compile(model, nullptr, options);
    } catch (const ModelError& e) {
        ctx.fail(std::string(attr_name) + ": " + e.what());
    }
    if (branch.model->outputs().size() != ctx.output_count())
        ctx.fail(std::string(attr_name) + " has " + std::to_string(branch.model->outputs().size()) +
                 " outputs, the node " + std::to_string(ctx.output_count()));
    return branch;
}

}  // namespace

std::unique_ptr<Kernel> make_if(KernelContext& ctx) {
    const std::vector<std::string> outer = graph::outer_scope_names(ctx.node());
    if (ctx.node().inputs.size() != 1 || ctx.input_count() != 1 + outer.size())
        ctx.fail("takes 1 input (the condition), got " + std::to_string(ctx.node().inputs.size()));
    const ValueDesc& cond = ctx.input(0);
    if (cond.dtype != DT::Bool || cond.element_count() != 1)
        ctx.fail("the condition must be a single bool, got " + std::string(onnx::data_type_name(cond.dtype)) + " " +
                 shape_to_string(cond.shape));

    Branch then_branch = compile_branch(ctx, "then_branch", outer);
    Branch else_branch = compile_branch(ctx, "else_branch", outer);
    std::vector<size_t> omitted_bytes(ctx.output_count(), 0);
    for (size_t k = 0; k < ctx.output_count(); ++k) {
        const TensorInfo& t = then_branch.model->outputs()[k];
        const TensorInfo& e = else_branch.model->outputs()[k];
        if (t.dtype != e.dtype || t.shape != e.shape)
            ctx.fail("output " + std::to_string(k) + " is " + onnx::data_type_name(t.dtype) + " " +
                     shape_to_string(t.shape) + " in then_branch but " + onnx::data_type_name(e.dtype) + " " +
                     shape_to_string(e.shape) +
                     " in else_branch; with a condition known only at run time both branches must give one "
                     "static dtype and shape");
        ctx.set_output(k, t.dtype, t.shape);
        if (ctx.node().outputs[k].empty()) omitted_bytes[k] = t.byte_size();
    }
    return std::make_unique<IfKernel>(std::move(then_branch), std::move(else_branch), std::move(omitted_bytes));
}

}  // namespace ezemu::kernels
