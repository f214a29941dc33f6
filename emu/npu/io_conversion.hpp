// Moving data between the caller's rknn_input/rknn_output buffers and the executor's dense ONNX tensors:
// validation of what the caller declares, dtype conversion with the fp16 rounding of a float NPU model, and the
// NHWC→NCHW reorder of 4-D inputs (rknn-api.md §7.7, §7.9).
#pragma once

#include <cstddef>
#include <vector>

#include "npu/tensor_attrs.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

// Checks `input` against tensor `t` (buf, size, type, fmt; pass_through=1 needs the native type and layout).
// Throws RknnError(RKNN_ERR_PARAM_INVALID) with the expected and given values.
void check_input(const IoTensor& t, const rknn_input& input);

// Writes the executor's dense NCHW data for a checked `input` into `dst` (t.executor_bytes). `scratch` is reused
// between calls for the layout reorder.
void write_input(const IoTensor& t, const rknn_input& input, void* dst, std::vector<unsigned char>& scratch);

// Bytes rknn_outputs_get hands back for tensor `t`: float32 when want_float, else the attr type.
size_t output_byte_size(const IoTensor& t, bool want_float);

// Converts the executor's dense data of `t` into `dst` (output_byte_size bytes, any alignment).
void read_output(const IoTensor& t, const void* src, bool want_float, void* dst);

}  // namespace ezemu::npu
