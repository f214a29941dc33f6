// NHWC (strided) and NC1HWC2 ↔ logical NCHW/NHWC, element by element through one offset rule per layout.
#include "native_layout.hpp"

#include <cstring>
#include <string>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {
namespace {

std::string dims_text(const rknn_tensor_attr& attr) {
    std::vector<int64_t> dims(attr.dims, attr.dims + (attr.n_dims <= RKNN_MAX_DIMS ? attr.n_dims : 0));
    return shape_to_string(dims);
}

[[noreturn]] void mismatch(const rknn_tensor_attr& attr, const std::vector<int64_t>& shape, const char* why) {
    throw InvalidArgument("device layout " + dims_text(attr) + " (fmt " + std::to_string(attr.fmt) +
                          ") does not hold a tensor of shape " + shape_to_string(shape) + ": " + why);
}

// Offset, in elements, of logical element (n, c, h, w) in the device buffer.
size_t device_offset(const DeviceLayout& l, size_t n, size_t c, size_t h, size_t w) {
    if (l.format == TensorFormat::NHWC) return ((n * l.h_stride + h) * l.w_stride + w) * l.c + c;
    return (((n * l.c1 + c / l.c2) * l.h_stride + h) * l.w_stride + w) * l.c2 + c % l.c2;
}

size_t logical_offset(const DeviceLayout& l, bool nhwc, size_t n, size_t c, size_t h, size_t w) {
    return nhwc ? ((n * l.h + h) * l.w + w) * l.c + c : ((n * l.c + c) * l.h + h) * l.w + w;
}

template <typename T>
void convert(const DeviceLayout& l, bool nhwc, const void* from, void* to, bool to_device) {
    const T* src = static_cast<const T*>(from);
    T* dst = static_cast<T*>(to);
    for (size_t n = 0; n < l.n; ++n)
        for (size_t c = 0; c < l.c; ++c)
            for (size_t h = 0; h < l.h; ++h)
                for (size_t w = 0; w < l.w; ++w) {
                    const size_t d = device_offset(l, n, c, h, w);
                    const size_t g = logical_offset(l, nhwc, n, c, h, w);
                    if (to_device) dst[d] = src[g];
                    else dst[g] = src[d];
                }
}

void convert_any(const DeviceLayout& l, bool nhwc, const void* from, void* to, bool to_device) {
    switch (l.element_bytes) {
        case 1: return convert<uint8_t>(l, nhwc, from, to, to_device);
        case 2: return convert<uint16_t>(l, nhwc, from, to, to_device);
        case 4: return convert<uint32_t>(l, nhwc, from, to, to_device);
        case 8: return convert<uint64_t>(l, nhwc, from, to, to_device);
        default: throw NotSupported("no layout conversion for " + std::to_string(l.element_bytes) + "-byte elements");
    }
}

}  // namespace

size_t device_bytes(const rknn_tensor_attr& attr) {
    const size_t dense = static_cast<size_t>(attr.n_elems) * element_size(element_type_from_rknn(attr.type));
    size_t bytes = attr.size_with_stride;
    if (attr.size > bytes) bytes = attr.size;
    return dense > bytes ? dense : bytes;
}

DeviceLayout describe_device_layout(const rknn_tensor_attr& attr, const std::vector<int64_t>& shape,
                                    bool logical_nhwc, size_t element_bytes) {
    DeviceLayout l;
    l.element_bytes = element_bytes;
    l.logical_bytes = shape_element_count(shape) * element_bytes;
    const bool nhwc = attr.fmt == RKNN_TENSOR_NHWC && attr.n_dims == 4;
    const bool blocked = attr.fmt == RKNN_TENSOR_NC1HWC2 && attr.n_dims == 5;
    if ((!nhwc && !blocked) || shape.size() != 4) {
        if (static_cast<size_t>(attr.n_elems) * element_bytes != l.logical_bytes) {
            mismatch(attr, shape, "the element counts differ");
        }
        l.device_bytes = l.logical_bytes;
        return l;
    }
    l.format = nhwc ? TensorFormat::NHWC : TensorFormat::NC1HWC2;
    l.n = static_cast<size_t>(shape[0]);
    l.c = static_cast<size_t>(logical_nhwc ? shape[3] : shape[1]);
    l.h = static_cast<size_t>(logical_nhwc ? shape[1] : shape[2]);
    l.w = static_cast<size_t>(logical_nhwc ? shape[2] : shape[3]);
    size_t blocks = 1;
    if (nhwc) {
        if (attr.dims[0] != l.n || attr.dims[1] != l.h || attr.dims[2] != l.w || attr.dims[3] != l.c) {
            mismatch(attr, shape, "NHWC dims must be [N, H, W, C] of the tensor");
        }
    } else {
        l.c2 = attr.dims[4];
        blocks = attr.dims[1];
        l.c1 = blocks;
        if (attr.dims[0] != l.n || attr.dims[2] != l.h || attr.dims[3] != l.w || l.c2 == 0 ||
            blocks * l.c2 < l.c) {
            mismatch(attr, shape, "NC1HWC2 dims must be [N, C1, H, W, C2] with C1 x C2 >= C");
        }
    }
    l.w_stride = attr.w_stride != 0 ? attr.w_stride : l.w;
    l.h_stride = attr.h_stride != 0 ? attr.h_stride : l.h;
    if (l.w_stride < l.w || l.h_stride < l.h) mismatch(attr, shape, "w_stride/h_stride is below the width/height");
    l.device_bytes = l.n * blocks * l.h_stride * l.w_stride * (nhwc ? l.c : l.c2) * element_bytes;
    if (l.format == TensorFormat::NHWC && logical_nhwc && l.w_stride == l.w && l.h_stride == l.h) {
        l.format = TensorFormat::Undefined;  // already the logical bytes: one memcpy
    }
    return l;
}

void pack_logical(const DeviceLayout& l, bool logical_nhwc, const void* logical, void* device) {
    if (l.identity()) {
        std::memcpy(device, logical, l.logical_bytes);
        return;
    }
    std::memset(device, 0, l.device_bytes);  // padding is zero, as the NPU expects
    convert_any(l, logical_nhwc, logical, device, true);
}

void unpack_logical(const DeviceLayout& l, bool logical_nhwc, const void* device, void* logical) {
    if (l.identity()) {
        std::memcpy(logical, device, l.logical_bytes);
        return;
    }
    convert_any(l, logical_nhwc, device, logical, false);
}

}  // namespace ezrknn::detail
