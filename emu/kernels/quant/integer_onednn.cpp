// The oneDNN int8 path of QLinearConv / ConvInteger, QLinearMatMul / MatMulInteger and QGemm (only where the CPU has VNNI,
// int8_backend.hpp). oneDNN computes the int32 sums of (x - x_zero_point) * w, with x's zero point passed at run
// time and w's zero points 0; the bias and the requantization stay ours (requantize_rows.hpp), because oneDNN's
// output scaling rounds differently from onnxruntime's rule. The convolution runs channels-last: an NCHW x is
// reordered in, the requantization runs on the channels-last rows and, unless the graph keeps y channels-last
// (graph/channels_last_plan.hpp), a reorder writes NCHW.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "kernels/aligned_buffer.hpp"
#include "kernels/onednn.hpp"
#include "kernels/prepared_weight_cache.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/quant/integer_conv.hpp"
#include "kernels/quant/requantize_rows.hpp"

namespace ezemu::kernels::quant {

namespace {

using dnnl::memory;
using DT = onnx::DataType;
using tag = memory::format_tag;

memory::data_type dnnl_type(DT dtype) { return dtype == DT::Uint8 ? memory::data_type::u8 : memory::data_type::s8; }

// A large 1x1 convolution with stride 1 and no padding computes each channels-last position on its own, so it runs
// as products over slabs of `size` consecutive positions (and one last of `tail_size`): the int32 sums of a slab
// are requantized while they are still in the cache instead of going through memory for the whole output. On one
// intra-op thread only: with more, every slab adds two fork-joins, and the whole product splits better.
struct Slabs {
    static constexpr int64_t kBytes = 128 << 10;  // int32 sums per slab (measured best of 128K-512K on a 2 MiB L2)
    dnnl::primitive main, tail;
    memory::desc main_src, main_dst, tail_src, tail_dst;
    int64_t size = 0, tail_size = 0;  // size 0: one product over the whole output
    size_t scratch = 0;
};

// The product's description, before the kernel takes it over.
struct ProductSpec {
    dnnl::primitive primitive;
    memory::desc src_user, src, weights_user, weights, dst;
    size_t primitive_scratch = 0;
    const void* weight_data = nullptr;
    int64_t outer = 1, positions = 1, channels = 1;  // dst is [outer, positions, channels]
    float alpha = 1.0f;                              // scales x's scale (QGemm)
    // When set, y is channels-first: the requantized rows land channels-last in scratch and a reorder writes y.
    memory::desc y_channels_last, y_user;
    bool takes_channels_last = false;  // x and / or y stay channels-last as the graph asked
    int64_t in_channels = 1;           // of x, for the slabs' offsets
    Slabs slabs;
};

class OnednnIntegerKernel final : public IntegerProductKernel {
public:
    OnednnIntegerKernel(ProductSpec spec, const IntegerOperands& in, int bias, int threads)
        : s_(std::move(spec)), in_(in), bias_(bias), threads_(std::max(1, threads)) {
        const dnnl::engine& eng = onednn::cpu_engine();
        dnnl::primitive_attr reorder_attr;
        reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        size_t pad = std::max(s_.primitive_scratch, s_.slabs.scratch);
        if (s_.src != s_.src_user) {
            dnnl::reorder::primitive_desc rpd(eng, s_.src_user, eng, s_.src, reorder_attr);
            src_reorder_ = dnnl::reorder(rpd);
            pad = std::max(pad, rpd.scratchpad_desc().get_size());
        }
        if (s_.y_user) {
            dnnl::reorder::primitive_desc rpd(eng, s_.y_channels_last, eng, s_.y_user, reorder_attr);
            y_reorder_ = dnnl::reorder(rpd);
            pad = std::max(pad, rpd.scratchpad_desc().get_size());
        }
        // Scratch: the reordered x, the int32 sums, oneDNN's scratchpad, zero points and multipliers.
        const auto c = static_cast<size_t>(s_.channels);
        src_offset_ = 0;
        dst_offset_ = src_reorder_ ? align_up(s_.src.get_size()) : 0;
        pad_offset_ = dst_offset_ + align_up(s_.slabs.size ? s_.slabs.main_dst.get_size() : s_.dst.get_size());
        zp_offset_ = pad_offset_ + align_up(pad);
        mult_offset_ = zp_offset_ + align_up(c * sizeof(int32_t));
        rows_offset_ = mult_offset_ + align_up(c * sizeof(float));
        scratch_bytes_ = rows_offset_ + (s_.y_user ? align_up(s_.y_channels_last.get_size()) : 0);
        pad_md_ = memory::desc({static_cast<memory::dim>(pad)}, memory::data_type::u8, tag::a);
        zp_md_ = memory::desc({1}, memory::data_type::s32, tag::a);

        if (s_.weights == s_.weights_user) {
            weights_ = s_.weight_data;
        } else {
            packed_ = PreparedWeightCache::instance().get(s_.weight_data, s_.weights_user, 1.0f, s_.weights,
                                                          [&](uint8_t* out) {
                                                              dnnl::stream st(eng);
                                                              memory from(s_.weights_user, eng,
                                                                          const_cast<void*>(s_.weight_data));
                                                              memory to(s_.weights, eng, out);
                                                              dnnl::reorder(from, to).execute(st, from, to);
                                                              st.wait();
                                                          });
            weights_ = packed_->data();
        }
    }

