// The contract between the graph executor and one operator's kernel. A kernel is built once per node at load time,
// when every input's dtype and static shape (and the value of constant inputs) is known, declares its outputs'
// dtypes and shapes, and then runs many times on raw pointers: a run only does arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/onnx_model.hpp"

namespace dnnl {
struct stream;
}

namespace ezemu::kernels {

using Shape = std::vector<int64_t>;

// Product of the dims (1 for a scalar).
int64_t shape_elements(const Shape& shape);
// "[1,3,224,224]".
std::string shape_to_string(const Shape& shape);

// What load time knows about one tensor of the graph.
struct ValueDesc {
    onnx::DataType dtype = onnx::DataType::Undefined;
    Shape shape;
    const void* data = nullptr;  // the value, when known at load time (initializer or folded constant)

    int64_t element_count() const { return shape_elements(shape); }
    size_t byte_size() const;
    bool is_constant() const { return data != nullptr; }
};

struct BuildOptions {
    int intra_op_threads = 1;
    bool reference_kernels = false;  // skip the fast paths (oneDNN): for cross-checks and debugging
};

// Per-ExecutionState mutable data of one kernel (e.g. oneDNN memory objects), so concurrent runs share nothing.
class KernelState {
public:
    virtual ~KernelState() = default;
};

struct RunContext {
    const void* const* inputs = nullptr;  // one per node input, nullptr for an absent optional input
    void* const* outputs = nullptr;       // one per node output
    void* scratch = nullptr;              // scratch_bytes() of memory private to this run, 64-byte aligned
    KernelState* state = nullptr;         // from create_state(), or nullptr
    dnnl::stream* stream = nullptr;       // the ExecutionState's oneDNN CPU stream
};

class Kernel {
public:
    virtual ~Kernel() = default;

    // Throws RunError for failures that depend on data (e.g. integer division by zero).
    virtual void run(const RunContext& ctx) const = 0;

    virtual size_t scratch_bytes() const { return 0; }
    virtual std::unique_ptr<KernelState> create_state() const { return nullptr; }

    // Index of the input whose storage output 0 may share (a view: Reshape, Flatten, Identity), or -1. When the
    // planner gives both the same address, run() must leave the data alone.
    virtual int aliased_input() const { return -1; }

    // True when the kernel applied KernelContext::fused_activation() to output 0.
    virtual bool applies_fused_activation() const { return false; }
    // True when the kernel reads input 0 / writes output 0 channels-last as KernelContext::channels_last_*() asked.
    virtual bool takes_channels_last() const { return false; }
    // True when each output element depends only on the elements at the same index of the inputs of its shape (no
    // broadcasting): the kernel then runs on channels-last tensors as it does on NCHW ones, all in one layout.
    virtual bool elementwise() const { return false; }

    // True when the outputs depend only on the inputs' dtypes and shapes (Shape, Size, EyeLike): the graph computes
    // them once at load time even when the inputs are not constant, so run() must not read input data.
    virtual bool output_from_shapes_only() const { return false; }
};

// An activation the graph folds into the producing kernel (the activation node then becomes a view).
// An elementwise op the graph folds into the producing kernel (the op's node then becomes a view).
enum class FusedActivation { None, Relu, Clip, Linear, HardSwish };
struct FusedOp {
    FusedActivation kind = FusedActivation::None;
    float a = 0.0f, b = 0.0f;  // Clip: bounds [a, b]; Linear: a * x + b (a Mul or an Add by a scalar constant)
};

// Everything a kernel factory may look at, and where it declares its outputs.
class KernelContext {
public:
    KernelContext(const onnx::Node& node, std::string label, int64_t opset, std::vector<const ValueDesc*> inputs,
                  const BuildOptions& options);

    const onnx::Node& node() const { return node_; }
    // "Conv node 'conv_1'": the prefix of every load-time error about this node.
    const std::string& label() const { return label_; }
    int64_t opset() const { return opset_; }
    const BuildOptions& options() const { return options_; }
    // Set by the graph when this node's only consumer is an activation the kernel may apply itself; a factory
    // that cannot fuse ignores it, and the graph asks the kernel's applies_fused_activation().
    // fused_ops() lists the ops in order; fused_activation() is Relu when the list is exactly one Relu.
    FusedActivation fused_activation() const {
        return fused_.size() == 1 && fused_[0].kind == FusedActivation::Relu ? FusedActivation::Relu
                                                                             : FusedActivation::None;
    }
    const std::vector<FusedOp>& fused_ops() const { return fused_; }
    void set_fused_ops(std::vector<FusedOp> ops) { fused_ = std::move(ops); }
    // Set by the graph when input 0 arrives, or output 0 should leave, channels-last (NHWC) rather than NCHW; a
    // kernel that honours it says so with takes_channels_last().
    bool channels_last_input() const { return channels_last_in_; }
    bool channels_last_output() const { return channels_last_out_; }
    void set_channels_last(bool input, bool output) {
        channels_last_in_ = input;
        channels_last_out_ = output;
    }

    size_t input_count() const { return inputs_.size(); }
    bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
    const ValueDesc& input(size_t i) const;  // ModelError when absent
    size_t output_count() const { return outputs_.size(); }
    void set_output(size_t i, onnx::DataType dtype, Shape shape);
    const std::vector<ValueDesc>& outputs() const { return outputs_; }

    // Attribute access; a present attribute of another type is a ModelError naming the node.
    const onnx::Attribute* attribute(const char* name, onnx::AttributeType type) const;
    int64_t attr_int(const char* name, int64_t fallback) const;
    float attr_float(const char* name, float fallback) const;
    std::string attr_string(const char* name, const std::string& fallback) const;
    std::vector<int64_t> attr_ints(const char* name, std::vector<int64_t> fallback = {}) const;
    bool has_attr(const char* name) const { return node_.find_attribute(name) != nullptr; }

    // Values of constant input i, which must be int32 or int64 (shape tensors, axes).
    std::vector<int64_t> constant_ints(size_t i) const;

    void require_inputs(size_t min_count, size_t max_count) const;
    void require_outputs(size_t min_count, size_t max_count) const;
    void require_dtype(size_t input, std::initializer_list<onnx::DataType> allowed) const;
    // An axis in [-rank, rank) (or [-rank, rank] when `inclusive_end`), normalized to non-negative.
    int64_t normalize_axis(int64_t axis, int64_t rank, bool inclusive_end = false) const;

    [[noreturn]] void fail(const std::string& what) const;

private:
    const onnx::Node& node_;
    std::string label_;
    int64_t opset_;
    std::vector<const ValueDesc*> inputs_;
    std::vector<ValueDesc> outputs_;
    const BuildOptions& options_;
    std::vector<FusedOp> fused_;
    bool channels_last_in_ = false, channels_last_out_ = false;
};

using KernelFactory = std::unique_ptr<Kernel> (*)(KernelContext& ctx);

}  // namespace ezemu::kernels
