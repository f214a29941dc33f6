// Moving data between the caller's buffers (rknn_input, rknn_output, bound rknn_tensor_mem) and the executor's
// dense ONNX tensors: validation of what the caller declares, dtype conversion with the fp16 rounding of a float
// NPU model, and the layout reorders NHWC (with padded rows) / NC1HWC2 ↔ NCHW (rknn-api.md §7.7, §7.9, §7.10).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "npu/platform.hpp"
#include "npu/tensor_attrs.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

// How a caller's buffer holds a tensor. NCHW and UNDEFINED mean dense ONNX order; NHWC and NC1HWC2 (4-D
// tensors only) have rows of w_stride pixels.
struct BufferLayout {
    int type = RKNN_TENSOR_FLOAT32;  // rknn_tensor_type of the elements
    int fmt = RKNN_TENSOR_UNDEFINED;
    size_t w_stride = 0;
    size_t c2 = 0;     // NC1HWC2 only
    size_t bytes = 0;  // bytes the buffer must hold
    bool pass_through = false;  // already normalized (and quantized): the model's mean/std are not applied
};

// The layout of `t` in `type` and `fmt` with rows of w_stride pixels (0 = the width); c2 comes from the platform.
// Throws RknnError(RKNN_ERR_PARAM_INVALID) when the combination does not exist (NC1HWC2 of a non-4-D tensor or
// of a type the NPU does not block, w_stride below the width). `what` prefixes messages.
BufferLayout describe_buffer(const IoTensor& t, const Platform& platform, int type, int fmt, size_t w_stride,
                             const std::string& what);

// The native layout of `t` (its NATIVE_*_ATTR), with padded rows, or dense rows when `padded` is false.
BufferLayout native_buffer(const IoTensor& t, const Platform& platform, bool padded);

// True when the executor can read or write the buffer in place: same bytes, same order, no rounding.
bool is_executor_layout(const IoTensor& t, const BufferLayout& layout);

// Buffer → executor's dense data (t.executor_bytes). Types are checked by the caller; `scratch` grows once.
// Unless the layout is pass_through, an input with mean/std is normalized on the way (before fp16 rounding or
// quantization, as the NPU does); data already in a quantized input's own INT8/UINT8/INT16/UINT16 type is not.
void import_tensor(const IoTensor& t, const BufferLayout& layout, const void* src, void* dst,
                   std::vector<unsigned char>& scratch);
// Executor's dense data → buffer (layout.bytes). Type: FLOAT32, the attr type, or FLOAT16 for float tensors.
void export_tensor(const IoTensor& t, const void* src, const BufferLayout& layout, void* dst,
                   std::vector<unsigned char>& scratch);

// True when a caller's buffer of `type` can feed input `t` (float inputs: FLOAT32/FLOAT16/UINT8/INT8, a quantized
// one also its own type as quantized values; others their own type, INT64 also INT32).
bool is_accepted_input_type(const IoTensor& t, int type);
// "RKNN_TENSOR_FLOAT32, RKNN_TENSOR_FLOAT16, ..." for messages: the types is_accepted_input_type takes for `t`.
std::string accepted_input_types(const IoTensor& t);
// True when output `t` can be written as `type` (FLOAT32, the attr type, FLOAT16 for float tensors).
bool is_accepted_output_type(const IoTensor& t, int type);

// Checks `input` against tensor `t` (buf, size, type, fmt; pass_through=1 needs the native type and layout).
// Throws RknnError(RKNN_ERR_PARAM_INVALID) with the expected and given values.
void check_input(const IoTensor& t, const Platform& platform, const rknn_input& input);

// Writes the executor's dense NCHW data for a checked `input` into `dst` (t.executor_bytes). `scratch` is reused
// between calls for the layout reorder.
void write_input(const IoTensor& t, const Platform& platform, const rknn_input& input, void* dst,
                 std::vector<unsigned char>& scratch);

// Bytes rknn_outputs_get hands back for tensor `t`: float32 when want_float, else the attr type.
size_t output_byte_size(const IoTensor& t, bool want_float);

// Converts the executor's dense data of `t` into `dst` (output_byte_size bytes, any alignment).
void read_output(const IoTensor& t, const void* src, bool want_float, void* dst);

}  // namespace ezemu::npu