    Int8Backend backend() const override { return Int8Backend::OnednnVnni; }
    bool takes_channels_last() const override { return s_.takes_channels_last; }
    size_t scratch_bytes() const override { return scratch_bytes_; }

    std::unique_ptr<KernelState> create_state() const override {
        const dnnl::engine& eng = onednn::cpu_engine();
        auto st = std::make_unique<State>();
        st->src_user = memory(s_.src_user, eng, DNNL_MEMORY_NONE);
        st->src = src_reorder_ ? memory(s_.src, eng, DNNL_MEMORY_NONE) : st->src_user;
        st->weights = memory(s_.weights, eng, const_cast<void*>(weights_));
        st->dst = memory(s_.dst, eng, DNNL_MEMORY_NONE);
        st->pad = memory(pad_md_, eng, DNNL_MEMORY_NONE);
        st->zp = memory(zp_md_, eng, &st->x_zp);
        st->args = product_args(*st, st->src, st->dst);
        st->reorder_args = {{{DNNL_ARG_FROM, st->src_user.get()}, {DNNL_ARG_TO, st->src.get()},
                             {DNNL_ARG_SCRATCHPAD, st->pad.get()}}};
        if (s_.slabs.size) {
            const Slabs& sl = s_.slabs;
            st->slab_src = memory(sl.main_src, eng, DNNL_MEMORY_NONE);
            st->slab_dst = memory(sl.main_dst, eng, DNNL_MEMORY_NONE);
            st->slab_args = product_args(*st, st->slab_src, st->slab_dst);
            if (sl.tail_size) {
                st->tail_src = memory(sl.tail_src, eng, DNNL_MEMORY_NONE);
                st->tail_dst = memory(sl.tail_dst, eng, DNNL_MEMORY_NONE);
                st->tail_args = product_args(*st, st->tail_src, st->tail_dst);
            }
        }
        if (s_.y_user) {
            st->y_rows = memory(s_.y_channels_last, eng, DNNL_MEMORY_NONE);
            st->y = memory(s_.y_user, eng, DNNL_MEMORY_NONE);
            st->y_args = {{{DNNL_ARG_FROM, st->y_rows.get()}, {DNNL_ARG_TO, st->y.get()},
                           {DNNL_ARG_SCRATCHPAD, st->pad.get()}}};
        }
        return st;
    }

