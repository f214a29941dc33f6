// The version strings RKNN_QUERY_SDK_VERSION reports and ezrknn_emu_version() returns.
#pragma once

#include <string>

#include "npu/platform.hpp"

namespace ezemu::api {

// The vendor API level the emulator implements; callers parse its first three numbers.
inline constexpr const char* kImplementedApiVersion = "2.3.2";

// "0.1.0": the EZRKNN_VERSION the library was built with.
const char* emulator_version() noexcept;

// "2.3.2 (ezrknn emulator 0.1.0)".
std::string runtime_api_version();

// "ezrknn emulator 0.1.0 (rk3588, 3 NPU cores)": there is no kernel driver, so the emulator names itself.
std::string runtime_driver_version(const npu::Platform& platform);

}  // namespace ezemu::api
