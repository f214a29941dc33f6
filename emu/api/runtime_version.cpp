#include "api/runtime_version.hpp"

#ifndef EZRKNN_VERSION
#error "EZRKNN_VERSION must be defined by the build (CMake passes the project version)"
#endif

namespace ezemu::api {

const char* emulator_version() noexcept { return EZRKNN_VERSION; }

std::string runtime_api_version()
{
    return std::string(kImplementedApiVersion) + " (ezrknn emulator " + EZRKNN_VERSION + ")";
}

std::string runtime_driver_version(const npu::Platform& platform)
{
    return std::string("ezrknn emulator ") + EZRKNN_VERSION + " (" + std::string(platform.name) + ", " +
           std::to_string(platform.core_count) + (platform.core_count == 1 ? " NPU core)" : " NPU cores)");
}

}  // namespace ezemu::api
