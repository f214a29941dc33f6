// CompiledModel over a lowered graph: compile() lowers and plans once; run() resolves the storage of every value to
// an address, runs the steps in order and copies the few outputs that were not written in place. A run allocates
// nothing: the arena, kernel states and pointer tables belong to the ExecutionState.
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cstring>
#include <new>

#include "graph/compiled_model.hpp"
#include "graph/custom_op_node.hpp"
#include "graph/lowered_graph.hpp"
#include "graph/memory_budget.hpp"
#include "kernels/onednn.hpp"

namespace ezemu {

int64_t TensorInfo::element_count() const { return kernels::shape_elements(shape); }
size_t TensorInfo::byte_size() const { return static_cast<size_t>(element_count()) * onnx::data_type_size(dtype); }

namespace graph {

namespace {

class GraphExecutionState;

class CompiledGraph final : public CompiledModel {
public:
    CompiledGraph(std::shared_ptr<const onnx::Model> model, std::shared_ptr<const void> keepalive,
                  const CompileOptions& options)
        : keepalive_(std::move(keepalive)), model_(std::move(model)), threads_(options.intra_op_threads) {
        kernels::onednn::OmpThreadLimit limit(threads_);
        lowered_ = lower_graph(*model_, kernels::BuildOptions{options.intra_op_threads, options.reference_kernels});
        plan_memory(lowered_);
        for (int v : lowered_.inputs) inputs_.push_back(info(v));
        for (int v : lowered_.outputs) outputs_.push_back(info(v));
        check_memory_budget();
        for (const Step& s : lowered_.steps) max_step_inputs_ = std::max(max_step_inputs_, s.inputs.size());
        for (const Step& s : lowered_.steps) max_step_outputs_ = std::max(max_step_outputs_, s.outputs.size());
        for (const Step& s : lowered_.steps) idle_steps_.push_back(writes_nothing(s));
    }

    const std::vector<TensorInfo>& inputs() const override { return inputs_; }
    const std::vector<TensorInfo>& outputs() const override { return outputs_; }
    const onnx::Model& model() const override { return *model_; }
    std::vector<std::string> custom_op_types() const override { return lowered_.custom_op_types; }
    CustomOpSites custom_op_sites(const std::string& op_type) const override {
        return find_custom_op_sites(lowered_, model_->graph, op_type);
    }
    size_t weight_bytes() const override { return lowered_.weight_bytes; }
    size_t internal_bytes() const override { return lowered_.arena_bytes; }
    std::vector<std::string> step_labels() const override {
        std::vector<std::string> labels;
        for (const Step& s : lowered_.steps) labels.push_back(s.label);
        return labels;
    }

    std::unique_ptr<ExecutionState> create_state() const override;
    void run(ExecutionState& state, const void* const* inputs, void* const* outputs) const override;

private:
    friend class GraphExecutionState;

    // A step whose outputs all have zero elements has nothing to compute, and kernels need not handle empty
    // buffers (whose pointers may be null): it is skipped.
    bool writes_nothing(const Step& step) const {
        for (int v : step.outputs)
            if (v >= 0 && lowered_.values[static_cast<size_t>(v)].desc.element_count() != 0) return false;
        return true;
    }

    // Each tensor fits the budget (lowering checks that); all of one context's buffers together must fit too.
    void check_memory_budget() const {
        uint64_t bytes = lowered_.arena_bytes;
        for (const TensorInfo& t : inputs_) bytes += t.byte_size();
        for (const TensorInfo& t : outputs_) bytes += t.byte_size();
        if (bytes > memory_budget_bytes())
            throw ModelError("the model needs " + std::to_string(bytes >> 20) +
                             " MiB for its inputs, outputs and intermediate tensors, more than " + memory_budget_text());
    }

    TensorInfo info(int v) const {
        const Value& value = lowered_.values[static_cast<size_t>(v)];
        return TensorInfo{value.name, value.desc.dtype, value.desc.shape};
    }

    std::shared_ptr<const void> keepalive_;  // declared first: destroyed after everything that views its bytes
    std::shared_ptr<const onnx::Model> model_;
    int threads_;
    LoweredGraph lowered_;
    std::vector<TensorInfo> inputs_, outputs_;
    size_t max_step_inputs_ = 0, max_step_outputs_ = 0;
    std::vector<char> idle_steps_;  // per step: writes_nothing()
};

class GraphExecutionState final : public ExecutionState {
public:
    explicit GraphExecutionState(const CompiledGraph& model)
        : owner(&model), arena(model.lowered_.arena_bytes), addresses(model.lowered_.values.size(), nullptr),
          step_inputs(model.max_step_inputs_, nullptr), step_outputs(model.max_step_outputs_, nullptr),
          stream(kernels::onednn::cpu_engine()) {
        for (const Step& s : model.lowered_.steps) kernel_states.push_back(s.kernel->create_state());
        custom_ops.resize(model.lowered_.steps.size());
    }

