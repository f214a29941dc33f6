// The integer kernels of the QDQ patterns that run an op on 8-bit codes through 256-entry tables (code_table.hpp),
// targets of the QDQ fusion (graph/qdq_fusion.hpp) under internal names:
//   QLinearLookup   x, x_scale, x_zp, y_scale, y_zp [, the op's constant inputs]; attribute lookup_op names the
//                   activation, the others are its own. y = table[x], the table of DQ -> activation -> Q.
//   QLinear<op>     x, x_scale, x_zp, y_scale, y_zp [, the op's further inputs]; the op's attributes. For the ops
//                   of runs_on_codes (MaxPool, Reshape, Transpose, Slice, nearest Resize, ...): the op on the codes,
//                   then the table of DQ -> Q unless it is the identity (then a view op stays a view). A
//                   QLinearMaxPool with attribute lookup_op: that activation's table (DQ -> activation -> Q) first,
//                   then MaxPool on the codes (exact: quantization is non-decreasing).
//   QLinearConcat   y_scale, y_zp, then x, x_scale, x_zp per input (onnxruntime's order); attribute axis. Inputs
//                   quantized like y are copied, the others requantized through their DQ -> Q table first.
//   QLinearSplit    x, x_scale, x_zp, split (or absent), then y_scale, y_zp per output; Split's attributes. Split
//                   on the codes, then each output's DQ -> Q table unless it is the identity.
// All per tensor, one 8-bit type, constant scales and zero points. No float at run time.
#include <optional>
#include <string>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/quant/code_table.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::CodeTable;

// The node of the op a fused kernel runs (on floats for the table, or on the codes), named as the fused node.
onnx::Node inner_node(const KernelContext& ctx, const std::string& op_type, std::vector<std::string> inputs) {
    onnx::Node n;
    n.name = ctx.node().name;
    n.op_type = op_type;
    n.inputs = std::move(inputs);
    n.outputs = {"y"};
    for (const onnx::Attribute& a : ctx.node().attributes)
        if (a.name != "lookup_op") n.attributes.push_back(a);
    return n;
}

// The inner op's inputs: x, then the fused node's inputs from 5 on (index kAbsent for an absent one).
struct InnerInputs {
    std::vector<std::string> names{"x"};
    std::vector<size_t> indices{0};
};
InnerInputs inner_inputs(const KernelContext& ctx) {
    InnerInputs in;
    for (size_t i = 5; i < ctx.input_count(); ++i) {
        in.names.push_back(ctx.has_input(i) ? ctx.node().inputs[i] : std::string());
        in.indices.push_back(ctx.has_input(i) ? i : quant::kAbsent);
    }
    return in;
}

// Builds the kernel of `node` on `inputs` (8-bit codes) and returns it with its outputs, one per node output.
std::unique_ptr<Kernel> make_inner(const KernelContext& ctx, const onnx::Node& node,
                                   const std::vector<const ValueDesc*>& inputs, std::vector<ValueDesc>& outputs) {
    std::unique_ptr<Kernel> kernel = quant::make_node_kernel(ctx, node, ctx.label(), inputs, outputs);
    if (outputs.size() != node.outputs.size()) ctx.fail(node.op_type + " gives another number of outputs");
    for (const ValueDesc& y : outputs)  // the codes' type: the op only moves or compares them
        if (y.dtype != inputs.at(0)->dtype) ctx.fail(node.op_type + " gives " + onnx::data_type_name(y.dtype));
    return kernel;
}
std::unique_ptr<Kernel> make_inner(const KernelContext& ctx, const onnx::Node& node,
                                   const std::vector<const ValueDesc*>& inputs, ValueDesc& output) {
    std::vector<ValueDesc> outputs;
    std::unique_ptr<Kernel> kernel = make_inner(ctx, node, inputs, outputs);
    output = outputs.at(0);
    return kernel;
}

