#include "kernels/tensor/strided_copy.hpp"

#include <cstring>

namespace ezemu::kernels {

namespace {

template <class T>
void copy_inner(const uint8_t* in, int64_t stride, int64_t n, uint8_t* out) {
    // Elements are read and written through memcpy: the buffers hold any dtype and need no alignment.
    if (stride == 0) {
        T v;
        std::memcpy(&v, in, sizeof(T));
        for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
        return;
    }
    for (int64_t i = 0; i < n; ++i)
        std::memcpy(out + i * static_cast<int64_t>(sizeof(T)), in + i * stride * static_cast<int64_t>(sizeof(T)),
                    sizeof(T));
}

class StridedCopyKernel final : public Kernel {
public:
    explicit StridedCopyKernel(StridedCopyPlan plan) : plan_(std::move(plan)) {}
    void run(const RunContext& ctx) const override { plan_.run(ctx.inputs[0], ctx.outputs[0]); }

private:
    StridedCopyPlan plan_;
};

}  // namespace

std::vector<int64_t> dense_strides(const Shape& shape) {
    std::vector<int64_t> s(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

StridedCopyPlan::StridedCopyPlan(const Shape& out_dims, const std::vector<int64_t>& in_strides, int64_t base_offset,
                                 size_t element_size)
    : base(base_offset), esize(element_size), total(shape_elements(out_dims)) {
    for (size_t k = 0; k < out_dims.size(); ++k) {
        if (out_dims[k] == 1) continue;
        if (!dims.empty() && strides.back() == in_strides[k] * out_dims[k]) {
            dims.back() *= out_dims[k];
            strides.back() = in_strides[k];
        } else {
            dims.push_back(out_dims[k]);
            strides.push_back(in_strides[k]);
        }
    }
}

void StridedCopyPlan::run(const void* in_ptr, void* out_ptr) const {
    if (total == 0) return;
    const auto* in = static_cast<const uint8_t*>(in_ptr);
    auto* out = static_cast<uint8_t*>(out_ptr);
    const int64_t es = static_cast<int64_t>(esize);
    const size_t r = dims.size();
    if (r == 0) {
        std::memcpy(out, in + base * es, esize);
        return;
    }
    const int64_t inner = dims[r - 1], inner_stride = strides[r - 1];
    const int64_t rows = total / inner;
    int64_t small[16] = {};
    std::vector<int64_t> large(r > 16 ? r : 0, 0);
    int64_t* idx = r > 16 ? large.data() : small;
    int64_t off = base;
    for (int64_t row = 0; row < rows; ++row) {
        const uint8_t* src = in + off * es;
        if (inner_stride == 1) {
            std::memcpy(out, src, static_cast<size_t>(inner * es));
        } else {
            switch (esize) {
                case 1: copy_inner<uint8_t>(src, inner_stride, inner, out); break;
                case 2: copy_inner<uint16_t>(src, inner_stride, inner, out); break;
                case 4: copy_inner<uint32_t>(src, inner_stride, inner, out); break;
                case 8: copy_inner<uint64_t>(src, inner_stride, inner, out); break;
                default:
                    for (int64_t i = 0; i < inner; ++i) std::memcpy(out + i * es, src + i * inner_stride * es, esize);
            }
        }
        out += inner * es;
        for (size_t k = r - 1; k-- > 0;) {
            off += strides[k];
            if (++idx[k] < dims[k]) break;
            off -= strides[k] * dims[k];
            idx[k] = 0;
        }
    }
}

std::unique_ptr<Kernel> make_strided_copy_kernel(StridedCopyPlan plan) {
    return std::make_unique<StridedCopyKernel>(std::move(plan));
}

}  // namespace ezemu::kernels
