// Which graph inputs and outputs of a QDQ model the NPU would carry as quantized integers (rknn-api.md §7.7,
// §7.9): an input whose every reader is a QuantizeLinear with the same per-tensor scale and 8- or 16-bit zero
// point, and an output produced by a per-tensor DequantizeLinear of 8- or 16-bit data. Their attrs then report
// INT8 / UINT8 / INT16 / UINT16 (the zero point's type) with zp and scale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/onnx_model.hpp"

namespace ezemu::npu {

struct IoQuantization {
    int type = 0;  // RKNN_TENSOR_INT8, _UINT8, _INT16 or _UINT16
    int32_t zero_point = 0;
    float scale = 1.0f;

    // The saturation limits of `type`: -128..127, 0..255, -32768..32767, 0..65535.
    int32_t lowest() const;
    int32_t highest() const;
};

std::optional<IoQuantization> input_quantization(const onnx::Model& model, const std::string& input);
std::optional<IoQuantization> output_quantization(const onnx::Model& model, const std::string& output);

}  // namespace ezemu::npu