class LookupKernel final : public Kernel {
public:
    LookupKernel(const CodeTable& table, int64_t n) : table_(table), n_(n) {}
    bool elementwise() const override { return true; }  // so it may run channels-last between QLinearConvs
    void run(const RunContext& ctx) const override { table_.apply(ctx.inputs[0], ctx.outputs[0], n_); }

private:
    CodeTable table_;
    int64_t n_;
};

// An op that runs on the codes as they are, then the output's table unless it is the identity. The op reads x
// (input 0) and the fused node's inputs from 5 on.
// With a table `before` (an activation followed by MaxPool), x goes through it into scratch first and the op reads
// that.
class CodeOpKernel final : public Kernel {
public:
    static constexpr size_t kMaxInputs = 8;
    CodeOpKernel(std::unique_ptr<Kernel> op, std::optional<CodeTable> table, int64_t n, size_t op_inputs,
                 std::optional<CodeTable> before = std::nullopt, int64_t x_count = 0)
        : op_(std::move(op)), table_(table), before_(before), n_(n), x_count_(x_count), op_inputs_(op_inputs) {}
    size_t scratch_bytes() const override {
        return before_ ? align_up(static_cast<size_t>(x_count_)) + op_->scratch_bytes() : op_->scratch_bytes();
    }
    std::unique_ptr<KernelState> create_state() const override { return op_->create_state(); }
    int aliased_input() const override { return !table_ && !before_ && op_->aliased_input() == 0 ? 0 : -1; }
    void run(const RunContext& ctx) const override {
        const void* inputs[kMaxInputs] = {ctx.inputs[0]};
        void* scratch = ctx.scratch;
        if (before_) {
            auto* looked_up = static_cast<uint8_t*>(ctx.scratch);
            before_->apply(ctx.inputs[0], looked_up, x_count_);
            inputs[0] = looked_up;
            scratch = looked_up + align_up(static_cast<size_t>(x_count_));
        }
        for (size_t i = 1; i < op_inputs_; ++i) inputs[i] = ctx.inputs[4 + i];
        const RunContext inner{inputs, ctx.outputs, scratch, ctx.state, ctx.stream};
        op_->run(inner);
        if (table_) table_->apply(ctx.outputs[0], ctx.outputs[0], n_);
    }

private:
    std::unique_ptr<Kernel> op_;
    std::optional<CodeTable> table_, before_;
    int64_t n_, x_count_;
    size_t op_inputs_;
};

// One input of a Concat or output of a Split: its element count and, unless its parameters equal the other side's,
// the DQ -> Q table between them.
struct CodePart {
    std::optional<CodeTable> table;
    int64_t count = 0;
};

// Concat of the codes, the inputs with a table requantized into scratch first.
class ConcatCodesKernel final : public Kernel {
public:
    using Part = CodePart;
    ConcatCodesKernel(std::unique_ptr<Kernel> concat, std::vector<Part> parts)
        : concat_(std::move(concat)), parts_(std::move(parts)) {}

    size_t scratch_bytes() const override {
        size_t bytes = align_up(parts_.size() * sizeof(const void*)) + align_up(concat_->scratch_bytes());
        for (const Part& p : parts_)
            if (p.table) bytes += align_up(static_cast<size_t>(p.count));
        return bytes;
    }
    std::unique_ptr<KernelState> create_state() const override { return concat_->create_state(); }

    void run(const RunContext& ctx) const override {
        ScratchCursor cursor(ctx.scratch);
        const void** inputs = cursor.take<const void*>(parts_.size());
        void* concat_scratch = cursor.take<uint8_t>(concat_->scratch_bytes());
        for (size_t i = 0; i < parts_.size(); ++i) {
            const void* x = ctx.inputs[2 + 3 * i];
            if (parts_[i].table) {
                uint8_t* requantized = cursor.take<uint8_t>(static_cast<size_t>(parts_[i].count));
                parts_[i].table->apply(x, requantized, parts_[i].count);
                x = requantized;
            }
            inputs[i] = x;
        }
        const RunContext inner{inputs, ctx.outputs, concat_scratch, ctx.state, ctx.stream};
        concat_->run(inner);
    }

private:
    std::unique_ptr<Kernel> concat_;
    std::vector<Part> parts_;
};

