#include "npu/core_mask.hpp"

#include <string>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

std::string hex(uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    std::string text;
    do {
        text.insert(text.begin(), digits[value & 0xf]);
        value >>= 4;
    } while (value);
    return "0x" + text;
}

bool is_single_core_mask(uint32_t mask) { return mask != 0 && (mask & (mask - 1)) == 0; }

[[noreturn]] void refuse_single_core(const Platform& platform, const char* what)
{
    // The vendor runtime refuses these calls on single-core SoCs, AUTO included (rknn-api.md §4, §7.4).
    throw RknnError(RKNN_ERR_TARGET_PLATFORM_UNMATCH,
                    std::string(what) + " are only valid on multi-core NPUs (rk3588, rk3576); the emulated " +
                        std::string(platform.name) + " has one NPU core, which every run uses");
}

}  // namespace

void check_core_mask(uint32_t value, const Platform& platform)
{
    if (platform.core_count == 1) refuse_single_core(platform, "core masks");
    const bool fits = (value & ~platform.all_cores_mask()) == 0;
    // Tensor-parallel masks are the enum's combinations only: 0_1 and 0_1_2 (rknn-api.md §7.4); 5 or 6 are not.
    const bool combination = value == RKNN_NPU_CORE_0_1 || value == RKNN_NPU_CORE_0_1_2;
    const bool named = value == RKNN_NPU_CORE_AUTO || value == RKNN_NPU_CORE_ALL;
    if (named || (fits && (is_single_core_mask(value) || combination))) return;
    // Wording after the vendor's "The core mode 6 is not supported currently".
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    "core mode " + std::to_string(static_cast<int32_t>(value)) + " (" + hex(value) +
                        ") is not supported on " + std::string(platform.name) + " (" +
                        std::to_string(platform.core_count) + " NPU cores, mask " + hex(platform.all_cores_mask()) +
                        "); use RKNN_NPU_CORE_AUTO, one core, RKNN_NPU_CORE_0_1" +
                        (platform.core_count >= 3 ? ", RKNN_NPU_CORE_0_1_2" : "") + " or RKNN_NPU_CORE_ALL");
}

uint32_t cores_of_mask(uint32_t mask, const Platform& platform)
{
    if (mask == RKNN_NPU_CORE_ALL) return platform.all_cores_mask();
    return mask & platform.all_cores_mask();
}

void check_batch_core_num(int core_num, const Platform& platform)
{
    if (platform.core_count == 1) refuse_single_core(platform, "batch core numbers");
    if (core_num < 1 || core_num > platform.core_count) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "core_num is " + std::to_string(core_num) + "; " +
                                                    std::string(platform.name) + " has " +
                                                    std::to_string(platform.core_count) + " NPU cores, so use 1 to " +
                                                    std::to_string(platform.core_count));
    }
}

}  // namespace ezemu::npu
