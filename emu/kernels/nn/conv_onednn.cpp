// The oneDNN Conv and ConvTranspose (deconvolution): primitive and reordered weights made once at load time. The
// primitive picks its own (blocked) layouts; plain NCHW tensors are reordered in and out through the run's scratch
// memory, which measured faster than forcing plain layouts on the primitive.
#include <array>

#include "kernels/aligned_buffer.hpp"
#include "kernels/nn/conv.hpp"
#include "kernels/nn/conv_transpose.hpp"
#include "kernels/onednn.hpp"
#include "kernels/prepared_weight_cache.hpp"

namespace ezemu::kernels {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

// Conv and ConvTranspose share everything but the primitive: its layouts come from the primitive descriptor.
template <class Primitive>
class OnednnWindowKernel final : public Kernel {
public:
    OnednnWindowKernel(const typename Primitive::primitive_desc& pd, const memory::desc& src_user_md,
                       const memory::desc& dst_user_md, const memory::desc& wei_user_md, const memory::desc& bias_md,
                       const float* weights, bool has_bias, bool fused_activation, bool channels_last,
                       const char* name)
        : has_bias_(has_bias), fused_activation_(fused_activation), channels_last_(channels_last), name_(name),
          src_user_md_(src_user_md), dst_user_md_(dst_user_md), bias_md_(bias_md) {
        const dnnl::engine& eng = onednn::cpu_engine();
        conv_ = Primitive(pd);
        src_md_ = pd.src_desc();
        dst_md_ = pd.dst_desc();
        size_t pad_bytes = pd.scratchpad_desc().get_size();

        dnnl::primitive_attr reorder_attr;
        reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        size_t offset = 0;
        if (src_md_ != src_user_md_) {
            dnnl::reorder::primitive_desc rpd(eng, src_user_md_, eng, src_md_, reorder_attr);
            src_reorder_ = dnnl::reorder(rpd);
            pad_bytes = std::max(pad_bytes, rpd.scratchpad_desc().get_size());
            src_offset_ = offset;
            offset += align_up(src_md_.get_size());
        }
        if (dst_md_ != dst_user_md_) {
            dnnl::reorder::primitive_desc rpd(eng, dst_md_, eng, dst_user_md_, reorder_attr);
            dst_reorder_ = dnnl::reorder(rpd);
            pad_bytes = std::max(pad_bytes, rpd.scratchpad_desc().get_size());
            dst_offset_ = offset;
            offset += align_up(dst_md_.get_size());
        }
        pad_offset_ = offset;
        pad_md_ = memory::desc({static_cast<memory::dim>(pad_bytes)}, memory::data_type::u8, tag::a);
        scratch_bytes_ = offset + align_up(pad_bytes);

        wei_md_ = pd.weights_desc();
        if (wei_md_ == wei_user_md) {
            weights_ = weights;
        } else {
            // Load-time reorder into the primitive's layout; the plain copy stays with the model. Models on the same
            // weight bytes (shared-weight slaves) share the reordered copy.
            packed_weights_ = PreparedWeightCache::instance().get(
                weights, wei_user_md, 1.0f, wei_md_, [&](uint8_t* out) {
                    dnnl::stream s(eng);
                    memory from(wei_user_md, eng, const_cast<float*>(weights));
                    memory to(wei_md_, eng, out);
                    dnnl::reorder(from, to).execute(s, from, to);
                    s.wait();
                });
            weights_ = packed_weights_->data();
        }
    }

    size_t scratch_bytes() const override { return scratch_bytes_; }
    bool applies_fused_activation() const override { return fused_activation_; }
    bool takes_channels_last() const override { return channels_last_; }

