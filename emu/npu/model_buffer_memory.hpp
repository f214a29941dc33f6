// RKNN_FLAG_MODEL_BUFFER_ZERO_COPY (rknn-api.md §7.1): the model lives in a mem from rknn_create_mem*, and the
// runtime uses it in place instead of copying it. Also what RKNN_QUERY_DEVICE_MEM_INFO reports.
#pragma once

#include <cstdint>
#include <memory>

#include "npu/model_bytes.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

// The model bytes at model + extend->real_model_offset (real_model_size bytes, or the rest of `size` when 0),
// which must lie inside a live mem. The view keeps that mem's storage alive. Fills `info` with the mem's fields
// for DEVICE_MEM_INFO. Throws RknnError(RKNN_ERR_PARAM_INVALID) naming what is wrong.
std::shared_ptr<const ModelBytes> view_model_in_memory(const void* model, uint32_t size,
                                                       const rknn_init_extend* extend, rknn_tensor_mem& info);

// DEVICE_MEM_INFO of a model the runtime copied or mapped: no fd (-1), a made-up DMA address.
rknn_tensor_mem describe_model_memory(const ModelBytes& bytes);

}  // namespace ezemu::npu
