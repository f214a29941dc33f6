// Tensor layouts of the NPU (rknn-api.md §7.6): NCHW (ONNX order), NHWC (what 4-D inputs report) and NC1HWC2
// (the native blocked layout). Functions move elements of any size without looking at their values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ezemu::npu {

struct Nchw {
    size_t n = 0, c = 0, h = 0, w = 0;
    size_t elements() const { return n * c * h * w; }
};

// Rows of a native NC1HWC2 buffer are padded to a multiple of this many pixels (§7.6, RK3588 size_with_stride).
inline constexpr size_t kNativeWidthAlignment = 16;

inline size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// Bytes of an NC1HWC2 buffer: N·ceil(C/C2)·H·align(W, w_alignment)·C2·element_size.
size_t nc1hwc2_byte_size(const Nchw& shape, size_t c2, size_t element_size,
                         size_t w_alignment = kNativeWidthAlignment);

// Bytes of an NHWC buffer whose rows hold w_stride pixels: N·H·w_stride·C·element_size.
inline size_t nhwc_byte_size(const Nchw& s, size_t w_stride, size_t element_size)
{
    return s.n * s.h * w_stride * s.c * element_size;
}

// dst and src must not overlap.
void nchw_to_nhwc(const void* src, void* dst, const Nchw& shape, size_t element_size);
void nhwc_to_nchw(const void* src, void* dst, const Nchw& shape, size_t element_size);

// NHWC with rows of w_stride pixels (w_stride ≥ W), as a native 1/3/4-channel input. Packing zero-fills the
// padding pixels.
void nchw_to_nhwc_strided(const void* src, void* dst, const Nchw& shape, size_t w_stride, size_t element_size);
void nhwc_strided_to_nchw(const void* src, void* dst, const Nchw& shape, size_t w_stride, size_t element_size);

// NC1HWC2 with rows of w_stride pixels (w_stride ≥ W). Packing zero-fills the channel and width padding.
void nchw_to_nc1hwc2(const void* src, void* dst, const Nchw& shape, size_t c2, size_t w_stride,
                     size_t element_size);
void nc1hwc2_to_nchw(const void* src, void* dst, const Nchw& shape, size_t c2, size_t w_stride,
                     size_t element_size);

}  // namespace ezemu::npu
