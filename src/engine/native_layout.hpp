// The engine's one converter between a tensor's logical dense data (NCHW, or NHWC under the nhwc session layout)
// and the NPU's device layouts: NHWC with padded rows (w_stride) and planes (h_stride), and NC1HWC2 blocks
// [N, C1, H, W, C2] with padded rows (rknn-api.md §7.6). The emulator has its own; the engine never links it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ezrknn/tensor.hpp"
#include "rknn/rknn_api.h"

namespace ezrknn::detail {

struct DeviceLayout {
    TensorFormat format = TensorFormat::Undefined;  // NCHW/Undefined: the logical bytes as they are
    size_t n = 0, c = 0, h = 0, w = 0;              // logical 4-D extents
    size_t c1 = 0, c2 = 0;                          // NC1HWC2 only: the declared blocks (C1 may exceed ceil(C/C2))
    size_t w_stride = 0, h_stride = 0;              // stored pixels per row and rows per plane
    size_t element_bytes = 0;
    size_t logical_bytes = 0;  // dense bytes of the logical tensor
    size_t device_bytes = 0;   // bytes the device buffer must hold
    bool identity() const { return format != TensorFormat::NHWC && format != TensorFormat::NC1HWC2; }
};

// The device layout `attr` describes for a logical tensor of `shape` (NHWC when `logical_nhwc`). Throws
// InvalidArgument when they disagree (dims that do not fit the shape, a stride below its extent).
DeviceLayout describe_device_layout(const rknn_tensor_attr& attr, const std::vector<int64_t>& shape,
                                    bool logical_nhwc, size_t element_bytes);

// Bytes a buffer for `attr` needs: the largest of size_with_stride, size and n_elems × element bytes, so a
// non-4-D native tensor is never under-allocated (anchor-behaviour.md §14.23).
size_t device_bytes(const rknn_tensor_attr& attr);

// Logical dense → device (padding zeroed); device → logical dense. Buffers hold logical_bytes / device_bytes.
void pack_logical(const DeviceLayout& layout, bool logical_nhwc, const void* logical, void* device);
void unpack_logical(const DeviceLayout& layout, bool logical_nhwc, const void* device, void* logical);

}  // namespace ezrknn::detail