    std::unique_ptr<KernelState> create_state() const override {
        const dnnl::engine& eng = onednn::cpu_engine();
        auto st = std::make_unique<State>();
        st->src_user = memory(src_user_md_, eng, DNNL_MEMORY_NONE);
        st->src = src_reorder_ ? memory(src_md_, eng, DNNL_MEMORY_NONE) : st->src_user;
        st->dst_user = memory(dst_user_md_, eng, DNNL_MEMORY_NONE);
        st->dst = dst_reorder_ ? memory(dst_md_, eng, DNNL_MEMORY_NONE) : st->dst_user;
        st->weights = memory(wei_md_, eng, const_cast<void*>(weights_));
        st->pad = memory(pad_md_, eng, DNNL_MEMORY_NONE);
        int n = 0;
        st->conv_args[n++] = {DNNL_ARG_SRC, st->src.get()};
        st->conv_args[n++] = {DNNL_ARG_WEIGHTS, st->weights.get()};
        st->conv_args[n++] = {DNNL_ARG_DST, st->dst.get()};
        st->conv_args[n++] = {DNNL_ARG_SCRATCHPAD, st->pad.get()};
        if (has_bias_) {
            st->bias = memory(bias_md_, eng, DNNL_MEMORY_NONE);
            st->conv_args[n++] = {DNNL_ARG_BIAS, st->bias.get()};
        }
        st->conv_nargs = n;
        st->src_args = {{{DNNL_ARG_FROM, st->src_user.get()}, {DNNL_ARG_TO, st->src.get()},
                         {DNNL_ARG_SCRATCHPAD, st->pad.get()}}};
        st->dst_args = {{{DNNL_ARG_FROM, st->dst.get()}, {DNNL_ARG_TO, st->dst_user.get()},
                         {DNNL_ARG_SCRATCHPAD, st->pad.get()}}};
        return st;
    }

    void run(const RunContext& ctx) const override {
        auto& st = static_cast<State&>(*ctx.state);
        auto* scratch = static_cast<uint8_t*>(ctx.scratch);
        st.src_user.set_data_handle(const_cast<void*>(ctx.inputs[0]));
        st.dst_user.set_data_handle(ctx.outputs[0]);
        st.pad.set_data_handle(scratch + pad_offset_);
        if (has_bias_) st.bias.set_data_handle(const_cast<void*>(ctx.inputs[2]));
        if (src_reorder_) {
            st.src.set_data_handle(scratch + src_offset_);
            onednn::execute(src_reorder_, *ctx.stream, st.src_args.data(), 3, "input reorder");
        }
        if (dst_reorder_) st.dst.set_data_handle(scratch + dst_offset_);
        onednn::execute(conv_, *ctx.stream, st.conv_args.data(), st.conv_nargs, name_);
        if (dst_reorder_) onednn::execute(dst_reorder_, *ctx.stream, st.dst_args.data(), 3, "output reorder");
        ctx.stream->wait();
    }

private:
    struct State final : KernelState {
        memory src_user, src, weights, bias, dst, dst_user, pad;
        std::array<dnnl_exec_arg_t, 5> conv_args{};
        int conv_nargs = 0;
        std::array<dnnl_exec_arg_t, 3> src_args{}, dst_args{};
    };

