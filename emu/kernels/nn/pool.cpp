// MaxPool (with the optional int64 Indices output), AveragePool, GlobalAveragePool and GlobalMaxPool over 1-D to 3-D
// windows. Reference loops: pools are memory-bound. MaxPool runs on float32, int8 and uint8 (opset 12); float16
// tensors go through the float32 kernels.
#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>

#include "kernels/fp16_adapter.hpp"
#include "kernels/nn/window.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

template <class T>
class MaxPoolKernel final : public Kernel {
public:
    MaxPoolKernel(int64_t planes, const Window3d& w, bool with_indices, bool column_major)
        : planes_(planes), w_(w), with_indices_(with_indices), column_major_(column_major) {
        inside_ = !with_indices;
        for (int a = 0; a < 3; ++a)
            inside_ = inside_ && w.pad_begin[a] == 0 &&
                      (w.out[a] - 1) * w.stride[a] + (w.kernel[a] - 1) * w.dilation[a] < w.in[a];
    }

    // The separable pass's row of column maxima (8-bit codes only).
    size_t scratch_bytes() const override { return separable() ? static_cast<size_t>(w_.in[2]) * sizeof(T) : 0; }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        if (separable()) return run_separable(x, y, static_cast<T*>(ctx.scratch));
        if (inside_) return run_inside(x, y);
        auto* indices = with_indices_ ? static_cast<int64_t*>(ctx.outputs[1]) : nullptr;
        const int64_t in_size = w_.in_size(), out_size = w_.out_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const T* xp = x + p * in_size;
            for (int64_t od = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh)
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow) {
                        const int64_t o = p * out_size + (od * w_.out[1] + oh) * w_.out[2] + ow;
                        int64_t unused = 0;
                        if (indices) y[o] = max_at<true>(xp, {od, oh, ow}, p * in_size, indices[o]);
                        else y[o] = max_at<false>(xp, {od, oh, ow}, 0, unused);
                    }
        }
    }

private:
    static constexpr T lowest() {
        return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                    : std::numeric_limits<T>::lowest();
    }

    // Every window inside the input (no padding tap, no index): the taps in max_at's order, without its bounds checks.
    void run_inside(const T* x, T* y) const {
        const int64_t in_h = w_.in[1], in_w = w_.in[2], in_size = w_.in_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const T* xp = x + p * in_size;
            for (int64_t od = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh) {
                    const T* row0 = xp + (od * w_.stride[0] * in_h + oh * w_.stride[1]) * in_w;
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow, ++y) {
                        const T* base = row0 + ow * w_.stride[2];
                        T m = lowest();
                        for (int64_t kd = 0; kd < w_.kernel[0]; ++kd)
                            for (int64_t kh = 0; kh < w_.kernel[1]; ++kh) {
                                const T* r = base + (kd * w_.dilation[0] * in_h + kh * w_.dilation[1]) * in_w;
                                for (int64_t kw = 0; kw < w_.kernel[2]; ++kw) m = std::max(m, r[kw * w_.dilation[2]]);
                            }
                        *y = m;
                    }
                }
        }
    }

    // For integers max is associative and commutative, so a window's max is the max over its columns of the max over
    // its rows: first the rows of the window height combined into one (contiguous, vectorized), then the columns.
    // Floats keep max_at's order (NaN makes the order matter).
    bool separable() const { return inside_ && std::is_integral_v<T> && w_.kernel[0] * w_.kernel[1] > 1; }

    void run_separable(const T* x, T* y, T* column_max) const {
        const int64_t in_h = w_.in[1], in_w = w_.in[2], in_size = w_.in_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const T* xp = x + p * in_size;
            for (int64_t od = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh) {
                    const T* row0 = xp + (od * w_.stride[0] * in_h + oh * w_.stride[1]) * in_w;
                    std::copy(row0, row0 + in_w, column_max);
                    for (int64_t kd = 0; kd < w_.kernel[0]; ++kd)
                        for (int64_t kh = kd == 0 ? 1 : 0; kh < w_.kernel[1]; ++kh) {
                            const T* r = row0 + (kd * w_.dilation[0] * in_h + kh * w_.dilation[1]) * in_w;
                            for (int64_t i = 0; i < in_w; ++i) column_max[i] = std::max(column_max[i], r[i]);
                        }
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow, ++y) {
                        const T* c = column_max + ow * w_.stride[2];
                        T m = c[0];
                        for (int64_t kw = 1; kw < w_.kernel[2]; ++kw) m = std::max(m, c[kw * w_.dilation[2]]);
                        *y = m;
                    }
                }
        }
    }

    // The largest value of the window; with WithIndex also its flat index in the whole input (row-major, or
    // column-major over the spatial dims with storage_order=1), plane offset included.
    template <bool WithIndex>
    T max_at(const T* xp, std::array<int64_t, 3> o, int64_t plane_offset, int64_t& index) const {
        T m = lowest();
        int64_t bd = -1, bh = -1, bw = -1;
        w_.for_each_tap(xp, o, [&](int64_t id, int64_t ih, int64_t iw, T v) {
            if constexpr (WithIndex) {
                if (bd < 0 || v > m) m = v, bd = id, bh = ih, bw = iw;
            } else {
                (void)id, (void)ih, (void)iw;
                m = std::max(m, v);
            }
        });
        if constexpr (WithIndex) {
            if (bd < 0) index = -1;
            else if (column_major_) index = plane_offset + bd + bh * w_.in[0] + bw * w_.in[0] * w_.in[1];
            else index = plane_offset + (bd * w_.in[1] + bh) * w_.in[2] + bw;
        }
        return m;
    }

    int64_t planes_;
    Window3d w_;
    bool with_indices_, column_major_;
    bool inside_ = false;
};

