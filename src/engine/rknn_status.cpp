// Names and descriptions of RKNN status codes, in the wording users of the vendor runtime already search for.
#include <string>

#include "ezrknn/errors.hpp"

namespace ezrknn {
namespace {

struct StatusText {
    int code;
    const char* name;
    const char* description;
};

constexpr StatusText kStatusTable[] = {
    {0, "RKNN_SUCC", "execute succeed."},
    {-1, "RKNN_ERR_FAIL", "execute failed."},
    {-2, "RKNN_ERR_TIMEOUT", "execute timeout."},
    {-3, "RKNN_ERR_DEVICE_UNAVAILABLE", "device is unavailable."},
    {-4, "RKNN_ERR_MALLOC_FAIL", "memory malloc fail."},
    {-5, "RKNN_ERR_PARAM_INVALID", "parameter is invalid."},
    {-6, "RKNN_ERR_MODEL_INVALID", "model is invalid."},
    {-7, "RKNN_ERR_CTX_INVALID", "context is invalid."},
    {-8, "RKNN_ERR_INPUT_INVALID", "input is invalid."},
    {-9, "RKNN_ERR_OUTPUT_INVALID", "output is invalid."},
    {-10, "RKNN_ERR_DEVICE_UNMATCH", "the device is unmatch, please update rknn sdk and npu driver/firmware."},
    {-11, "RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL", "pre_compile model is not compatible with current driver."},
    {-12, "RKNN_ERR_INCOMPATILE_OPTIMIZATION_LEVEL_VERSION",
     "model optimization level is not compatible with current driver."},
    {-13, "RKNN_ERR_TARGET_PLATFORM_UNMATCH", "model target platform is not compatible with current platform."},
};

constexpr StatusText kUnknownStatus = {1, "RKNN_ERR_UNKNOWN", "unknown RKNN error."};

const StatusText& lookup(int code) {
    for (const StatusText& s : kStatusTable) {
        if (s.code == code) return s;
    }
    return kUnknownStatus;
}

}  // namespace

const char* rknn_status_name(int code) { return lookup(code).name; }

const char* rknn_status_description(int code) { return lookup(code).description; }

std::string format_rknn_status(int code) {
    const StatusText& s = lookup(code);
    return std::string(s.name) + " (" + std::to_string(code) + "): " + s.description;
}

std::string format_rknn_error(const std::string& api, int code) {
    return api + " failed: " + format_rknn_status(code);
}

std::string format_rknn_error_for_index(const std::string& api, const std::string& kind, size_t index, int code) {
    return api + " failed for " + kind + " index " + std::to_string(index) + ": " + format_rknn_status(code);
}

}  // namespace ezrknn
