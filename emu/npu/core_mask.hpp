// The rules of rknn_set_core_mask (rknn-api.md §7.4), shared by model contexts and matmul contexts: which masks a
// platform accepts, and which cores a run with a mask holds.
#pragma once

#include <cstdint>

#include "npu/platform.hpp"

namespace ezemu::npu {

// Throws RknnError: RKNN_ERR_TARGET_PLATFORM_UNMATCH on a single-core platform (for every mask, as the vendor
// runtime does), RKNN_ERR_PARAM_INVALID for a mask that is not AUTO, ALL, one core of the platform, CORE_0_1 or
// CORE_0_1_2 within the platform.
void check_core_mask(uint32_t mask, const Platform& platform);

// The cores a run with `mask` must hold: 0 = any one idle core (AUTO, and the one core of single-core SoCs).
uint32_t cores_of_mask(uint32_t mask, const Platform& platform);

// rknn_set_batch_core_num: throws RKNN_ERR_TARGET_PLATFORM_UNMATCH on a single-core platform and
// RKNN_ERR_PARAM_INVALID for a count outside 1..cores.
void check_batch_core_num(int core_num, const Platform& platform);

}  // namespace ezemu::npu