    bool has_bias_, fused_activation_, channels_last_;
    const char* name_;
    Primitive conv_;
    dnnl::reorder src_reorder_, dst_reorder_;  // empty when the primitive works on the plain layout
    memory::desc src_user_md_, src_md_, dst_user_md_, dst_md_, wei_md_, bias_md_, pad_md_;
    std::shared_ptr<const AlignedBuffer> packed_weights_;
    const void* weights_ = nullptr;
    size_t src_offset_ = 0, dst_offset_ = 0, pad_offset_ = 0, scratch_bytes_ = 0;
};

// Plain-layout descriptors of one window op; the weights' tag says how ONNX orders them.
struct WindowDescs {
    memory::desc src_user, dst_user, wei_user, bias;
    memory::desc any_src, any_dst, any_wei;
    memory::dims strides, dilates, pad_l, pad_r;
};

WindowDescs window_descs(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t groups,
                         const Window3d& win, bool transposed, bool has_bias) {
    WindowDescs d;
    const size_t r = static_cast<size_t>(win.spatial_rank);
    Shape src{batch, in_channels}, dst{batch, out_channels}, wei;
    if (groups > 1) wei = {groups, out_channels / groups, in_channels / groups};
    else wei = {out_channels, in_channels};
    for (size_t i = 3 - r; i < 3; ++i) {
        src.push_back(win.in[i]);
        dst.push_back(win.out[i]);
        wei.push_back(win.kernel[i]);
        d.strides.push_back(win.stride[i]);
        d.dilates.push_back(win.dilation[i] - 1);  // oneDNN counts the gaps, ONNX the step
        d.pad_l.push_back(win.pad_begin[i]);
        d.pad_r.push_back(win.pad_end[i]);
    }
    d.src_user = onednn::plain_desc(src);
    d.dst_user = onednn::plain_desc(dst);
    if (!transposed) {
        d.wei_user = onednn::plain_desc(wei);
    } else {
        // ONNX stores ConvTranspose weights input-channel first: [C, M/group, k...] (group-major for groups).
        static constexpr tag kPlain[] = {tag::bac, tag::bacd, tag::bacde};
        static constexpr tag kGrouped[] = {tag::acbd, tag::acbde, tag::acbdef};
        d.wei_user = onednn::plain_desc(wei, groups > 1 ? kGrouped[r - 1] : kPlain[r - 1]);
    }
    d.any_src = memory::desc(onednn::to_dims(src), memory::data_type::f32, tag::any);
    d.any_dst = memory::desc(onednn::to_dims(dst), memory::data_type::f32, tag::any);
    d.any_wei = memory::desc(onednn::to_dims(wei), memory::data_type::f32, tag::any);
    if (has_bias) d.bias = onednn::plain_desc({out_channels});
    return d;
}

memory::desc nhwc(const memory::desc& plain) {
    return memory::desc(plain.dims(), memory::data_type::f32, tag::nhwc);
}

dnnl::primitive_attr window_attr(const ConvGeometry& g) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops ops;
    if (g.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    for (const FusedOp& op : g.post_ops) {
        switch (op.kind) {
            case FusedActivation::Relu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
            // clip(x) = min(max(x, a), b), as ONNX Clip.
            case FusedActivation::Clip: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, op.a, op.b); break;
            // One Mul or one Add each: a * x + 0 and 1 * x + b round as the op alone does.
            case FusedActivation::Linear: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, op.a, op.b); break;
            case FusedActivation::HardSwish:
                ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
                break;
            case FusedActivation::None: break;
        }
    }
    if (ops.len() > 0) attr.set_post_ops(ops);
    return attr;
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_conv(const ConvGeometry& g, const float* weights, bool has_bias) {
    try {
        WindowDescs d = window_descs(g.batch, g.in_channels, g.out_channels, g.groups, g.window, false, has_bias);
        // A channels-last tensor between two convs is already in the layout the primitive picks: no reorder.
        const bool channels_last = g.window.spatial_rank == 2 && (g.channels_last_in || g.channels_last_out);
        if (channels_last && g.channels_last_in) d.src_user = nhwc(d.src_user);
        if (channels_last && g.channels_last_out) d.dst_user = nhwc(d.dst_user);
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             d.any_src, d.any_wei, d.bias, d.any_dst, d.strides, d.dilates, d.pad_l,
                                             d.pad_r);
        dnnl::convolution_forward::primitive_desc pd(desc, window_attr(g), onednn::cpu_engine());
        return std::make_unique<OnednnWindowKernel<dnnl::convolution_forward>>(
            pd, d.src_user, d.dst_user, d.wei_user, d.bias, weights, has_bias, g.relu || !g.post_ops.empty(),
            channels_last, "Conv");
    } catch (const dnnl::error&) {
        return nullptr;  // no implementation for this geometry: the reference kernel takes it
    }
}

std::unique_ptr<Kernel> make_onednn_conv_transpose(const ConvTransposeGeometry& g, const float* weights,
                                                   bool has_bias) {
    const WindowDescs d = window_descs(g.batch, g.in_channels, g.out_channels, g.groups, g.window, true, has_bias);
    const auto make = [&](const memory::desc& src, const memory::desc& dst) -> std::unique_ptr<Kernel> {
        try {
            dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::deconvolution_direct, src, d.any_wei, d.bias, dst,
                                                   d.strides, d.dilates, d.pad_l, d.pad_r);
            dnnl::deconvolution_forward::primitive_desc pd(desc, window_attr(g), onednn::cpu_engine());
            return std::make_unique<OnednnWindowKernel<dnnl::deconvolution_forward>>(
                pd, d.src_user, d.dst_user, d.wei_user, d.bias, weights, has_bias, g.relu || !g.post_ops.empty(), false,
                "ConvTranspose");
        } catch (const dnnl::error&) {
            return nullptr;  // no implementation for this geometry (e.g. negative end padding)
        }
    };
    // Few channels: the blocked layouts pad them to 16 and the reorders in and out cost more than the plain
    // (gemm) implementation's compute; measured on PP-OCR det's 24 -> 24 and 24 -> 1 upsampling layers.
    if (g.in_channels <= 32 && g.out_channels <= 32)
        if (auto k = make(d.src_user, d.dst_user)) return k;
    return make(d.any_src, d.any_dst);  // nullptr: the reference kernel takes it
}

}  // namespace ezemu::kernels
