// Checks shared by the creation of a device value (device_tensor.cpp) and its binding (io_binding.cpp): the
// messages name the tensor as the contract does ("OrtValue for input 'x' shape mismatch: ...").
#pragma once

#include <optional>
#include <vector>

#include "ezrknn/io_binding.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn::detail {

const char* io_kind_name(IoKind kind);

// Throws InvalidArgument "<what> for <kind> '<name>' shape|element type mismatch: expected ..., got ..." when a
// given shape or type differs from the tensor's.
void check_shape_and_type(const char* what, IoKind kind, const TensorDesc& desc, std::optional<ElementType> type,
                          const std::optional<std::vector<int64_t>>& shape);

}  // namespace ezrknn::detail