    void set_custom_op(size_t step, std::shared_ptr<CustomOpImplementation> op) override {
        if (step >= custom_ops.size()) throw RunError("set_custom_op: step " + std::to_string(step) + " does not exist");
        custom_ops[step] = std::move(op);
    }

    const CompiledGraph* owner;
    kernels::AlignedBuffer arena;
    std::vector<void*> addresses;  // per value, resolved at the start of each run
    std::vector<const void*> step_inputs;
    std::vector<void*> step_outputs;
    std::vector<std::unique_ptr<kernels::KernelState>> kernel_states;
    std::vector<std::shared_ptr<CustomOpImplementation>> custom_ops;  // per step: registered on this context
    dnnl::stream stream;
};

std::unique_ptr<ExecutionState> CompiledGraph::create_state() const {
    return std::make_unique<GraphExecutionState>(*this);
}

void CompiledGraph::run(ExecutionState& state, const void* const* inputs, void* const* outputs) const {
    auto* st = dynamic_cast<GraphExecutionState*>(&state);
    if (!st || st->owner != this) throw RunError("run: the ExecutionState was created by another model");
    for (size_t k = 0; k < inputs_.size(); ++k)
        if (!inputs || (!inputs[k] && inputs_[k].byte_size() != 0))
            throw RunError("run: input " + std::to_string(k) + " ('" + inputs_[k].name + "') has no data pointer");
    for (size_t k = 0; k < outputs_.size(); ++k)
        if (!outputs || (!outputs[k] && outputs_[k].byte_size() != 0))
            throw RunError("run: output " + std::to_string(k) + " ('" + outputs_[k].name + "') has no data pointer");

    for (size_t v = 0; v < lowered_.values.size(); ++v) {
        const Value& value = lowered_.values[v];
        void* p = nullptr;
        switch (value.storage.kind) {
            case StorageKind::None: break;
            case StorageKind::Constant: p = const_cast<void*>(value.desc.data); break;
            case StorageKind::GraphInput: p = const_cast<void*>(inputs[value.storage.index]); break;
            case StorageKind::GraphOutput: p = outputs[value.storage.index]; break;
            case StorageKind::Arena: p = st->arena.data() + value.storage.index; break;
        }
        st->addresses[v] = p;
    }

    kernels::onednn::OmpThreadLimit limit(threads_);
    if (st->time_steps) st->step_nanoseconds.assign(lowered_.steps.size(), 0);
    for (size_t s = 0; s < lowered_.steps.size(); ++s) {
        const Step& step = lowered_.steps[s];
        if (idle_steps_[s]) continue;
        const auto step_start = st->time_steps ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
        for (size_t i = 0; i < step.inputs.size(); ++i)
            st->step_inputs[i] = step.inputs[i] < 0 ? nullptr : st->addresses[static_cast<size_t>(step.inputs[i])];
        for (size_t i = 0; i < step.outputs.size(); ++i)
            st->step_outputs[i] = step.outputs[i] < 0 ? nullptr : st->addresses[static_cast<size_t>(step.outputs[i])];
        const kernels::RunContext ctx{st->step_inputs.data(), st->step_outputs.data(),
                                      st->arena.data() + step.scratch_offset, st->kernel_states[s].get(),
                                      &st->stream};
        try {
            if (CustomOpImplementation* op = st->custom_ops[s].get()) op->compute(ctx);
            else step.kernel->run(ctx);
        } catch (const RunError&) {
            throw;
        } catch (const std::bad_alloc&) {
            throw;
        } catch (const std::exception& e) {
            throw RunError(step.label + ": " + e.what());
        }
        if (st->time_steps)
            st->step_nanoseconds[s] =
                std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - step_start)
                    .count();
    }

    for (size_t k = 0; k < lowered_.outputs.size(); ++k) {
        const Value& value = lowered_.values[static_cast<size_t>(lowered_.outputs[k])];
        if (value.storage.kind == StorageKind::GraphOutput && value.storage.index == k) continue;
        const void* from = st->addresses[static_cast<size_t>(lowered_.outputs[k])];
        const size_t bytes = outputs_[k].byte_size();
        if (bytes && from != outputs[k]) std::memcpy(outputs[k], from, bytes);
    }
}

}  // namespace

}  // namespace graph

std::shared_ptr<const CompiledModel> CompiledModel::compile(std::shared_ptr<const onnx::Model> model,
                                                            std::shared_ptr<const void> keepalive,
                                                            const CompileOptions& options) {
    if (!model) throw ModelError("compile: no model");
    if (options.intra_op_threads < 1)
        throw ModelError("compile: intra_op_threads must be at least 1, got " +
                         std::to_string(options.intra_op_threads));
    try {
        return std::make_shared<graph::CompiledGraph>(std::move(model), std::move(keepalive), options);
    } catch (const ModelError&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        throw ModelError(std::string("compile: ") + e.what());
    }
}

}  // namespace ezemu
