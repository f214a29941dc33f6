// Input layout planning and the engine's own NCHW→NHWC transpose (the nchw_software layout).
#include "layout.hpp"

#include <cstring>

namespace ezrknn::detail {
namespace {

template <typename T>
void transpose_typed(const T* src, T* dst, size_t n, size_t c, size_t h, size_t w) {
    const size_t plane = h * w;
    for (size_t b = 0; b < n; ++b) {
        const T* s = src + b * c * plane;
        T* d = dst + b * c * plane;
        // Walk the destination in order so writes stream; reads stride by one plane.
        for (size_t p = 0; p < plane; ++p) {
            for (size_t ch = 0; ch < c; ++ch) d[p * c + ch] = s[ch * plane + p];
        }
    }
}

}  // namespace

std::vector<int64_t> nhwc_to_nchw_dims(const std::vector<int64_t>& nhwc) {
    if (nhwc.size() != 4) return nhwc;
    return {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
}

InputLayoutPlan plan_input_layout(const std::vector<int64_t>& queried_dims, TensorFormat queried_format,
                                  InputLayout layout) {
    InputLayoutPlan plan;
    plan.user_shape = queried_dims;
    plan.user_format = queried_format;
    plan.rknn_format = queried_format;
    if (queried_dims.size() != 4) {
        plan.user_format = TensorFormat::Undefined;
        plan.rknn_format = TensorFormat::Undefined;
        return plan;
    }
    if (queried_format != TensorFormat::NHWC) {
        // Already in model order (NCHW or undefined): nothing to permute, whatever the layout option says.
        return plan;
    }
    switch (layout) {
        case InputLayout::NCHW:
            plan.user_shape = nhwc_to_nchw_dims(queried_dims);
            plan.user_format = TensorFormat::NCHW;
            plan.rknn_format = TensorFormat::NCHW;  // the runtime converts inside rknn_inputs_set
            break;
        case InputLayout::NCHWSoftware:
            plan.user_shape = nhwc_to_nchw_dims(queried_dims);
            plan.user_format = TensorFormat::NCHW;
            plan.rknn_format = TensorFormat::NHWC;
            plan.software_transpose = true;
            break;
        case InputLayout::NHWC:
        case InputLayout::Any:
            plan.user_format = TensorFormat::NHWC;
            plan.rknn_format = TensorFormat::NHWC;
            break;
    }
    return plan;
}

void transpose_nchw_to_nhwc(const void* src, void* dst, size_t n, size_t c, size_t h, size_t w,
                            size_t element_bytes) {
    switch (element_bytes) {
        case 1:
            transpose_typed(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), n, c, h, w);
            return;
        case 2:
            transpose_typed(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), n, c, h, w);
            return;
        case 4:
            transpose_typed(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), n, c, h, w);
            return;
        case 8:
            transpose_typed(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), n, c, h, w);
            return;
        default: break;
    }
    const auto* s = static_cast<const unsigned char*>(src);
    auto* d = static_cast<unsigned char*>(dst);
    const size_t plane = h * w;
    for (size_t b = 0; b < n; ++b) {
        for (size_t p = 0; p < plane; ++p) {
            for (size_t ch = 0; ch < c; ++ch) {
                std::memcpy(d + ((b * plane + p) * c + ch) * element_bytes,
                            s + ((b * c + ch) * plane + p) * element_bytes, element_bytes);
            }
        }
    }
}

}  // namespace ezrknn::detail