class AveragePoolKernel final : public Kernel {
public:
    AveragePoolKernel(int64_t planes, const Window3d& w, bool count_include_pad)
        : planes_(planes), w_(w), count_include_pad_(count_include_pad) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        const int64_t in_size = w_.in_size(), out_size = w_.out_size();
        for (int64_t p = 0; p < planes_; ++p) {
            const float* xp = x + p * in_size;
            float* yp = y + p * out_size;
            for (int64_t od = 0; od < w_.out[0]; ++od)
                for (int64_t oh = 0; oh < w_.out[1]; ++oh)
                    for (int64_t ow = 0; ow < w_.out[2]; ++ow)
                        yp[(od * w_.out[1] + oh) * w_.out[2] + ow] = average_at(xp, {od, oh, ow});
        }
    }

private:
    float average_at(const float* xp, std::array<int64_t, 3> o) const {
        float sum = 0.0f;
        w_.for_each_tap(xp, o, [&](int64_t, int64_t, int64_t, float v) { sum += v; });
        const int64_t count = w_.average_count(o, count_include_pad_);
        return count > 0 ? sum / static_cast<float>(count) : 0.0f;
    }

    int64_t planes_;
    Window3d w_;
    bool count_include_pad_;
};

enum class PoolKind { Max, Average };

