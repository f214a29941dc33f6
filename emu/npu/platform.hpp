// The emulated SoC: how many NPU cores it has and the channel blocking (C2) of its native NC1HWC2 layout.
// Facts from rknn-api.md §7.4 (core counts) and §7.6 (C2 and native row alignment per platform).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ezemu::npu {

struct Platform {
    std::string_view name;  // lower case, as rknn-toolkit2 spells target_platform: "rk3588"
    int core_count;
    uint32_t c2_int8;   // C2 for 1-byte elements
    uint32_t c2_fp16;   // C2 for 2-byte elements: float16 and int16 (§7.6 gives both the same value)
    uint32_t width_alignment;  // pixels a native row is padded to (zero-copy alignment table, §7.6)

    // Bit mask of the platform's cores: 0x7 for three cores.
    uint32_t all_cores_mask() const { return (1u << core_count) - 1u; }
    // C2 for a native element size in bytes; 0 when the NPU has no NC1HWC2 layout for it.
    uint32_t c2_for_element_size(size_t element_size) const;
};

// Environment variable naming the emulated platform.
inline constexpr const char* kPlatformEnv = "EZRKNN_EMU_PLATFORM";
inline constexpr std::string_view kDefaultPlatform = "rk3588";

// nullptr for an unknown name; the match ignores case.
const Platform* find_platform(std::string_view name);

// The platform named by EZRKNN_EMU_PLATFORM (rk3588 when unset or empty). Throws RknnError
// (RKNN_ERR_DEVICE_UNAVAILABLE) naming the known platforms when the name is unknown.
const Platform& platform_from_environment();

// "rk3588, rk3576, ..." for messages.
std::string known_platform_names();

}  // namespace ezemu::npu
