#include "kernels/tensor/resize_interpolating.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "numerics/fp16.hpp"

namespace ezemu::kernels::resize {

namespace {

template <class T>
T saturate_round(double v) {
    if (std::isnan(v)) return T(0);
    const double r = std::nearbyint(v);
    if (r <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
}

template <class T>
void to_double(const void* src, double* dst, int64_t n) {
    const T* s = static_cast<const T*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<double>(s[i]);
}

template <class T>
void from_double(const double* src, void* dst, int64_t n) {
    T* d = static_cast<T*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = saturate_round<T>(src[i]);
}

// The float nearest v toward zero, its last bit set when inexact (rounding to odd): rounding that float to half
// then gives v's nearest half, which rounding v to the nearest float first would not where that float is a tie.
float round_to_odd_float(double v) {
    float f = static_cast<float>(v);
    if (v != v || static_cast<double>(f) == v) return f;
    if (std::fabs(static_cast<double>(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    bits |= 1u;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Row loops of the streaming passes, cloned per ISA. No clone enables FMA: a fused multiply-add would round
// differently, and every host must give the same bits.
#define EZEMU_RESIZE_ROWS __attribute__((target_clones("avx2", "default")))
EZEMU_RESIZE_ROWS void row_start(double* acc, const float* x, double w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) acc[i] = w * static_cast<double>(x[i]);
}
EZEMU_RESIZE_ROWS void row_start(double* acc, const double* x, double w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) acc[i] = w * x[i];
}
EZEMU_RESIZE_ROWS void row_add(double* acc, const float* x, double w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) acc[i] += w * static_cast<double>(x[i]);
}
EZEMU_RESIZE_ROWS void row_add(double* acc, const double* x, double w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) acc[i] += w * x[i];
}
EZEMU_RESIZE_ROWS void row_round(float* y, const double* acc, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(acc[i]);
}
#undef EZEMU_RESIZE_ROWS

class InterpolatingResizeKernel final : public Kernel {
public:
    InterpolatingResizeKernel(std::vector<Pass> passes, onnx::DataType dtype, int64_t in_count, int64_t out_count,
                              float extrapolation)
        : passes_(std::move(passes)), dtype_(dtype), in_count_(in_count), out_count_(out_count),
          extrapolation_(extrapolation) {
        for (const Pass& p : passes_) {
            buffer_ = std::max(buffer_, p.outer * p.out * p.inner);
            row_ = std::max(row_, (p.inner + 7) / 8 * 8);
        }
        buffer_ = (buffer_ + 7) / 8 * 8;  // keeps each scratch region 64-byte aligned
        convert_ = dtype_ == onnx::DataType::Float ? 0 : (in_count_ + 7) / 8 * 8;
    }

    size_t scratch_bytes() const override {
        return static_cast<size_t>(2 * buffer_ + row_ + convert_) * sizeof(double);
    }

    void run(const RunContext& ctx) const override {
        auto* scratch = static_cast<double*>(ctx.scratch);
        double* ping = scratch;
        double* pong = scratch + buffer_;
        double* row = scratch + 2 * buffer_;
        double* conv = row + row_;
        const bool is_float = dtype_ == onnx::DataType::Float;
        if (passes_.empty()) {  // nothing resized: a copy (with the dtype's round trip)
            if (is_float) {
                std::memcpy(ctx.outputs[0], ctx.inputs[0], static_cast<size_t>(in_count_) * sizeof(float));
            } else {
                load(ctx.inputs[0], conv);
                store(conv, ctx.outputs[0]);
            }
            return;
        }
        const double* src = conv;
        if (!is_float) load(ctx.inputs[0], conv);
        for (size_t i = 0; i < passes_.size(); ++i) {
            const bool first = i == 0, last = i + 1 == passes_.size();
            double* dst = i % 2 == 0 ? ping : pong;
            const auto* in_float = static_cast<const float*>(ctx.inputs[0]);
            if (last && is_float) {
                auto* y = static_cast<float*>(ctx.outputs[0]);
                if (first) apply(passes_[i], in_float, y, row);
                else apply(passes_[i], src, y, row);
                return;
            }
            if (first && is_float) apply(passes_[i], in_float, dst, row);
            else apply(passes_[i], src, dst, row);
            src = dst;
        }
        store(src, ctx.outputs[0]);
    }

private:
    // The last axis: every output element sums its own taps (Taps: a count known at compile time, 0 = any).
    template <int64_t Taps, class In, class Out>
    void gather_taps(const Pass& p, const In* x, Out* y) const {
        const AxisTable& t = p.table;
        const int64_t taps = Taps > 0 ? Taps : t.taps;
        const int64_t* index = t.index.data();
        const double* weight = t.weight.data();
        for (int64_t o = 0; o < p.outer; ++o) {
            const In* xs = x + o * p.in;
            Out* ys = y + o * p.out;
            for (int64_t j = 0; j < p.out; ++j) {
                const int64_t* ix = index + j * taps;
                const double* w = weight + j * taps;
                double acc = w[0] * static_cast<double>(xs[ix[0]]);
                for (int64_t k = 1; k < taps; ++k) acc += w[k] * static_cast<double>(xs[ix[k]]);
                ys[j] = static_cast<Out>(acc);
            }
            if (t.any_extrapolation)
                for (int64_t j = 0; j < p.out; ++j)
                    if (t.extrapolate[static_cast<size_t>(j)]) ys[j] = static_cast<Out>(extrapolation_);
        }
    }

    // Rows of more than one element stream: the taps' rows are summed into `row` (or straight into a double
    // output), then rounded into the output row.
    template <class In, class Out>
    void apply(const Pass& p, const In* x, Out* y, double* row) const {
        if (p.inner == 1) {
            if (p.table.taps == 2) gather_taps<2>(p, x, y);
            else if (p.table.taps == 4) gather_taps<4>(p, x, y);
            else gather_taps<0>(p, x, y);
            return;
        }
        const AxisTable& t = p.table;
        const int64_t taps = t.taps;
        const Out extrapolation = static_cast<Out>(extrapolation_);
        for (int64_t o = 0; o < p.outer; ++o) {
            const In* xs = x + o * p.in * p.inner;
            Out* ys = y + o * p.out * p.inner;
            for (int64_t j = 0; j < p.out; ++j) {
                Out* yr = ys + j * p.inner;
                if (t.extrapolate[static_cast<size_t>(j)]) {
                    std::fill(yr, yr + p.inner, extrapolation);
                    continue;
                }
                const int64_t* ix = &t.index[static_cast<size_t>(j * taps)];
                const double* w = &t.weight[static_cast<size_t>(j * taps)];
                double* acc = nullptr;
                if constexpr (std::is_same_v<Out, double>) acc = yr;
                else acc = row;
                row_start(acc, xs + ix[0] * p.inner, w[0], p.inner);
                for (int64_t k = 1; k < taps; ++k)
                    if (w[k] != 0.0) row_add(acc, xs + ix[k] * p.inner, w[k], p.inner);
                if constexpr (!std::is_same_v<Out, double>) row_round(yr, acc, p.inner);
            }
        }
    }

    void load(const void* x, double* dst) const {
        using DT = onnx::DataType;
        switch (dtype_) {
            case DT::Float16: {
                const auto* h = static_cast<const uint16_t*>(x);
                for (int64_t i = 0; i < in_count_; ++i) dst[i] = numerics::half_to_float(h[i]);
                break;
            }
            case DT::Int8: to_double<int8_t>(x, dst, in_count_); break;
            case DT::Uint8: to_double<uint8_t>(x, dst, in_count_); break;
            case DT::Int16: to_double<int16_t>(x, dst, in_count_); break;
            case DT::Uint16: to_double<uint16_t>(x, dst, in_count_); break;
            case DT::Int32: to_double<int32_t>(x, dst, in_count_); break;
            case DT::Uint32: to_double<uint32_t>(x, dst, in_count_); break;
            case DT::Int64: to_double<int64_t>(x, dst, in_count_); break;
            default: break;
        }
    }

    void store(const double* src, void* y) const {
        using DT = onnx::DataType;
        switch (dtype_) {
            case DT::Float16: {
                auto* h = static_cast<uint16_t*>(y);
                for (int64_t i = 0; i < out_count_; ++i) h[i] = numerics::float_to_half(round_to_odd_float(src[i]));
                break;
            }
            case DT::Int8: from_double<int8_t>(src, y, out_count_); break;
            case DT::Uint8: from_double<uint8_t>(src, y, out_count_); break;
            case DT::Int16: from_double<int16_t>(src, y, out_count_); break;
            case DT::Uint16: from_double<uint16_t>(src, y, out_count_); break;
            case DT::Int32: from_double<int32_t>(src, y, out_count_); break;
            case DT::Uint32: from_double<uint32_t>(src, y, out_count_); break;
            case DT::Int64: from_double<int64_t>(src, y, out_count_); break;
            default: break;
        }
    }

    std::vector<Pass> passes_;
    onnx::DataType dtype_;
    int64_t in_count_, out_count_;
    float extrapolation_;
    int64_t buffer_ = 0, row_ = 0, convert_ = 0;  // in doubles
};

}  // namespace

std::unique_ptr<Kernel> make_interpolating_kernel(std::vector<Pass> passes, onnx::DataType dtype, int64_t in_count,
                                                  int64_t out_count, float extrapolation) {
    return std::make_unique<InterpolatingResizeKernel>(std::move(passes), dtype, in_count, out_count, extrapolation);
}

}  // namespace ezemu::kernels::resize
