// enable_pacing: spaces submissions by the measured inference time divided by the cores in use, sleeping until
// the next slot instead of refusing and spinning (anchor-behaviour.md §4.6, §14.4).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace ezrknn::detail {

class Pacer {
public:
    using Clock = std::chrono::steady_clock;

    explicit Pacer(size_t parallel_cores) : cores_(parallel_cores > 0 ? parallel_cores : 1) {}

    // After each successful rknn_run: an exponential moving average (alpha 0.05) of its duration.
    void record_run(std::chrono::microseconds took);
    // Takes the next submission slot and sleeps until it (in ≤50 ms slices checking `interrupted`; woken early by
    // stop()). Throws Interrupted.
    void wait_turn(const std::function<bool()>& interrupted, const char* label);
    void stop();
    double average_us() const;

private:
    const size_t cores_;
    mutable std::mutex mutex_;
    std::condition_variable stop_cv_;
    double avg_us_ = 0.0;
    Clock::time_point next_slot_{};
    bool stopping_ = false;
};

}  // namespace ezrknn::detail
