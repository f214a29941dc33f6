// Where: y = condition ? x : y_input, the three broadcast together. The values are only copied, so the kernel works
// on the element's size, not its dtype.
#include <array>
#include <cstring>
#include <vector>

#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// A walk of an output whose three inputs broadcast to it, over merged dims: the innermost dim reads each input
// either contiguously (stride 1) or as a scalar (stride 0).
struct TernaryWalk {
    std::vector<int64_t> dims;                     // merged, outermost first; the last one is the inner row
    std::array<std::vector<int64_t>, 3> strides;  // element strides per input per merged dim (0 where broadcast)

    TernaryWalk(const std::array<Shape, 3>& in, const Shape& out) {
        const size_t r = out.size();
        std::array<std::vector<int64_t>, 3> full;
        for (size_t k = 0; k < 3; ++k) {
            full[k].assign(r, 0);
            int64_t s = 1;
            for (size_t d = r; d-- > 0;) {
                const size_t off = r - in[k].size();
                const int64_t dim = d < off ? 1 : in[k][d - off];
                full[k][d] = dim == 1 ? 0 : s;
                s *= dim;
            }
        }
        for (size_t d = 0; d < r; ++d) {
            if (out[d] == 1) continue;
            bool merge = !dims.empty();
            for (size_t k = 0; k < 3 && merge; ++k) merge = strides[k].back() == full[k][d] * out[d];
            if (merge) {
                dims.back() *= out[d];
                for (size_t k = 0; k < 3; ++k) strides[k].back() = full[k][d];
            } else {
                dims.push_back(out[d]);
                for (size_t k = 0; k < 3; ++k) strides[k].push_back(full[k][d]);
            }
        }
        if (dims.empty()) {
            dims.push_back(1);
            for (auto& s : strides) s.push_back(0);
        }
    }
};

template <class E>
class WhereKernel final : public Kernel {
public:
    WhereKernel(const std::array<Shape, 3>& in, const Shape& out) : walk_(in, out) {}

    void run(const RunContext& ctx) const override {
        const auto* c = static_cast<const bool*>(ctx.inputs[0]);
        const auto* x = static_cast<const E*>(ctx.inputs[1]);
        const auto* y = static_cast<const E*>(ctx.inputs[2]);
        auto* out = static_cast<E*>(ctx.outputs[0]);
        const std::vector<int64_t>& dims = walk_.dims;
        const size_t outer_rank = dims.size() - 1;
        const int64_t n = dims.back();
        const int64_t cs = walk_.strides[0].back(), xs = walk_.strides[1].back(), ys = walk_.strides[2].back();
        int64_t rows = 1;
        for (size_t d = 0; d < outer_rank; ++d) rows *= dims[d];
        int64_t idx[16] = {};
        std::vector<int64_t> large(outer_rank > 16 ? outer_rank : 0, 0);
        int64_t* index = outer_rank > 16 ? large.data() : idx;
        int64_t co = 0, xo = 0, yo = 0;
        for (int64_t row = 0; row < rows; ++row) {
            const bool* cr = c + co;
            const E* xr = x + xo;
            const E* yr = y + yo;
            E* o = out + row * n;
            if (cs == 1 && xs == 1 && ys == 1) {
                for (int64_t i = 0; i < n; ++i) o[i] = cr[i] ? xr[i] : yr[i];
            } else {
                for (int64_t i = 0; i < n; ++i) o[i] = cr[i * cs] ? xr[i * xs] : yr[i * ys];
            }
            for (size_t d = outer_rank; d-- > 0;) {
                co += walk_.strides[0][d];
                xo += walk_.strides[1][d];
                yo += walk_.strides[2][d];
                if (++index[d] < dims[d]) break;
                co -= walk_.strides[0][d] * dims[d];
                xo -= walk_.strides[1][d] * dims[d];
                yo -= walk_.strides[2][d] * dims[d];
                index[d] = 0;
            }
        }
    }

private:
    TernaryWalk walk_;
};

}  // namespace

std::unique_ptr<Kernel> make_where(KernelContext& ctx) {
    ctx.require_inputs(3, 3);
    ctx.require_outputs(1, 1);
    require_dtype_since(ctx, 0, rules::kBoolOnly);
    require_same_dtype(ctx, 1, 2);
    require_dtype_since(ctx, 1, rules::kAll);
    const std::array<Shape, 3> in{ctx.input(0).shape, ctx.input(1).shape, ctx.input(2).shape};
    const Shape y = broadcast_or_fail(ctx, broadcast_or_fail(ctx, in[0], in[1]), in[2]);
    const onnx::DataType dtype = ctx.input(1).dtype;
    ctx.set_output(0, dtype, y);
    switch (onnx::data_type_size(dtype)) {
        case 1: return std::make_unique<WhereKernel<uint8_t>>(in, y);
        case 2: return std::make_unique<WhereKernel<uint16_t>>(in, y);
        case 4: return std::make_unique<WhereKernel<uint32_t>>(in, y);
        case 8: return std::make_unique<WhereKernel<uint64_t>>(in, y);
        default: ctx.fail(std::string("has no kernel for dtype ") + onnx::data_type_name(dtype));
    }
}

}  // namespace ezemu::kernels
