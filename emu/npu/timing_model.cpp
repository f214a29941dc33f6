#include "npu/timing_model.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

// Microseconds up to an hour: anything larger is a typo, not a latency.
constexpr int64_t kMaxLatencyUs = 3600LL * 1000 * 1000;

[[noreturn]] void bad_syntax(std::string_view origin, std::string_view text, const std::string& why)
{
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    std::string(origin) + "=\"" + std::string(text) + "\" is not valid: " + why +
                        "; use microseconds per run (\"2000\") or per core (\"0:20000,1:2000,2:2000\")");
}

// A decimal integer in [0, kMaxLatencyUs], surrounding spaces allowed.
bool parse_microseconds(std::string_view s, int64_t& value)
{
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty() || s.size() > 12) return false;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v > kMaxLatencyUs) return false;
    value = v;
    return true;
}

}  // namespace

double tensor_parallel_speedup(int cores)
{
    if (cores <= 1) return 1.0;
    if (cores == 2) return 1.5;
    return 1.8;
}

void sleep_until_precisely(std::chrono::steady_clock::time_point deadline)
{
    // Timer slack is per thread: the caller's own setting is put back, so only this sleep is affected.
    const int previous = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    const bool lowered = previous > 1000 && prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) == 0;
    std::this_thread::sleep_until(deadline);
    if (lowered) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(previous), 0, 0, 0);
}

LatencyModel LatencyModel::parse(std::string_view text, std::string_view origin, int core_count)
{
    LatencyModel model;
    model.configured_ = true;
    if (text.find(':') == std::string_view::npos) {
        if (!parse_microseconds(text, model.uniform_us_))
            bad_syntax(origin, text, "expected a whole number of microseconds from 0 to 3600000000");
        return model;
    }
    model.per_core_ = true;
    std::array<bool, 16> seen{};
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        const size_t colon = item.find(':');
        int64_t core = 0;
        int64_t us = 0;
        if (colon == std::string_view::npos || !parse_microseconds(item.substr(0, colon), core) ||
            !parse_microseconds(item.substr(colon + 1), us)) {
            bad_syntax(origin, text, "item \"" + std::string(item) + "\" is not <core>:<microseconds>");
        }
        if (core >= core_count) {
            bad_syntax(origin, text, "core " + std::to_string(core) + " does not exist (the emulated platform has " +
                                         std::to_string(core_count) + (core_count == 1 ? " core)" : " cores)"));
        }
        if (seen[static_cast<size_t>(core)])
            bad_syntax(origin, text, "core " + std::to_string(core) + " is listed twice");
        seen[static_cast<size_t>(core)] = true;
        model.core_us_[static_cast<size_t>(core)] = us;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return model;
}

LatencyModel LatencyModel::select(const std::string* metadata_text, int core_count)
{
    const char* env = std::getenv(kLatencyEnv);
    if (env && *env) return parse(env, kLatencyEnv, core_count);
    if (metadata_text && !metadata_text->empty())
        return parse(*metadata_text, std::string("model metadata ") + kMetaLatencyUs, core_count);
    return LatencyModel();
}

int64_t LatencyModel::modelled_us(uint32_t cores) const
{
    if (!configured_) return 0;
    int64_t slowest = uniform_us_;
    if (per_core_) {
        slowest = 0;
        for (size_t i = 0; i < core_us_.size(); ++i) {
            if ((cores & (1u << i)) && core_us_[i] > slowest) slowest = core_us_[i];
        }
    }
    const int count = std::popcount(cores);
    return std::llround(static_cast<double>(slowest) / tensor_parallel_speedup(count));
}

int64_t LatencyModel::data_parallel_us(uint32_t cores, uint32_t batch) const
{
    int64_t slowest = 0;
    for (uint32_t i = 0; i < 32; ++i) {
        if (cores & (1u << i)) slowest = std::max(slowest, modelled_us(1u << i));
    }
    const int count = std::popcount(cores);
    if (count <= 1 || batch <= 1) return slowest;
    const uint32_t per_core = (batch + static_cast<uint32_t>(count) - 1) / static_cast<uint32_t>(count);
    return std::llround(static_cast<double>(slowest) * per_core / batch);
}

std::string LatencyModel::describe() const
{
    if (!configured_) return "none";
    if (!per_core_) return std::to_string(uniform_us_) + " us per run";
    std::string text = "per core ";
    bool first = true;
    for (size_t i = 0; i < core_us_.size(); ++i) {
        if (!core_us_[i]) continue;
        if (!first) text += ',';
        first = false;
        text += std::to_string(i) + ":" + std::to_string(core_us_[i]);
    }
    return text;
}

}  // namespace ezemu::npu
