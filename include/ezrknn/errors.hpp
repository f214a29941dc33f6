// Exceptions the engine throws. Each message names the call, the RKNN status by name and number, and what to do.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace ezrknn {

// Any engine failure; `rknn_code` is the RKNN status when one caused it, else 0.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, int rknn_code = 0) : std::runtime_error(what), rknn_code_(rknn_code) {}
    int rknn_code() const noexcept { return rknn_code_; }

private:
    int rknn_code_;
};

// Bad input from the caller (wrong name, shape, dtype, option value). Python sees a RuntimeError that is also a
// ValueError, so code written for either keeps working.
class InvalidArgument : public Error {
public:
    using Error::Error;
};

// A feature the loaded RKNN library lacks (an older librknnrt without the symbol it needs), or one this engine
// does not implement yet.
class NotSupported : public Error {
public:
    using Error::Error;
};

// "RKNN_ERR_FAIL" for -1; "RKNN_ERR_UNKNOWN" for a code outside the table of anchor-behaviour.md §11.
const char* rknn_status_name(int code);
// "execute failed." for -1.
const char* rknn_status_description(int code);
// "RKNN_ERR_FAIL (-1): execute failed."
std::string format_rknn_status(int code);
// "<api> failed: RKNN_ERR_FAIL (-1): execute failed."
std::string format_rknn_error(const std::string& api, int code);
// "<api> failed for <kind> index <i>: RKNN_ERR_FAIL (-1): execute failed."
std::string format_rknn_error_for_index(const std::string& api, const std::string& kind, size_t index, int code);

}  // namespace ezrknn