    void run(const RunContext& ctx) const override {
        auto& st = static_cast<State&>(*ctx.state);
        auto* scratch = static_cast<uint8_t*>(ctx.scratch);
        auto* w_zp = reinterpret_cast<int32_t*>(scratch + zp_offset_);
        auto* multiplier = reinterpret_cast<float*>(scratch + mult_offset_);
        int32_t y_zp = 0;
        in_.load(ctx.inputs, st.x_zp, y_zp, w_zp, multiplier, s_.alpha);
        st.src_user.set_data_handle(const_cast<void*>(ctx.inputs[in_.x]));
        st.pad.set_data_handle(scratch + pad_offset_);
        if (src_reorder_) {
            st.src.set_data_handle(scratch + src_offset_);
            onednn::execute(src_reorder_, *ctx.stream, st.reorder_args.data(), 3, "int8 input reorder");
        }
        auto* acc = reinterpret_cast<int32_t*>(scratch + dst_offset_);
        const auto* bias = bias_ >= 0 ? static_cast<const int32_t*>(ctx.inputs[bias_]) : nullptr;
        auto* rows = static_cast<uint8_t*>(s_.y_user ? scratch + rows_offset_ : ctx.outputs[0]);
        // Requantizes n positions of sums into the rows from position p0 on.
        const auto requantize = [&](int64_t p0, int64_t n) {
            const int64_t at = p0 * s_.channels, c = s_.channels;
            switch (in_.y_dtype) {
                case DT::Uint8: write_rows(acc, bias, multiplier, y_zp, rows + at, n, c, threads_); break;
                case DT::Int8:
                    write_rows(acc, bias, multiplier, y_zp, reinterpret_cast<int8_t*>(rows) + at, n, c, threads_);
                    break;
                case DT::Float:
                    write_rows(acc, bias, multiplier, y_zp, reinterpret_cast<float*>(rows) + at, n, c, threads_);
                    break;
                default:
                    write_rows(acc, bias, multiplier, y_zp, reinterpret_cast<int32_t*>(rows) + at, n, c, threads_);
                    break;
            }
        };
        const int64_t positions = s_.outer * s_.positions;
        if (s_.slabs.size) {
            const auto* x = static_cast<const uint8_t*>(src_reorder_ ? scratch + src_offset_ : ctx.inputs[in_.x]);
            for (int64_t p0 = 0; p0 < positions; p0 += s_.slabs.size) {
                const bool tail = positions - p0 < s_.slabs.size;
                memory& src = tail ? st.tail_src : st.slab_src;
                memory& dst = tail ? st.tail_dst : st.slab_dst;
                src.set_data_handle(const_cast<uint8_t*>(x + p0 * s_.in_channels));  // 8-bit x: one byte each
                dst.set_data_handle(acc);
                onednn::execute(tail ? s_.slabs.tail : s_.slabs.main, *ctx.stream,
                                (tail ? st.tail_args : st.slab_args).data(), 5, "int8 product");
                ctx.stream->wait();
                requantize(p0, tail ? s_.slabs.tail_size : s_.slabs.size);
            }
        } else {
            st.dst.set_data_handle(acc);
            onednn::execute(s_.primitive, *ctx.stream, st.args.data(), 5, "int8 product");
            ctx.stream->wait();
            requantize(0, positions);
        }
        if (s_.y_user) {
            st.y_rows.set_data_handle(rows);
            st.y.set_data_handle(ctx.outputs[0]);
            onednn::execute(y_reorder_, *ctx.stream, st.y_args.data(), 3, "int8 output reorder");
            ctx.stream->wait();
        }
    }

private:
    struct State final : KernelState {
        memory src_user, src, weights, dst, pad, zp, y_rows, y, slab_src, slab_dst, tail_src, tail_dst;
        int32_t x_zp = 0;
        std::array<dnnl_exec_arg_t, 5> args{}, slab_args{}, tail_args{};
        std::array<dnnl_exec_arg_t, 3> reorder_args{}, y_args{};
    };

    static std::array<dnnl_exec_arg_t, 5> product_args(const State& st, const memory& src, const memory& dst) {
        return {{{DNNL_ARG_SRC, src.get()},
                 {DNNL_ARG_WEIGHTS, st.weights.get()},
                 {DNNL_ARG_DST, dst.get()},
                 {DNNL_ARG_SCRATCHPAD, st.pad.get()},
                 {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, st.zp.get()}}};
    }

