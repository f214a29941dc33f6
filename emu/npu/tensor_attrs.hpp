// How an ONNX graph input or output looks through the RKNN API: its rknn_tensor_attr under the NPU's conventions
// (rknn-api.md §7.5–§7.6). A float tensor is FLOAT16 (the NPU's float) unless exact fp32 is on; a 4-D input
// reports NHWC, a 4-D output NCHW with the NC1HWC2 native size as size_with_stride. The native attrs describe
// the layout the NPU reads and writes directly (NATIVE_* queries, pass_through, zero-copy).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "graph/compiled_model.hpp"
#include "npu/layout.hpp"
#include "npu/platform.hpp"
#include "npu/quantized_io.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

enum class TensorRole { Input, Output };

// The NPU's input normalization (toolkit2 mean_values/std_values): the graph sees (x - mean[c]) / std[c], c the
// channel (dim 1 of the NCHW tensor); one value applies to every element.
struct InputNormalization {
    std::vector<float> mean;
    std::vector<float> std_dev;  // same length as mean, no zeros
};

// One graph input or output: the executor's view (ONNX dtype, NCHW shape) beside the RKNN view (attr).
struct IoTensor {
    TensorInfo info;
    rknn_tensor_attr attr{};
    rknn_tensor_attr native{};       // RKNN_QUERY_NATIVE_INPUT_ATTR / _OUTPUT_ATTR
    rknn_tensor_attr native_nhwc{};  // RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR / _OUTPUT_ATTR
    size_t onnx_element_size = 0;      // bytes per element in the executor's buffer
    size_t executor_bytes = 0;         // dense bytes in the executor's buffer
    std::optional<Nchw> nchw;          // set for 4-D tensors
    bool is_float = false;             // ONNX float32 or float16
    bool rounds_through_fp16 = false;  // ONNX float32 carried as FLOAT16 (the fp16 NPU convention)
    // Set for a float tensor of a QDQ model that the NPU carries as INT8/UINT8/INT16/UINT16 (quantized_io.hpp):
    // the caller's data is quantized with it on the way in and, unless want_float, on the way out.
    std::optional<IoQuantization> quant;
    std::optional<InputNormalization> norm;  // inputs of a model prepared with mean/std
};

// The RKNN type an ONNX dtype travels as (float32 as FLOAT16 unless exact_fp32); nullopt when RKNN has none.
std::optional<rknn_tensor_type> rknn_type_for(onnx::DataType dtype, bool exact_fp32);

// Bytes per element of an RKNN tensor type; 0 for INT4 (packed) and unknown values. Plain ints, because callers'
// structs may hold values outside the enums (see c_enum.hpp).
size_t rknn_type_size(int type);
// "RKNN_TENSOR_FLOAT16" etc., for messages.
const char* rknn_type_name(int type);
const char* rknn_format_name(int fmt);

// True for the element types the NPU keeps in its blocked NC1HWC2 layout (8- and 16-bit).
bool has_nc1hwc2_layout(int type);

// Builds the attrs for tensor `index`. Throws RknnError(RKNN_ERR_MODEL_INVALID) for what RKNN cannot carry: an
// ONNX dtype without an RKNN type (float64, uint64, string, ...), more than RKNN_MAX_DIMS dims, or more than
// 4 GiB of data (sizes are uint32_t in the ABI).
IoTensor describe_tensor(const TensorInfo& info, TensorRole role, uint32_t index, bool exact_fp32,
                         const Platform& platform);

// Turns float tensor `t` into the NPU's quantized view: attr type q.type (INT8/UINT8/INT16/UINT16),
// AFFINE_ASYMMETRIC with q's zp and scale, sizes and native attrs of that type's 1- or 2-byte elements.
void mark_quantized(IoTensor& t, TensorRole role, const Platform& platform, const IoQuantization& q);

// Attaches mean/std to input `t`: each list is empty (mean 0 / std 1), one value, or one per channel of a 4-D
// input. Throws RknnError(RKNN_ERR_MODEL_INVALID) for another length, a std of 0, or a non-float input whose
// values would change.
void set_normalization(IoTensor& t, const std::vector<float>& mean, const std::vector<float>& std_dev);

}  // namespace ezemu::npu
