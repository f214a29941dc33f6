#include "npu/platform.hpp"

#include <array>
#include <cctype>
#include <cstdlib>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

// The RV110x family is left out on purpose: its runtime lacks rknn_inputs_set/outputs_get (rknn-api.md §6).
constexpr std::array<Platform, 5> kPlatforms{{
    {"rk3588", 3, 16, 8, 16},
    {"rk3576", 2, 16, 8, 16},
    {"rk3562", 1, 16, 8, 16},
    {"rk3566", 1, 8, 4, 8},
    {"rk3568", 1, 8, 4, 8},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

uint32_t Platform::c2_for_element_size(size_t element_size) const
{
    if (element_size == 1) return c2_int8;
    if (element_size == 2) return c2_fp16;
    return 0;
}

const Platform* find_platform(std::string_view name)
{
    for (const Platform& p : kPlatforms) {
        if (equal_ignoring_case(p.name, name)) return &p;
    }
    return nullptr;
}

std::string known_platform_names()
{
    std::string names;
    for (const Platform& p : kPlatforms) {
        if (!names.empty()) names += ", ";
        names += p.name;
    }
    return names;
}

const Platform& platform_from_environment()
{
    const char* value = std::getenv(kPlatformEnv);
    const std::string_view name = (value && *value) ? std::string_view(value) : kDefaultPlatform;
    if (const Platform* p = find_platform(name)) return *p;
    throw RknnError(RKNN_ERR_DEVICE_UNAVAILABLE, std::string(kPlatformEnv) + "=\"" + std::string(name) +
                            "\" is not a platform the ezrknn emulator knows; use one of: " + known_platform_names());
}

}  // namespace ezemu::npu
