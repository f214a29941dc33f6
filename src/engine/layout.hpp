// How a model input is shown to the caller and handed to rknn_inputs_set under the `layout` option
// (anchor-behaviour.md §5.2), and the NCHW→NHWC transpose the engine does itself for nchw_software.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ezrknn/options.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn::detail {

struct InputLayoutPlan {
    std::vector<int64_t> user_shape;  // what inputs() reports and validate_input checks
    TensorFormat user_format = TensorFormat::Undefined;
    TensorFormat rknn_format = TensorFormat::Undefined;  // rknn_input.fmt
    bool software_transpose = false;  // the engine turns the caller's NCHW into NHWC before rknn_inputs_set
};

// `queried_dims`/`queried_format` come from RKNN_QUERY_INPUT_ATTR. Only a 4-D input whose queried format is NHWC
// is ever permuted; any other input is shown and passed as queried.
InputLayoutPlan plan_input_layout(const std::vector<int64_t>& queried_dims, TensorFormat queried_format,
                                  InputLayout layout);

// [n, h, w, c] → [n, c, h, w].
std::vector<int64_t> nhwc_to_nchw_dims(const std::vector<int64_t>& nhwc);

// Dense NCHW `src` → dense NHWC `dst` for elements of `element_bytes` bytes (1, 2, 4 or 8 take a fast path).
void transpose_nchw_to_nhwc(const void* src, void* dst, size_t n, size_t c, size_t h, size_t w,
                            size_t element_bytes);

}  // namespace ezrknn::detail
