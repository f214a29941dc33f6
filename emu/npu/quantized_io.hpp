// Which graph inputs and outputs of a QDQ model the NPU would carry as int8 (rknn-api.md §7.7, §7.9): an input
// whose every reader is a QuantizeLinear with the same per-tensor scale and 8-bit zero point, and an output
// produced by a per-tensor DequantizeLinear of 8-bit data. Their attrs then report INT8 (or UINT8) with zp and scale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/onnx_model.hpp"

namespace ezemu::npu {

struct IoQuantization {
    int type = 0;  // RKNN_TENSOR_INT8 or RKNN_TENSOR_UINT8
    int32_t zero_point = 0;
    float scale = 1.0f;
};

std::optional<IoQuantization> input_quantization(const onnx::Model& model, const std::string& input);
std::optional<IoQuantization> output_quantization(const onnx::Model& model, const std::string& output);

}  // namespace ezemu::npu
