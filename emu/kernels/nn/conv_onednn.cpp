// The oneDNN Conv: primitive and reordered weights made once at load time. The primitive picks its own (blocked)
// layouts; plain NCHW tensors are reordered in and out through the run's scratch memory, which measured faster than
// forcing plain layouts on the primitive.
#include <array>

#include "kernels/aligned_buffer.hpp"
#include "kernels/nn/conv.hpp"
#include "kernels/onednn.hpp"

namespace ezemu::kernels {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

class OnednnConvKernel final : public Kernel {
public:
    OnednnConvKernel(const ConvGeometry& g, const float* weights, bool has_bias)
        : has_bias_(has_bias), relu_(g.relu) {
        const dnnl::engine& eng = onednn::cpu_engine();
        const Window3d& win = g.window;
        const size_t r = static_cast<size_t>(win.spatial_rank);
        Shape src{g.batch, g.in_channels}, dst{g.batch, g.out_channels}, wei;
        if (g.groups > 1) wei = {g.groups, g.out_channels / g.groups, g.in_channels / g.groups};
        else wei = {g.out_channels, g.in_channels};
        memory::dims strides, dilates, pad_l, pad_r;
        for (size_t i = 3 - r; i < 3; ++i) {
            src.push_back(win.in[i]);
            dst.push_back(win.out[i]);
            wei.push_back(win.kernel[i]);
            strides.push_back(win.stride[i]);
            dilates.push_back(win.dilation[i] - 1);  // oneDNN counts the gaps, ONNX the step
            pad_l.push_back(win.pad_begin[i]);
            pad_r.push_back(win.pad_end[i]);
        }
        src_user_md_ = onednn::plain_desc(src);
        dst_user_md_ = onednn::plain_desc(dst);
        const memory::desc wei_user_md = onednn::plain_desc(wei);
        const memory::desc any_src(onednn::to_dims(src), memory::data_type::f32, tag::any);
        const memory::desc any_dst(onednn::to_dims(dst), memory::data_type::f32, tag::any);
        const memory::desc any_wei(onednn::to_dims(wei), memory::data_type::f32, tag::any);
        if (has_bias) bias_md_ = onednn::plain_desc({g.out_channels});

        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        if (g.relu) {
            dnnl::post_ops ops;
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
            attr.set_post_ops(ops);
        }
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::convolution_direct, any_src, any_wei, bias_md_,
                                             any_dst, strides, dilates, pad_l, pad_r);
        dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
        conv_ = dnnl::convolution_forward(pd);
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
            // Load-time reorder into the primitive's layout; the plain copy stays with the model.
            packed_weights_ = AlignedBuffer(wei_md_.get_size());
            dnnl::stream s(eng);
            memory from(wei_user_md, eng, const_cast<float*>(weights));
            memory to(wei_md_, eng, packed_weights_.data());
            dnnl::reorder(from, to).execute(s, from, to);
            s.wait();
            weights_ = packed_weights_.data();
        }
    }

    size_t scratch_bytes() const override { return scratch_bytes_; }
    bool applies_fused_activation() const override { return relu_; }

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
            onednn::execute(src_reorder_, *ctx.stream, st.src_args.data(), 3, "Conv input reorder");
        }
        if (dst_reorder_) st.dst.set_data_handle(scratch + dst_offset_);
        onednn::execute(conv_, *ctx.stream, st.conv_args.data(), st.conv_nargs, "Conv");
        if (dst_reorder_) onednn::execute(dst_reorder_, *ctx.stream, st.dst_args.data(), 3, "Conv output reorder");
        ctx.stream->wait();
    }

private:
    struct State final : KernelState {
        memory src_user, src, weights, bias, dst, dst_user, pad;
        std::array<dnnl_exec_arg_t, 5> conv_args{};
        int conv_nargs = 0;
        std::array<dnnl_exec_arg_t, 3> src_args{}, dst_args{};
    };

    bool has_bias_, relu_;
    dnnl::convolution_forward conv_;
    dnnl::reorder src_reorder_, dst_reorder_;  // empty when the primitive works on the plain layout
    memory::desc src_user_md_, src_md_, dst_user_md_, dst_md_, wei_md_, bias_md_, pad_md_;
    AlignedBuffer packed_weights_;
    const void* weights_ = nullptr;
    size_t src_offset_ = 0, dst_offset_ = 0, pad_offset_ = 0, scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_conv(const ConvGeometry& g, const float* weights, bool has_bias) {
    try {
        return std::make_unique<OnednnConvKernel>(g, weights, has_bias);
    } catch (const dnnl::error&) {
        return nullptr;  // no implementation for this geometry: the reference kernel takes it
    }
}

}  // namespace ezemu::kernels
