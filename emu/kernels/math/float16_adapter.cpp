#include "kernels/math/float16_adapter.hpp"

#include <array>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

constexpr size_t kMaxPorts = 8;  // the ops that use the adapter have at most 3 inputs and 1 output

class Float16Adapter final : public Kernel {
public:
    struct Port {
        bool widen = false;        // float16 here, float32 for the inner kernel
        size_t elements = 0;
        size_t scratch_offset = 0;  // of the float copy, for run-time inputs and outputs
    };

    Float16Adapter(std::vector<AlignedBuffer> constants, std::unique_ptr<Kernel> inner, std::vector<Port> inputs,
                   std::vector<Port> outputs)
        : constants_(std::move(constants)), inner_(std::move(inner)), inputs_(std::move(inputs)),
          outputs_(std::move(outputs)) {
        size_t offset = align_up(inner_->scratch_bytes());
        for (Port* p : ports())
            if (p->widen) {
                p->scratch_offset = offset;
                offset += align_up(p->elements * sizeof(float));
            }
        scratch_bytes_ = offset;
    }

    size_t scratch_bytes() const override { return scratch_bytes_; }
    std::unique_ptr<KernelState> create_state() const override { return inner_->create_state(); }
    bool applies_fused_activation() const override { return inner_->applies_fused_activation(); }

    void run(const RunContext& ctx) const override {
        auto* scratch = static_cast<uint8_t*>(ctx.scratch);
        std::array<const void*, kMaxPorts> in{};
        std::array<void*, kMaxPorts> out{};
        for (size_t i = 0; i < inputs_.size(); ++i) {
            const Port& p = inputs_[i];
            in[i] = ctx.inputs[i];
            if (!p.widen || !ctx.inputs[i]) continue;
            auto* f = reinterpret_cast<float*>(scratch + p.scratch_offset);
            numerics::halves_to_floats(static_cast<const uint16_t*>(ctx.inputs[i]), f, p.elements);
            in[i] = f;
        }
        for (size_t i = 0; i < outputs_.size(); ++i)
            out[i] = outputs_[i].widen ? scratch + outputs_[i].scratch_offset : ctx.outputs[i];
        inner_->run(RunContext{in.data(), out.data(), scratch, ctx.state, ctx.stream});
        for (size_t i = 0; i < outputs_.size(); ++i)
            if (outputs_[i].widen && ctx.outputs[i])
                numerics::floats_to_halves(static_cast<const float*>(out[i]), static_cast<uint16_t*>(ctx.outputs[i]),
                                           outputs_[i].elements);
    }

private:
    std::vector<Port*> ports() {
        std::vector<Port*> all;
        for (Port& p : inputs_) all.push_back(&p);
        for (Port& p : outputs_) all.push_back(&p);
        return all;
    }

    std::vector<AlignedBuffer> constants_;  // widened constant inputs, which the inner kernel may point into
    std::unique_ptr<Kernel> inner_;
    std::vector<Port> inputs_, outputs_;
    size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_float16_via_float32(KernelContext& ctx, KernelFactory float_factory) {
    if (ctx.input_count() > kMaxPorts || ctx.output_count() > kMaxPorts) ctx.fail("has too many inputs or outputs");
    std::vector<AlignedBuffer> constants;
    std::vector<ValueDesc> widened(ctx.input_count());
    std::vector<const ValueDesc*> inner_inputs(ctx.input_count(), nullptr);
    std::vector<Float16Adapter::Port> in_ports(ctx.input_count());
    for (size_t i = 0; i < ctx.input_count(); ++i) {
        if (!ctx.has_input(i)) continue;
        const ValueDesc& v = ctx.input(i);
        inner_inputs[i] = &v;
        if (v.dtype != onnx::DataType::Float16) continue;
        const size_t n = static_cast<size_t>(v.element_count());
        widened[i] = ValueDesc{onnx::DataType::Float, v.shape, nullptr};
        if (v.is_constant()) {
            constants.emplace_back(n * sizeof(float));
            numerics::halves_to_floats(static_cast<const uint16_t*>(v.data),
                                       reinterpret_cast<float*>(constants.back().data()), n);
            widened[i].data = constants.back().data();
        } else {
            in_ports[i] = Float16Adapter::Port{true, n, 0};
        }
        inner_inputs[i] = &widened[i];
    }
    KernelContext inner_ctx(ctx.node(), ctx.label(), ctx.opset(), inner_inputs, ctx.options());
    inner_ctx.set_fused_activation(ctx.fused_activation());
    std::unique_ptr<Kernel> inner = float_factory(inner_ctx);
    if (inner->aliased_input() >= 0) ctx.fail("cannot run a view kernel through float32");
    std::vector<Float16Adapter::Port> out_ports(ctx.output_count());
    for (size_t i = 0; i < ctx.output_count(); ++i) {
        const ValueDesc& o = inner_ctx.outputs()[i];
        if (o.dtype == onnx::DataType::Undefined) continue;
        const bool widen = o.dtype == onnx::DataType::Float;
        ctx.set_output(i, widen ? onnx::DataType::Float16 : o.dtype, o.shape);
        if (widen) out_ports[i] = Float16Adapter::Port{true, static_cast<size_t>(o.element_count()), 0};
    }
    return std::make_unique<Float16Adapter>(std::move(constants), std::move(inner), std::move(in_ports),
                                            std::move(out_ports));
}

}  // namespace ezemu::kernels
