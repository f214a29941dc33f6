#include "kernels/math/eltwise_onednn.hpp"

#include <array>

#include "kernels/aligned_buffer.hpp"
#include "kernels/onednn.hpp"

namespace ezemu::kernels {

namespace {

using dnnl::memory;

// One source, one destination of the same dense layout, and the primitive's scratchpad.
class OnednnUnaryKernel final : public Kernel {
public:
    OnednnUnaryKernel(dnnl::primitive primitive, const memory::desc& data_md, const memory::desc& pad_md,
                      const char* what)
        : primitive_(std::move(primitive)), data_md_(data_md), pad_md_(pad_md), what_(what),
          scratch_bytes_(align_up(pad_md.get_size())) {}

    size_t scratch_bytes() const override { return scratch_bytes_; }

    std::unique_ptr<KernelState> create_state() const override {
        const dnnl::engine& eng = onednn::cpu_engine();
        auto st = std::make_unique<State>();
        st->src = memory(data_md_, eng, DNNL_MEMORY_NONE);
        st->dst = memory(data_md_, eng, DNNL_MEMORY_NONE);
        st->pad = memory(pad_md_, eng, DNNL_MEMORY_NONE);
        st->args = {{{DNNL_ARG_SRC, st->src.get()}, {DNNL_ARG_DST, st->dst.get()}, {DNNL_ARG_SCRATCHPAD, st->pad.get()}}};
        return st;
    }

    void run(const RunContext& ctx) const override {
        auto& st = static_cast<State&>(*ctx.state);
        st.src.set_data_handle(const_cast<void*>(ctx.inputs[0]));
        st.dst.set_data_handle(ctx.outputs[0]);
        st.pad.set_data_handle(ctx.scratch);
        onednn::execute(primitive_, *ctx.stream, st.args.data(), static_cast<int>(st.args.size()), what_);
        ctx.stream->wait();
    }

private:
    struct State final : KernelState {
        memory src, dst, pad;
        std::array<dnnl_exec_arg_t, 3> args{};
    };

    dnnl::primitive primitive_;
    memory::desc data_md_, pad_md_;
    const char* what_;
    size_t scratch_bytes_;
};

dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

memory::desc bytes_desc(size_t bytes) {
    return memory::desc({static_cast<memory::dim>(bytes)}, memory::data_type::u8, memory::format_tag::a);
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_eltwise(dnnl::algorithm alg, float alpha, float beta, int64_t n) {
    if (n <= 0) return nullptr;
    try {
        const dnnl::engine& eng = onednn::cpu_engine();
        const memory::desc md = onednn::plain_desc({n});
        const dnnl::primitive_attr attr = user_scratchpad();
        dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, alg, md, alpha, beta);
        dnnl::eltwise_forward::primitive_desc pd(desc, attr, eng);
        return std::make_unique<OnednnUnaryKernel>(dnnl::eltwise_forward(pd), md,
                                                   bytes_desc(pd.scratchpad_desc().get_size()), "eltwise");
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

std::unique_ptr<Kernel> make_onednn_softmax(int64_t outer, int64_t len, int64_t inner, bool log) {
    if (outer <= 0 || len <= 0 || inner <= 0) return nullptr;
    try {
        const dnnl::engine& eng = onednn::cpu_engine();
        const memory::desc md = onednn::plain_desc({outer, len, inner});
        const dnnl::primitive_attr attr = user_scratchpad();
        if (log) {
            dnnl::logsoftmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
            dnnl::logsoftmax_forward::primitive_desc pd(desc, attr, eng);
            return std::make_unique<OnednnUnaryKernel>(dnnl::logsoftmax_forward(pd), md,
                                                       bytes_desc(pd.scratchpad_desc().get_size()), "LogSoftmax");
        }
        dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
        dnnl::softmax_forward::primitive_desc pd(desc, attr, eng);
        return std::make_unique<OnednnUnaryKernel>(dnnl::softmax_forward(pd), md,
                                                   bytes_desc(pd.scratchpad_desc().get_size()), "Softmax");
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

}  // namespace ezemu::kernels
