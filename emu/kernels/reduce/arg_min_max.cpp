// ArgMax and ArgMin: the int64 index of the largest / smallest element along `axis`; ties go to the first index, or
// to the last with select_last_index (opset 12).
#include <cstring>

#include "kernels/fp16_adapter.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

template <class T, bool IsMax>
class ArgKernel final : public Kernel {
public:
    ArgKernel(int64_t outer, int64_t len, int64_t inner, bool last)
        : outer_(outer), len_(len), inner_(inner), last_(last) {}

    size_t scratch_bytes() const override { return inner_ > 1 ? static_cast<size_t>(inner_) * sizeof(T) : 0; }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<int64_t*>(ctx.outputs[0]);
        if (outer_ * inner_ == 0) return;  // an empty output: scratch may be null
        if (last_) run_with<true>(x, y, static_cast<T*>(ctx.scratch));
        else run_with<false>(x, y, static_cast<T*>(ctx.scratch));
    }

private:
    // True when v replaces the current best.
    template <bool Last>
    static bool better(T v, T best) {
        if constexpr (IsMax) return Last ? v >= best : v > best;
        else return Last ? v <= best : v < best;
    }

    template <bool Last>
    void run_with(const T* x, int64_t* y, T* best) const {
        for (int64_t o = 0; o < outer_; ++o) {
            const T* xo = x + o * len_ * inner_;
            int64_t* yo = y + o * inner_;
            if (inner_ == 1) {
                T b = xo[0];
                int64_t bi = 0;
                for (int64_t a = 1; a < len_; ++a)
                    if (better<Last>(xo[a], b)) b = xo[a], bi = a;
                yo[0] = bi;
                continue;
            }
            // Rows of `inner` candidates at once: contiguous loads, one compare-and-select per lane.
            std::memcpy(best, xo, static_cast<size_t>(inner_) * sizeof(T));
            for (int64_t i = 0; i < inner_; ++i) yo[i] = 0;
            for (int64_t a = 1; a < len_; ++a) {
                const T* row = xo + a * inner_;
                for (int64_t i = 0; i < inner_; ++i) {
                    const bool take = better<Last>(row[i], best[i]);
                    best[i] = take ? row[i] : best[i];
                    yo[i] = take ? a : yo[i];
                }
            }
        }
    }

    int64_t outer_, len_, inner_;
    bool last_;
};

template <bool IsMax>
std::unique_ptr<Kernel> make_typed(onnx::DataType dt, int64_t outer, int64_t len, int64_t inner, bool last) {
    using DT = onnx::DataType;
    switch (dt) {
        case DT::Float: return std::make_unique<ArgKernel<float, IsMax>>(outer, len, inner, last);
        case DT::Int32: return std::make_unique<ArgKernel<int32_t, IsMax>>(outer, len, inner, last);
        case DT::Int64: return std::make_unique<ArgKernel<int64_t, IsMax>>(outer, len, inner, last);
        case DT::Uint32: return std::make_unique<ArgKernel<uint32_t, IsMax>>(outer, len, inner, last);
        case DT::Int8: return std::make_unique<ArgKernel<int8_t, IsMax>>(outer, len, inner, last);
        case DT::Uint8: return std::make_unique<ArgKernel<uint8_t, IsMax>>(outer, len, inner, last);
        case DT::Int16: return std::make_unique<ArgKernel<int16_t, IsMax>>(outer, len, inner, last);
        default: return std::make_unique<ArgKernel<uint16_t, IsMax>>(outer, len, inner, last);
    }
}

template <bool IsMax>
std::unique_ptr<Kernel> make_arg(KernelContext& ctx) {
    using DT = onnx::DataType;
    if (ctx.has_input(0) && ctx.input(0).dtype == DT::Float16) return make_float16_via_float(ctx, make_arg<IsMax>);
    ctx.require_inputs(1, 1);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Int32, DT::Int64, DT::Uint32, DT::Int8, DT::Uint8, DT::Int16, DT::Uint16});
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    if (rank == 0) ctx.fail("input must have rank 1 or more");
    const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), rank);
    const int64_t keepdims = ctx.attr_int("keepdims", 1);
    if (keepdims != 0 && keepdims != 1)
        ctx.fail("attribute 'keepdims' must be 0 or 1, got " + std::to_string(keepdims));
    int64_t last = 0;
    if (ctx.opset() >= 12) {
        last = ctx.attr_int("select_last_index", 0);
        if (last != 0 && last != 1)
            ctx.fail("attribute 'select_last_index' must be 0 or 1, got " + std::to_string(last));
    } else if (ctx.has_attr("select_last_index")) {
        ctx.fail("attribute 'select_last_index' needs opset 12 or newer");
    }
    int64_t outer = 1, inner = 1;
    const int64_t len = x[static_cast<size_t>(axis)];
    Shape y;
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t e = x[static_cast<size_t>(d)];
        if (d < axis) outer *= e;
        if (d > axis) inner *= e;
        if (d != axis) y.push_back(e);
        else if (keepdims) y.push_back(1);
    }
    if (len == 0 && outer * inner > 0)
        ctx.fail("axis " + std::to_string(axis) + " of " + shape_to_string(x) +
                 " is empty: there is no index to return");
    ctx.set_output(0, DT::Int64, y);
    return make_typed<IsMax>(ctx.input(0).dtype, outer, len, inner, last == 1);
}

}  // namespace

std::unique_ptr<Kernel> make_arg_max(KernelContext& ctx) { return make_arg<true>(ctx); }
std::unique_ptr<Kernel> make_arg_min(KernelContext& ctx) { return make_arg<false>(ctx); }

}  // namespace ezemu::kernels
