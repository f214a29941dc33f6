// The oneDNN matrix product behind MatMul and Gemm: primitive, packed constant weights and bias made at load.
#include <algorithm>
#include <array>
#include <vector>

#include "kernels/aligned_buffer.hpp"
#include "kernels/math/gemm_matmul.hpp"
#include "kernels/onednn.hpp"
#include "kernels/prepared_weight_cache.hpp"

namespace ezemu::kernels {

namespace {

using dnnl::memory;

// A row-major matrix stack, transposed in its last two dims when asked, as a oneDNN descriptor.
memory::desc matrix_desc(const Shape& batch, int64_t rows, int64_t cols, bool transposed) {
    Shape dims = batch;
    dims.push_back(rows);
    dims.push_back(cols);
    memory::dims strides(dims.size());
    strides[dims.size() - 2] = transposed ? 1 : cols;
    strides[dims.size() - 1] = transposed ? rows : 1;
    int64_t s = rows * cols;
    for (size_t d = batch.size(); d-- > 0;) {
        strides[d] = s;
        s *= batch[d];
    }
    return memory::desc(onednn::to_dims(dims), memory::data_type::f32, strides);
}

class OnednnMatMulKernel final : public Kernel {
public:
    OnednnMatMulKernel(const MatMulGeometry& g, const float* constant_b, float b_scale, const float* bias,
                       int64_t bias_m, int64_t bias_n)
        : runtime_b_(constant_b == nullptr), has_bias_(bias != nullptr) {
        const dnnl::engine& eng = onednn::cpu_engine();
        a_md_ = matrix_desc(g.a_batch, g.m, g.k, g.trans_a);
        const memory::desc b_user_md = matrix_desc(g.b_batch, g.k, g.n, g.trans_b);
        y_md_ = matrix_desc(g.batch, g.m, g.n, false);
        Shape b_dims = g.b_batch;
        b_dims.push_back(g.k);
        b_dims.push_back(g.n);
        const memory::desc b_any(onednn::to_dims(b_dims), memory::data_type::f32, memory::format_tag::any);
        if (has_bias_) {
            Shape bias_dims(g.batch.size(), 1);
            bias_dims.push_back(bias_m);
            bias_dims.push_back(bias_n);
            bias_md_ = onednn::plain_desc(bias_dims);
            bias_ = AlignedBuffer(bias, static_cast<size_t>(bias_m * bias_n) * sizeof(float));
        }
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        dnnl::matmul::desc desc(a_md_, runtime_b_ ? b_user_md : b_any, bias_md_, y_md_);
        dnnl::matmul::primitive_desc pd(desc, attr, eng);
        matmul_ = dnnl::matmul(pd);
        b_md_ = pd.weights_desc();
        const size_t pad_bytes = pd.scratchpad_desc().get_size();
        pad_md_ = memory::desc({static_cast<memory::dim>(pad_bytes)}, memory::data_type::u8, memory::format_tag::a);
        scratch_bytes_ = align_up(pad_bytes);
        if (runtime_b_) return;

        if (b_md_ == b_user_md && b_scale == 1.0f) {
            b_data_ = constant_b;
            return;
        }
        // Scaled and reordered once at load; models on the same weight bytes (shared-weight slaves) share the result.
        const size_t n = static_cast<size_t>(shape_elements(b_dims));
        packed_b_ = PreparedWeightCache::instance().get(constant_b, b_user_md, b_scale, b_md_, [&](uint8_t* out) {
            const bool reorder = !(b_md_ == b_user_md);
            AlignedBuffer scaled;
            const float* source = constant_b;
            if (b_scale != 1.0f) {
                float* s = reinterpret_cast<float*>(out);  // no reorder: the scaled copy is the prepared form
                if (reorder) {
                    scaled = AlignedBuffer(n * sizeof(float));
                    s = reinterpret_cast<float*>(scaled.data());
                }
                for (size_t i = 0; i < n; ++i) s[i] = b_scale * constant_b[i];
                source = s;
            }
            if (!reorder) return;
            dnnl::stream s(eng);
            memory from(b_user_md, eng, const_cast<float*>(source));
            memory to(b_md_, eng, out);
            dnnl::reorder(from, to).execute(s, from, to);
            s.wait();
        });
        b_data_ = packed_b_->data();
    }

    size_t scratch_bytes() const override { return scratch_bytes_; }

    std::unique_ptr<KernelState> create_state() const override {
        const dnnl::engine& eng = onednn::cpu_engine();
        auto st = std::make_unique<State>();
        st->a = memory(a_md_, eng, DNNL_MEMORY_NONE);
        st->b = memory(b_md_, eng, runtime_b_ ? DNNL_MEMORY_NONE : const_cast<void*>(b_data_));
        st->y = memory(y_md_, eng, DNNL_MEMORY_NONE);
        st->pad = memory(pad_md_, eng, DNNL_MEMORY_NONE);
        int n = 0;
        st->args[n++] = {DNNL_ARG_SRC, st->a.get()};
        st->args[n++] = {DNNL_ARG_WEIGHTS, st->b.get()};
        st->args[n++] = {DNNL_ARG_DST, st->y.get()};
        st->args[n++] = {DNNL_ARG_SCRATCHPAD, st->pad.get()};
        if (has_bias_) {
            st->bias = memory(bias_md_, eng, const_cast<uint8_t*>(bias_.data()));
            st->args[n++] = {DNNL_ARG_BIAS, st->bias.get()};
        }
        st->nargs = n;
        return st;
    }

    void run(const RunContext& ctx) const override {
        auto& st = static_cast<State&>(*ctx.state);
        st.a.set_data_handle(const_cast<void*>(ctx.inputs[0]));
        if (runtime_b_) st.b.set_data_handle(const_cast<void*>(ctx.inputs[1]));
        st.y.set_data_handle(ctx.outputs[0]);
        st.pad.set_data_handle(ctx.scratch);
        onednn::execute(matmul_, *ctx.stream, st.args.data(), st.nargs, "MatMul");
        ctx.stream->wait();
    }

private:
    struct State final : KernelState {
        memory a, b, y, bias, pad;
        std::array<dnnl_exec_arg_t, 5> args{};
        int nargs = 0;
    };

    bool runtime_b_, has_bias_;
    dnnl::matmul matmul_;
    memory::desc a_md_, b_md_, y_md_, bias_md_, pad_md_;
    std::shared_ptr<const AlignedBuffer> packed_b_;
    AlignedBuffer bias_;
    const void* b_data_ = nullptr;
    size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_matmul(const MatMulGeometry& g, const float* constant_b, float b_scale,
                                           const float* bias, int64_t bias_m, int64_t bias_n) {
    if (g.batch.size() + 2 > DNNL_MAX_NDIMS) return nullptr;
    try {
        return std::make_unique<OnednnMatMulKernel>(g, constant_b, b_scale, bias, bias_m, bias_n);
    } catch (const dnnl::error&) {
        return nullptr;  // no implementation for this shape: the reference kernel takes it
    }
}

}  // namespace ezemu::kernels
