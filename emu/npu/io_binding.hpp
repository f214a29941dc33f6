// rknn_set_io_mem: which graph input or output a caller's attr names, and how the bound mem holds it
// (rknn-api.md §7.10). The context reads bound input mems at every rknn_run and writes bound output mems at its
// end.
#pragma once

#include <cstddef>
#include <vector>

#include "npu/io_conversion.hpp"
#include "npu/tensor_attrs.hpp"
#include "npu/tensor_memory.hpp"

namespace ezemu::npu {

struct IoBinding {
    TensorRole role = TensorRole::Input;
    size_t index = 0;
    MemoryView memory;
    BufferLayout layout;
    bool in_place = false;  // the executor reads/writes the mem directly (same bytes as its own buffer)
};

// Resolves `attr` (by name first, then index — an empty name means an input index) and checks `memory` against
// the layout that attr's type, fmt, w_stride and pass_through describe. Throws RknnError(RKNN_ERR_PARAM_INVALID)
// naming what does not match.
IoBinding bind_io_memory(const std::vector<IoTensor>& inputs, const std::vector<IoTensor>& outputs,
                         const Platform& platform, const rknn_tensor_attr& attr, MemoryView memory);

}  // namespace ezemu::npu