    ProductSpec s_;
    IntegerOperands in_;
    int bias_;
    int threads_;
    dnnl::reorder src_reorder_, y_reorder_;
    memory::desc pad_md_, zp_md_;
    std::shared_ptr<const AlignedBuffer> packed_;
    const void* weights_ = nullptr;
    size_t src_offset_ = 0, dst_offset_ = 0, pad_offset_ = 0, zp_offset_ = 0, mult_offset_ = 0, rows_offset_ = 0;
    size_t scratch_bytes_ = 0;
};

dnnl::primitive_attr product_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    return attr;
}

// The slab products of a pointwise convolution of `total` positions, with the whole product's weight layout;
// Slabs{} when it is too small to gain or oneDNN has no such product.
Slabs pointwise_slabs(int64_t total, int64_t in_channels, int64_t out_channels, memory::data_type x_type,
                      const memory::desc& weights, const std::string& implementation) {
    Slabs sl;
    const int64_t size = std::max<int64_t>(1, Slabs::kBytes / 4 / out_channels);
    if (total < 2 * size) return sl;
    const auto product = [&](int64_t n, dnnl::primitive& prim, memory::desc& src, memory::desc& dst) {
        src = memory::desc({1, in_channels, 1, n}, x_type, tag::nhwc);
        dst = memory::desc({1, out_channels, 1, n}, memory::data_type::s32, tag::nhwc);
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::convolution_direct, src, weights, memory::desc(), dst,
                                             {1, 1}, {0, 0}, {0, 0}, {0, 0});
        dnnl::convolution_forward::primitive_desc pd(desc, product_attr(), onednn::cpu_engine());
        // The whole product's implementation only: a narrow slab may otherwise get a slow generic one.
        if (pd.src_desc() != src || pd.dst_desc() != dst || pd.weights_desc() != weights ||
            implementation != pd.impl_info_str())
            return false;
        prim = dnnl::convolution_forward(pd);
        sl.scratch = std::max(sl.scratch, pd.scratchpad_desc().get_size());
        return true;
    };
    try {
        sl.tail_size = total % size;
        if (!product(size, sl.main, sl.main_src, sl.main_dst) ||
            (sl.tail_size && !product(sl.tail_size, sl.tail, sl.tail_src, sl.tail_dst)))
            return Slabs{};
        sl.size = size;
        return sl;
    } catch (const dnnl::error&) {
        return Slabs{};  // the whole product stays
    }
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_integer_conv(const IntConvGeometry& g, const IntegerOperands& in, int bias,
                                                 const void* weights, int threads) {
    if (int8_backend() != Int8Backend::OnednnVnni || in.w_dtype != DT::Int8) return nullptr;
    try {
        const Window3d& win = g.window;
        const size_t r = static_cast<size_t>(win.spatial_rank);
        static constexpr tag kChannelsLast[] = {tag::nwc, tag::nhwc, tag::ndhwc};
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
        ProductSpec s;
        const memory::data_type x_type = dnnl_type(in.x_dtype);
        s.src = memory::desc(onednn::to_dims(src), x_type, kChannelsLast[r - 1]);
        s.takes_channels_last = r == 2 && (g.channels_last_in || g.channels_last_out);
        s.src_user = s.takes_channels_last && g.channels_last_in
                         ? s.src
                         : memory::desc(onednn::to_dims(src), x_type, onednn::plain_tag(src.size()));
        s.dst = memory::desc(onednn::to_dims(dst), memory::data_type::s32, kChannelsLast[r - 1]);
        s.weights_user = memory::desc(onednn::to_dims(wei), memory::data_type::s8, onednn::plain_tag(wei.size()));
        const memory::desc any_wei(onednn::to_dims(wei), memory::data_type::s8, tag::any);
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             s.src, any_wei, memory::desc(), s.dst, strides, dilates, pad_l, pad_r);
        dnnl::convolution_forward::primitive_desc pd(desc, product_attr(), onednn::cpu_engine());
        if (pd.src_desc() != s.src || pd.dst_desc() != s.dst) return nullptr;
        s.primitive = dnnl::convolution_forward(pd);
        s.weights = pd.weights_desc();
        s.primitive_scratch = pd.scratchpad_desc().get_size();
        s.weight_data = weights;
        s.outer = g.batch;
        s.positions = win.out_size();
        s.channels = g.out_channels;
        s.in_channels = g.in_channels;
        bool pointwise = r == 2 && g.groups == 1;
        for (size_t i = 1; i < 3; ++i)
            pointwise = pointwise && win.kernel[i] == 1 && win.stride[i] == 1 && win.pad_begin[i] == 0 &&
                        win.pad_end[i] == 0;
        if (pointwise && threads == 1)
            s.slabs = pointwise_slabs(s.outer * s.positions, g.in_channels, g.out_channels, x_type, s.weights,
                                      pd.impl_info_str());
        const memory::data_type y_type = in.y_dtype == DT::Int32 ? memory::data_type::s32 : dnnl_type(in.y_dtype);
        s.y_channels_last = memory::desc(onednn::to_dims(dst), y_type, kChannelsLast[r - 1]);
        if (!(s.takes_channels_last && g.channels_last_out))
            s.y_user = memory::desc(onednn::to_dims(dst), y_type, onednn::plain_tag(dst.size()));
        return std::make_unique<OnednnIntegerKernel>(std::move(s), in, bias, threads);
    } catch (const dnnl::error&) {
        return nullptr;  // no int8 implementation for this geometry: the exact kernel takes it
    }
}

std::unique_ptr<Kernel> make_onednn_integer_matmul(int64_t m, int64_t k, int64_t n, const IntegerOperands& in,
                                                   const void* weights, int threads,
                                                   const ProductLayout& layout) {
    if (int8_backend() != Int8Backend::OnednnVnni || in.w_dtype != DT::Int8) return nullptr;
    try {
        ProductSpec s;
        // A transposed operand is the same logical matrix stored column-major (tag ba).
        s.src_user = memory::desc({m, k}, dnnl_type(in.x_dtype), layout.trans_a ? tag::ba : tag::ab);
        s.src = memory::desc({m, k}, dnnl_type(in.x_dtype), tag::ab);
        s.weights_user = memory::desc({k, n}, memory::data_type::s8, layout.trans_b ? tag::ba : tag::ab);
        s.dst = memory::desc({m, n}, memory::data_type::s32, tag::ab);
        const memory::desc any_wei({k, n}, memory::data_type::s8, tag::any);
        dnnl::matmul::desc desc(s.src, any_wei, s.dst);
        dnnl::matmul::primitive_desc pd(desc, product_attr(), onednn::cpu_engine());
        s.primitive = dnnl::matmul(pd);
        s.weights = pd.weights_desc();
        s.primitive_scratch = pd.scratchpad_desc().get_size();
        s.weight_data = weights;
        s.positions = m;
        s.channels = n;
        s.alpha = layout.alpha;
        return std::make_unique<OnednnIntegerKernel>(std::move(s), in, layout.bias, threads);
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

}  // namespace ezemu::kernels::quant
