// The emulator's log, on stderr in the vendor runtime's style ("E RKNN: ..."), filtered by RKNN_LOG_LEVEL
// (0 errors only — the default, 1 warnings, 2 info, 3+ debug), and the per-thread text of the last failure that
// ezrknn_emu_last_error() returns.
#pragma once

#include <string>

namespace ezemu::api {

enum class LogLevel : int { Error = 0, Warning = 1, Info = 2, Debug = 3 };

inline constexpr const char* kLogLevelEnv = "RKNN_LOG_LEVEL";

bool log_enabled(LogLevel level) noexcept;

// One line "<E|W|I|D> RKNN: [emu] <text>"; never throws.
void log_line(LogLevel level, const std::string& text) noexcept;

// Stores `text` as this thread's last error and logs it as an error.
void record_failure(const std::string& text) noexcept;

// This thread's last failure text, "" if none; valid until the next failure on the thread.
const char* last_error() noexcept;

}  // namespace ezemu::api