// Split of the codes into the outputs, then each output's table if it has one.
class SplitCodesKernel final : public Kernel {
public:
    using Part = CodePart;
    SplitCodesKernel(std::unique_ptr<Kernel> split, std::vector<Part> parts)
        : split_(std::move(split)), parts_(std::move(parts)) {}
    size_t scratch_bytes() const override { return split_->scratch_bytes(); }
    std::unique_ptr<KernelState> create_state() const override { return split_->create_state(); }
    void run(const RunContext& ctx) const override {
        const void* inputs[2] = {ctx.inputs[0], ctx.inputs[3]};
        const RunContext inner{inputs, ctx.outputs, ctx.scratch, ctx.state, ctx.stream};
        split_->run(inner);
        for (size_t k = 0; k < parts_.size(); ++k)
            if (parts_[k].table) parts_[k].table->apply(ctx.outputs[k], ctx.outputs[k], parts_[k].count);
    }

private:
    std::unique_ptr<Kernel> split_;
    std::vector<Part> parts_;
};

DT eight_bit_dtype(const KernelContext& ctx, size_t x) {
    ctx.require_dtype(x, {DT::Uint8, DT::Int8});
    return ctx.input(x).dtype;
}

// The table of DQ -> Q, or nothing when it maps every code to itself (the same scale and zero point).
std::optional<CodeTable> requantization(const KernelContext& ctx, DT dtype, size_t xs, size_t xz, size_t ys,
                                        size_t yz) {
    const CodeTable t = quant::build_code_table(ctx, dtype, xs, xz, ys, yz);
    if (t.identity()) return std::nullopt;
    return t;
}

}  // namespace

std::unique_ptr<Kernel> make_qlinear_lookup(KernelContext& ctx) {
    ctx.require_inputs(5, 7);
    ctx.require_outputs(1, 1);
    const DT dtype = eight_bit_dtype(ctx, 0);
    const std::string op = ctx.attr_string("lookup_op", "");
    if (!quant::is_tabulated_activation(op))
        ctx.fail("lookup_op '" + op + "' is not an activation the lookup tables cover");
    const InnerInputs in = inner_inputs(ctx);
    const onnx::Node inner = inner_node(ctx, op, in.names);
    const std::vector<size_t> further(in.indices.begin() + 1, in.indices.end());
    const CodeTable table = quant::build_code_table(ctx, dtype, 1, 2, 3, 4, &inner, further);
    ctx.set_output(0, dtype, ctx.input(0).shape);
    return std::make_unique<LookupKernel>(table, ctx.input(0).element_count());
}

std::unique_ptr<Kernel> make_qlinear_on_codes(KernelContext& ctx) {
    ctx.require_inputs(5, 4 + CodeOpKernel::kMaxInputs);
    ctx.require_outputs(1, 1);
    const DT dtype = eight_bit_dtype(ctx, 0);
    const std::string op = ctx.node().op_type.substr(std::string("QLinear").size());
    if (!quant::runs_on_codes(op)) ctx.fail(op + " does not run on quantized codes");
    const InnerInputs in = inner_inputs(ctx);
    std::vector<const ValueDesc*> inputs;
    for (size_t i : in.indices) inputs.push_back(i == quant::kAbsent ? nullptr : &ctx.input(i));
    ValueDesc y;
    std::unique_ptr<Kernel> kernel = make_inner(ctx, inner_node(ctx, op, in.names), inputs, y);
    ctx.set_output(0, dtype, y.shape);
    const std::string lookup = ctx.attr_string("lookup_op", "");
    if (!lookup.empty()) {
        // activation -> MaxPool: the activation's table (DQ -> activation -> Q) first, then MaxPool on its codes.
        if (op != "MaxPool" || inputs.size() != 1)
            ctx.fail("lookup_op is only for a MaxPool of one input, not " + op);
        if (!quant::is_tabulated_activation(lookup))
            ctx.fail("lookup_op '" + lookup + "' is not an activation the lookup tables cover");
        onnx::Node activation;
        activation.name = ctx.node().name;
        activation.op_type = lookup;
        activation.inputs = {"x"};
        activation.outputs = {"y"};
        const CodeTable before = quant::build_code_table(ctx, dtype, 1, 2, 3, 4, &activation);
        return std::make_unique<CodeOpKernel>(std::move(kernel), std::nullopt, y.element_count(), inputs.size(),
                                              before, ctx.input(0).element_count());
    }
    std::optional<CodeTable> table = requantization(ctx, dtype, 1, 2, 3, 4);
    return std::make_unique<CodeOpKernel>(std::move(kernel), table, y.element_count(), inputs.size());
}

