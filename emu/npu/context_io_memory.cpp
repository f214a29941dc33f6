// The zero-copy side of a Context (rknn-api.md §7.10): bound input and output mems, and the caller-provided
// weight/internal memory of RKNN_FLAG_MEM_ALLOC_OUTSIDE contexts.
#include <string>

#include "npu/context.hpp"
#include "npu/io_conversion.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {

void Context::bind_io_memory(IoBinding binding)
{
    if (binding.role == TensorRole::Input) {
        input_bound_[binding.index] = true;
        input_mems_[binding.index] = std::move(binding);
    } else {
        output_mems_[binding.index] = std::move(binding);
    }
}

void Context::require_outside_memory(bool weights, bool internal)
{
    needs_weight_mem_ = weights;
    needs_internal_mem_ = internal;
}

void Context::check_outside_memory() const
{
    if (needs_weight_mem_ && !weight_mem_.storage) {
        throw RknnError(RKNN_ERR_FAIL, "the context was created with RKNN_FLAG_MEM_ALLOC_OUTSIDE and has no weight "
                                       "memory: call rknn_set_weight_mem (size from RKNN_QUERY_MEM_SIZE) first");
    }
    if (needs_internal_mem_ && !internal_mem_.storage) {
        throw RknnError(RKNN_ERR_FAIL, "the context was created with RKNN_FLAG_MEM_ALLOC_OUTSIDE or "
                                       "RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE and has no internal memory: call "
                                       "rknn_set_internal_mem (size from RKNN_QUERY_MEM_SIZE) first");
    }
}

// A bound input is read now, so data the caller wrote into the mem since the last run is what this run sees.
const void* Context::stage_input(size_t index)
{
    if (!input_mems_[index]) return input_data_[index].data();
    const IoBinding& b = *input_mems_[index];
    if (b.in_place) return b.memory.data;
    import_tensor(inputs()[index], b.layout, b.memory.data, input_data_[index].data(), scratch_);
    return input_data_[index].data();
}

void Context::write_output_memories()
{
    const std::vector<IoTensor>& tensors = outputs();
    for (size_t i = 0; i < output_mems_.size(); ++i) {
        if (!output_mems_[i]) continue;
        const IoBinding& b = *output_mems_[i];
        export_tensor(tensors[i], output_data_[i].data(), b.layout, b.memory.data, scratch_);
    }
}

}  // namespace ezemu::npu