template <PoolKind Kind>
std::unique_ptr<Kernel> make_pool(KernelContext& ctx) {
    using DT = onnx::DataType;
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_pool<Kind>);
    ctx.require_inputs(1, 1);
    const bool with_indices = Kind == PoolKind::Max && ctx.output_count() > 1 && !ctx.node().outputs[1].empty();
    if (with_indices && ctx.opset() < 8) ctx.fail("the Indices output needs opset 8 or newer");
    ctx.require_outputs(1, Kind == PoolKind::Max ? 2 : 1);
    if (Kind == PoolKind::Max) ctx.require_dtype(0, {DT::Float, DT::Int8, DT::Uint8});
    else ctx.require_dtype(0, {DT::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3 || x.size() > 5)
        ctx.fail("input X has rank " + std::to_string(x.size()) + "; pooling supports 1-D to 3-D (rank 3 to 5)");
    const size_t spatial = x.size() - 2;
    WindowSpec spec = parse_window(ctx, spatial, {}, true, true);
    std::vector<int64_t> in(x.begin() + 2, x.end());
    std::vector<int64_t> out = resolve_window(ctx, in, spec);
    Shape y{x[0], x[1]};
    y.insert(y.end(), out.begin(), out.end());
    const DT dt = ctx.input(0).dtype;
    ctx.set_output(0, dt, y);
    const Window3d w = to_window3d(in, out, spec);
    if constexpr (Kind == PoolKind::Average) {
        const int64_t c = ctx.attr_int("count_include_pad", 0);
        if (c != 0 && c != 1) ctx.fail("attribute 'count_include_pad' must be 0 or 1, got " + std::to_string(c));
        return std::make_unique<AveragePoolKernel>(x[0] * x[1], w, c == 1);
    } else {
        const int64_t order = ctx.attr_int("storage_order", 0);
        if (order != 0 && order != 1)
            ctx.fail("attribute 'storage_order' must be 0 or 1, got " + std::to_string(order));
        if (with_indices) ctx.set_output(1, DT::Int64, y);
        if (dt == DT::Int8) return std::make_unique<MaxPoolKernel<int8_t>>(x[0] * x[1], w, with_indices, order == 1);
        if (dt == DT::Uint8) return std::make_unique<MaxPoolKernel<uint8_t>>(x[0] * x[1], w, with_indices, order == 1);
        return std::make_unique<MaxPoolKernel<float>>(x[0] * x[1], w, with_indices, order == 1);
    }
}

template <bool IsMax>
class GlobalPoolKernel final : public Kernel {
public:
    GlobalPoolKernel(int64_t planes, int64_t plane_size) : planes_(planes), plane_size_(plane_size) {}
    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const float*>(ctx.inputs[0]);
        auto* y = static_cast<float*>(ctx.outputs[0]);
        for (int64_t p = 0; p < planes_; ++p) {
            const float* xp = x + p * plane_size_;
            if constexpr (IsMax) {
                float m = -std::numeric_limits<float>::infinity();
                for (int64_t i = 0; i < plane_size_; ++i) m = std::max(m, xp[i]);
                y[p] = m;
            } else {
                double sum = 0.0;
                for (int64_t i = 0; i < plane_size_; ++i) sum += xp[i];
                y[p] = plane_size_ ? static_cast<float>(sum / static_cast<double>(plane_size_)) : 0.0f;
            }
        }
    }

private:
    int64_t planes_, plane_size_;
};

template <bool IsMax>
std::unique_ptr<Kernel> make_global_pool(KernelContext& ctx) {
    if (has_float16_input(ctx)) return make_float16_via_float(ctx, make_global_pool<IsMax>);
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {onnx::DataType::Float});
    const Shape& x = ctx.input(0).shape;
    if (x.size() < 3) ctx.fail("input X has rank " + std::to_string(x.size()) + ", expected at least 3");
    Shape y(x.size(), 1);
    y[0] = x[0];
    y[1] = x[1];
    ctx.set_output(0, onnx::DataType::Float, y);
    const int64_t planes = x[0] * x[1];
    return std::make_unique<GlobalPoolKernel<IsMax>>(planes, shape_elements(x) / std::max<int64_t>(1, planes));
}

}  // namespace

std::unique_ptr<Kernel> make_max_pool(KernelContext& ctx) { return make_pool<PoolKind::Max>(ctx); }
std::unique_ptr<Kernel> make_average_pool(KernelContext& ctx) { return make_pool<PoolKind::Average>(ctx); }
std::unique_ptr<Kernel> make_global_average_pool(KernelContext& ctx) { return make_global_pool<false>(ctx); }
std::unique_ptr<Kernel> make_global_max_pool(KernelContext& ctx) { return make_global_pool<true>(ctx); }

}  // namespace ezemu::kernels
