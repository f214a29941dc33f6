#include "api/log.hpp"

#include <cstdio>
#include <cstdlib>

namespace ezemu::api {
namespace {

thread_local std::string t_last_error;

char level_letter(LogLevel level)
{
    switch (level) {
    case LogLevel::Error: return 'E';
    case LogLevel::Warning: return 'W';
    case LogLevel::Info: return 'I';
    default: return 'D';
    }
}

// Read on every call, not cached: logging happens off the data path, and a test or an application may change
// the variable after the library was loaded.
int configured_level() noexcept
{
    const char* value = std::getenv(kLogLevelEnv);
    if (!value || !*value) return 0;
    char* end = nullptr;
    const long level = std::strtol(value, &end, 10);
    if (end == value || level < 0) return 0;
    return level > 100 ? 100 : static_cast<int>(level);
}

}  // namespace

bool log_enabled(LogLevel level) noexcept
{
    return level == LogLevel::Error || static_cast<int>(level) <= configured_level();
}

void log_line(LogLevel level, const std::string& text) noexcept
{
    if (!log_enabled(level)) return;
    // One fprintf per line: stdio locks the stream for the call, so lines of concurrent threads do not interleave.
    std::fprintf(stderr, "%c RKNN: [emu] %s\n", level_letter(level), text.c_str());
}

void record_failure(const std::string& text) noexcept
{
    try {
        t_last_error = text;
    } catch (...) {
        // Out of memory while recording: keep the previous text rather than fail the failure path.
    }
    log_line(LogLevel::Error, text);
}

const char* last_error() noexcept { return t_last_error.c_str(); }

}  // namespace ezemu::api
