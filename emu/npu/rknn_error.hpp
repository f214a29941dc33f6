// The one exception type of the NPU layer: an RKNN return code with the reason. The C exports turn it into the
// code, a log line and the thread's last-error text.
#pragma once

#include <stdexcept>
#include <string>

namespace ezemu::npu {

struct RknnError : std::runtime_error {
    RknnError(int rknn_code, const std::string& message) : std::runtime_error(message), code(rknn_code) {}
    int code;
};

// "RKNN_ERR_PARAM_INVALID" for -5, "RKNN_SUCC" for 0, "RKNN_ERR_UNKNOWN" for codes outside §4.
const char* rknn_error_name(int code);

}  // namespace ezemu::npu