std::unique_ptr<Kernel> make_qlinear_concat(KernelContext& ctx) {
    ctx.require_outputs(1, 1);
    if (ctx.input_count() < 5 || (ctx.input_count() - 2) % 3 != 0)
        ctx.fail("takes y_scale, y_zero_point and then x, x_scale, x_zero_point per input, got " +
                 std::to_string(ctx.input_count()) + " inputs");
    const size_t count = (ctx.input_count() - 2) / 3;
    const DT dtype = eight_bit_dtype(ctx, 2);
    std::vector<const ValueDesc*> xs;
    std::vector<std::string> names;
    std::vector<ConcatCodesKernel::Part> parts;
    for (size_t i = 0; i < count; ++i) {
        const size_t x = 2 + 3 * i;
        ctx.require_dtype(x, {dtype});
        xs.push_back(&ctx.input(x));
        names.push_back(ctx.node().inputs[x]);
        parts.push_back({requantization(ctx, dtype, x + 1, x + 2, 0, 1), ctx.input(x).element_count()});
    }
    ValueDesc y;
    std::unique_ptr<Kernel> concat = make_inner(ctx, inner_node(ctx, "Concat", names), xs, y);
    ctx.set_output(0, dtype, y.shape);
    return std::make_unique<ConcatCodesKernel>(std::move(concat), std::move(parts));
}

std::unique_ptr<Kernel> make_qlinear_split(KernelContext& ctx) {
    const size_t count = ctx.output_count();
    if (count == 0 || ctx.input_count() != 4 + 2 * count)
        ctx.fail("takes x, x_scale, x_zero_point, split and then y_scale, y_zero_point per output, got " +
                 std::to_string(ctx.input_count()) + " inputs for " + std::to_string(count) + " outputs");
    const DT dtype = eight_bit_dtype(ctx, 0);
    const bool sizes = ctx.has_input(3);  // Split-13's split input; before opset 13 Split has one input
    onnx::Node node = inner_node(ctx, "Split", sizes ? std::vector<std::string>{"x", ctx.node().inputs[3]}
                                                     : std::vector<std::string>{"x"});
    node.outputs = ctx.node().outputs;
    std::vector<const ValueDesc*> inputs{&ctx.input(0)};
    if (sizes) inputs.push_back(&ctx.input(3));
    std::vector<ValueDesc> ys;
    std::unique_ptr<Kernel> split = make_inner(ctx, node, inputs, ys);
    std::vector<SplitCodesKernel::Part> parts;
    for (size_t k = 0; k < count; ++k) {
        parts.push_back({requantization(ctx, dtype, 1, 2, 4 + 2 * k, 5 + 2 * k), ys[k].element_count()});
        ctx.set_output(k, dtype, ys[k].shape);
    }
    return std::make_unique<SplitCodesKernel>(std::move(split), std::move(parts));
}

}  // namespace ezemu::kernels
