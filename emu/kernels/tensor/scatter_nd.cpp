// ScatterND: a copy of the data with slices replaced by (or combined with: add, mul, max, min) the updates at
// the given index tuples. Duplicate index tuples combine in order, as ONNX Runtime does.
#include <algorithm>
#include <cstring>
#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

enum class Reduction { None, Add, Mul, Max, Min };

template <class T>
inline T combine(Reduction r, T a, T b) {
    switch (r) {
        case Reduction::Add: return static_cast<T>(a + b);
        case Reduction::Mul: return static_cast<T>(a * b);
        case Reduction::Max: return std::max(a, b);
        case Reduction::Min: return std::min(a, b);
        case Reduction::None: break;
    }
    return b;
}

// Folds a run of n updates into y; fp16 is combined in float and rounded back once per element.
template <class T>
void combine_run(Reduction r, uint8_t* y, const uint8_t* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        T a, b;
        std::memcpy(&a, y + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
        std::memcpy(&b, u + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
        const T c = combine(r, a, b);
        std::memcpy(y + i * static_cast<int64_t>(sizeof(T)), &c, sizeof(T));
    }
}

void combine_run_half(Reduction r, uint8_t* y, const uint8_t* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint16_t a, b;
        std::memcpy(&a, y + 2 * i, 2);
        std::memcpy(&b, u + 2 * i, 2);
        const uint16_t c =
            numerics::float_to_half(combine(r, numerics::half_to_float(a), numerics::half_to_float(b)));
        std::memcpy(y + 2 * i, &c, 2);
    }
}

using CombineFn = void (*)(Reduction, uint8_t*, const uint8_t*, int64_t);

CombineFn combine_fn(onnx::DataType t) {
    using DT = onnx::DataType;
    switch (t) {
        case DT::Float: return combine_run<float>;
        case DT::Double: return combine_run<double>;
        case DT::Float16: return combine_run_half;
        case DT::Int8: return combine_run<int8_t>;
        case DT::Uint8: return combine_run<uint8_t>;
        case DT::Int16: return combine_run<int16_t>;
        case DT::Uint16: return combine_run<uint16_t>;
        case DT::Int32: return combine_run<int32_t>;
        case DT::Uint32: return combine_run<uint32_t>;
        case DT::Int64: return combine_run<int64_t>;
        case DT::Uint64: return combine_run<uint64_t>;
        default: return nullptr;
    }
}

class ScatterNDKernel final : public Kernel {
public:
    ScatterNDKernel(Shape data_shape, int64_t tuples, int64_t k, size_t esize, Reduction r, CombineFn fn)
        : shape_(std::move(data_shape)), tuples_(tuples), k_(k), esize_(esize), reduction_(r), combine_(fn) {
        slice_ = 1;
        for (size_t d = static_cast<size_t>(k); d < shape_.size(); ++d) slice_ *= shape_[d];
        total_bytes_ = static_cast<size_t>(shape_elements(shape_)) * esize_;
    }

    void run(const RunContext& ctx) const override {
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        if (ctx.outputs[0] != ctx.inputs[0] && total_bytes_) std::memcpy(y, ctx.inputs[0], total_bytes_);
        const auto* idx = static_cast<const int64_t*>(ctx.inputs[1]);
        const auto* u = static_cast<const uint8_t*>(ctx.inputs[2]);
        const size_t slice_bytes = static_cast<size_t>(slice_) * esize_;
        for (int64_t t = 0; t < tuples_; ++t) {
            int64_t off = 0;
            for (int64_t d = 0; d < k_; ++d) {
                const int64_t dim = shape_[static_cast<size_t>(d)];
                int64_t v = idx[t * k_ + d];
                if (v < -dim || v >= dim)
                    throw RunError("ScatterND: index " + std::to_string(v) + " is out of range for a dim of " +
                                   std::to_string(dim));
                off = off * dim + (v < 0 ? v + dim : v);
            }
            uint8_t* dst = y + static_cast<size_t>(off) * slice_bytes;
            const uint8_t* src = u + static_cast<size_t>(t) * slice_bytes;
            if (reduction_ == Reduction::None) std::memcpy(dst, src, slice_bytes);
            else combine_(reduction_, dst, src, slice_);
        }
    }

private:
    Shape shape_;
    int64_t tuples_, k_;
    size_t esize_;
    Reduction reduction_;
    CombineFn combine_;
    int64_t slice_ = 1;
    size_t total_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_scatter_nd(KernelContext& ctx) {
    ctx.require_inputs(3, 3);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    ctx.require_dtype(1, {onnx::DataType::Int64});
    const ValueDesc& ind = ctx.input(1);
    const ValueDesc& upd = ctx.input(2);
    if (upd.dtype != x.dtype) ctx.fail("updates must have the dtype of data");
    Reduction r = Reduction::None;
    const std::string reduction = ctx.opset() >= 16 ? ctx.attr_string("reduction", "none") : "none";
    if (reduction == "add") r = Reduction::Add;
    else if (reduction == "mul") r = Reduction::Mul;
    else if (reduction == "max" && ctx.opset() >= 18) r = Reduction::Max;
    else if (reduction == "min" && ctx.opset() >= 18) r = Reduction::Min;
    else if (reduction != "none") ctx.fail("reduction '" + reduction + "' is not defined at this opset");
    CombineFn fn = nullptr;
    if (r != Reduction::None && !(fn = combine_fn(x.dtype)))
        ctx.fail(std::string("reduction '") + reduction + "' is not supported for dtype " +
                 onnx::data_type_name(x.dtype));
    if (ind.shape.empty()) ctx.fail("indices must have rank 1 or more");
    const int64_t k = ind.shape.back();
    if (k < 1 || k > static_cast<int64_t>(x.shape.size()))
        ctx.fail("the last dim of indices " + shape_to_string(ind.shape) + " must lie in [1, rank of data " +
                 shape_to_string(x.shape) + "]");
    Shape want(ind.shape.begin(), ind.shape.end() - 1);
    want.insert(want.end(), x.shape.begin() + k, x.shape.end());
    if (upd.shape != want)
        ctx.fail("updates " + shape_to_string(upd.shape) + " must have shape " + shape_to_string(want));
    ctx.set_output(0, x.dtype, x.shape);
    return std::make_unique<ScatterNDKernel>(x.shape, shape_elements(ind.shape) / k, k, esize, r, fn);
}

}  // namespace ezemu::kernels
