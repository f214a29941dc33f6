// Checks of a caller's input against a model input: element type, rank, shape, byte size and data pointer.
#pragma once

#include <vector>

#include "ezrknn/tensor.hpp"

namespace ezrknn::detail {

// Element types rknn_inputs_set converts into a model input of type `model_type` (rknn-api.md §7.7): float
// inputs take float32/float16/uint8/int8; quantized int8/uint8 inputs take int8/uint8/float32, quantized int16/uint16
// inputs their own type, uint8 and float32; any other type needs exactly itself.
std::vector<ElementType> accepted_input_types(ElementType model_type, bool quantized);

// "float32, float16, uint8 or int8".
std::string describe_types(const std::vector<ElementType>& types);

// Throws InvalidArgument naming `desc.name` at the first problem.
void validate_input_view(const TensorDesc& desc, const std::vector<ElementType>& accepted, const TensorView& view);

}  // namespace ezrknn::detail
