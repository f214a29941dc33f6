// An ONNX graph prepared for execution: static shapes, constants folded, kernels created once at load time.
// One CompiledModel is shared by every context that runs the model (rknn_dup_context shares it); each context owns
// an ExecutionState with its own intermediate buffers, so contexts can run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "onnx_model.hpp"

namespace ezemu {

// A load-time refusal: the model cannot be run by the emulator. Maps to RKNN_ERR_MODEL_INVALID.
struct ModelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A run-time failure (e.g. a custom-op node with no registered implementation). Maps to RKNN_ERR_FAIL.
struct RunError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TensorInfo {
    std::string name;
    onnx::DataType dtype = onnx::DataType::Float;
    std::vector<int64_t> shape;  // static, in ONNX (NCHW) order

    int64_t element_count() const;
    size_t byte_size() const;
};

struct CompileOptions {
    // Number of threads a kernel may use inside one run (oneDNN / parallel loops). 1 keeps runs independent.
    int intra_op_threads = 1;
    // Use only the simple reference kernels, never the oneDNN fast paths: for cross-checks and debugging.
    bool reference_kernels = false;
};

class ExecutionState;

namespace graph {
class CustomOpImplementation;
struct CustomOpSites;
}  // namespace graph

class CompiledModel {
public:
    // Validates every node (unsupported default-domain op → ModelError naming op, opset and node), refuses
    // symbolic input dims (ModelError naming the input), infers every intermediate shape, folds constant
    // subgraphs and creates kernels. `keepalive` owns the bytes that the model's raw tensor views point into.
    static std::shared_ptr<const CompiledModel> compile(std::shared_ptr<const onnx::Model> model,
                                                        std::shared_ptr<const void> keepalive,
                                                        const CompileOptions& options = {});

    virtual ~CompiledModel() = default;

    virtual const std::vector<TensorInfo>& inputs() const = 0;
    virtual const std::vector<TensorInfo>& outputs() const = 0;
    virtual const onnx::Model& model() const = 0;

    // Op types of nodes outside the default domain: placeholders for custom ops, run only once registered.
    virtual std::vector<std::string> custom_op_types() const = 0;
    // Nodes of `op_type`, in any domain, that a registered custom op can run (and those it cannot).
    virtual graph::CustomOpSites custom_op_sites(const std::string& op_type) const = 0;

    // Bytes held by initializers (weights) and the peak bytes of intermediate tensors of one ExecutionState.
    virtual size_t weight_bytes() const = 0;
    virtual size_t internal_bytes() const = 0;

    virtual std::unique_ptr<ExecutionState> create_state() const = 0;

    // inputs[i] points at dense data of inputs()[i] (its dtype and shape); outputs[i] receives dense data of
    // outputs()[i]. Throws RunError on failure. Not reentrant for one state; different states may run at once.
    virtual void run(ExecutionState& state, const void* const* inputs, void* const* outputs) const = 0;

    // One label per executed step ("Conv node 'conv_1'"), in the order of ExecutionState::step_nanoseconds.
    virtual std::vector<std::string> step_labels() const = 0;
};

class ExecutionState {
public:
    virtual ~ExecutionState() = default;
    // Runs `op` in place of step `step`'s kernel (a CustomOpSite::step) in this state's runs only; nullptr gives
    // the step back to its kernel. Throws RunError for a step that does not exist.
    virtual void set_custom_op(size_t step, std::shared_ptr<graph::CustomOpImplementation> op) = 0;

    // When true, run() stores each step's wall time of the last run here (one per step_labels() entry, 0 for
    // skipped steps). Off by default, so an ordinary run pays one branch per step.
    bool time_steps = false;
    std::vector<int64_t> step_nanoseconds;
};

}  // namespace ezemu
