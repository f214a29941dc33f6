#include "kernels/fp16_adapter.hpp"

#include <algorithm>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/prepared_weight_cache.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

struct Conversion {
    size_t index = 0;   // input or output slot
    size_t count = 0;   // elements
    size_t offset = 0;  // of the float copy in the scratch memory
};

class Float16ViaFloatKernel final : public Kernel {
public:
    Float16ViaFloatKernel(std::unique_ptr<Kernel> inner, std::vector<std::shared_ptr<const AlignedBuffer>> widened,
                          std::vector<const void*> constant_inputs, std::vector<Conversion> widen,
                          std::vector<Conversion> narrow, size_t output_count)
        : inner_(std::move(inner)), widened_(std::move(widened)), constant_inputs_(std::move(constant_inputs)),
          widen_(std::move(widen)), narrow_(std::move(narrow)) {
        // Scratch: the input and output pointer tables, the float copies, then the inner kernel's scratch.
        size_t offset = align_up(constant_inputs_.size() * sizeof(void*));
        outputs_table_offset_ = offset;
        offset += align_up(output_count * sizeof(void*));
        output_count_ = output_count;
        for (Conversion& c : widen_) c.offset = offset, offset += align_up(c.count * sizeof(float));
        for (Conversion& c : narrow_) c.offset = offset, offset += align_up(c.count * sizeof(float));
        inner_scratch_offset_ = offset;
        scratch_bytes_ = offset + inner_->scratch_bytes();
    }

    size_t scratch_bytes() const override { return scratch_bytes_; }
    std::unique_ptr<KernelState> create_state() const override { return inner_->create_state(); }
    bool applies_fused_activation() const override { return inner_->applies_fused_activation(); }

    void run(const RunContext& ctx) const override {
        auto* scratch = static_cast<uint8_t*>(ctx.scratch);
        auto** in = reinterpret_cast<const void**>(scratch);
        auto** out = reinterpret_cast<void**>(scratch + outputs_table_offset_);
        for (size_t i = 0; i < constant_inputs_.size(); ++i)
            in[i] = constant_inputs_[i] ? constant_inputs_[i] : ctx.inputs[i];
        for (size_t i = 0; i < output_count_; ++i) out[i] = ctx.outputs[i];
        for (const Conversion& c : widen_) {
            auto* f = reinterpret_cast<float*>(scratch + c.offset);
            numerics::halves_to_floats(static_cast<const uint16_t*>(ctx.inputs[c.index]), f, c.count);
            in[c.index] = f;
        }
        for (const Conversion& c : narrow_) out[c.index] = scratch + c.offset;
        const RunContext inner{in, out, scratch + inner_scratch_offset_, ctx.state, ctx.stream};
        inner_->run(inner);
        for (const Conversion& c : narrow_)
            if (ctx.outputs[c.index])
                numerics::floats_to_halves(reinterpret_cast<const float*>(scratch + c.offset),
                                           static_cast<uint16_t*>(ctx.outputs[c.index]), c.count);
    }

private:
    std::unique_ptr<Kernel> inner_;
    std::vector<std::shared_ptr<const AlignedBuffer>> widened_;  // float copies of constant float16 inputs
    std::vector<const void*> constant_inputs_;   // per input: its widened constant, or nullptr
    std::vector<Conversion> widen_, narrow_;
    size_t outputs_table_offset_ = 0, output_count_ = 0, inner_scratch_offset_ = 0, scratch_bytes_ = 0;
};

}  // namespace

bool has_float16_input(const KernelContext& ctx) {
    for (size_t i = 0; i < ctx.input_count(); ++i)
        if (ctx.has_input(i) && ctx.input(i).dtype == onnx::DataType::Float16) return true;
    return false;
}

std::unique_ptr<Kernel> make_float16_via_float(KernelContext& ctx, KernelFactory float_factory,
                                               uint32_t keep_float_outputs) {
    std::vector<ValueDesc> descs(ctx.input_count());
    std::vector<const ValueDesc*> views(ctx.input_count(), nullptr);
    std::vector<std::shared_ptr<const AlignedBuffer>> widened;
    std::vector<const void*> constants(ctx.input_count(), nullptr);
    std::vector<Conversion> widen;
    widened.reserve(ctx.input_count());
    for (size_t i = 0; i < ctx.input_count(); ++i) {
        if (!ctx.has_input(i)) continue;
        const ValueDesc& v = ctx.input(i);
        if (v.dtype != onnx::DataType::Float16) {
            views[i] = &v;
            continue;
        }
        const size_t count = static_cast<size_t>(v.element_count());
        descs[i] = ValueDesc{onnx::DataType::Float, v.shape, nullptr};
        if (v.is_constant()) {
            // Models on the same float16 weights (shared-weight slaves) share one widened copy.
            const dnnl::memory::dims dims{static_cast<dnnl::memory::dim>(std::max<size_t>(count, 1))};
            widened.push_back(PreparedWeightCache::instance().get(
                v.data, dnnl::memory::desc(dims, dnnl::memory::data_type::f16, dnnl::memory::format_tag::a), 1.0f,
                dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a),
                [&](uint8_t* out) {
                    numerics::halves_to_floats(static_cast<const uint16_t*>(v.data), reinterpret_cast<float*>(out),
                                               count);
                }));
            descs[i].data = widened.back()->data();
            constants[i] = widened.back()->data();
        } else {
            widen.push_back(Conversion{i, count, 0});
        }
        views[i] = &descs[i];
    }
    KernelContext inner_ctx(ctx.node(), ctx.label(), ctx.opset(), views, ctx.options());
    inner_ctx.set_fused_ops(ctx.fused_ops());
    std::unique_ptr<Kernel> inner = float_factory(inner_ctx);
    std::vector<Conversion> narrow;
    for (size_t i = 0; i < inner_ctx.outputs().size(); ++i) {
        const ValueDesc& o = inner_ctx.outputs()[i];
        if (o.dtype == onnx::DataType::Undefined) continue;
        const bool keep = i < 32 && (keep_float_outputs >> i & 1u);
        if (o.dtype == onnx::DataType::Float && !keep) {
            ctx.set_output(i, onnx::DataType::Float16, o.shape);
            narrow.push_back(Conversion{i, static_cast<size_t>(shape_elements(o.shape)), 0});
        } else {
            ctx.set_output(i, o.dtype, o.shape);
        }
    }
    return std::make_unique<Float16ViaFloatKernel>(std::move(inner), std::move(widened), std::move(constants),
                                                   std::move(widen), std::move(narrow), inner_ctx.outputs().size());
}

}  // namespace ezemu::kernels
