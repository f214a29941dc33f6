// How long an emulated NPU holds its core(s) for one inference. A real NPU is far faster than the emulator's CPU
// for big models, and slower than nothing for tiny ones; a configured latency lets applications and tests see the
// scheduling behaviour of a board (data parallelism across cores, a slow core, tensor-parallel masks) on a PC.
//
// Syntax (EZRKNN_EMU_LATENCY_US, or the model metadata key rknn.latency_us; the environment wins):
//   "2000"                  every run takes 2000 µs on any core
//   "0:20000,1:2000,2:2000" per core; a core not listed has no modelled latency (real CPU time only)
// A run on several cores (RKNN_NPU_CORE_0_1, _0_1_2, ALL) takes the slowest listed core's latency divided by a
// tensor-parallel speedup: 1.5 for two cores, 1.8 for three (rknn-api.md §9: the 3-core mask gave 1.5x on yolov5s,
// third-party figures span 1.3-1.8x; small nets gain little, so these are the optimistic end).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "npu/platform.hpp"

namespace ezemu::npu {

inline constexpr const char* kLatencyEnv = "EZRKNN_EMU_LATENCY_US";
inline constexpr const char* kMetaLatencyUs = "rknn.latency_us";

// Speedup of one inference split over `cores` cores (1 for one core).
double tensor_parallel_speedup(int cores);

// Sleeps until `deadline` with the calling thread's timer slack lowered to 1 µs for the sleep (then restored): with
// Linux's default 50 µs slack a 2 ms modelled run would hold its core ~3% longer than modelled.
void sleep_until_precisely(std::chrono::steady_clock::time_point deadline);

class LatencyModel {
public:
    // No modelled latency: a run takes its real CPU time.
    LatencyModel() = default;

    // Parses `text` (syntax above) for a platform with `core_count` cores. `origin` names where the text came
    // from, e.g. "EZRKNN_EMU_LATENCY_US" or "model metadata rknn.latency_us". Throws RknnError
    // (RKNN_ERR_PARAM_INVALID) naming the origin and the bad text.
    static LatencyModel parse(std::string_view text, std::string_view origin, int core_count);

    // The environment's setting if EZRKNN_EMU_LATENCY_US is set and not empty, else `metadata_text` (the model's
    // rknn.latency_us, nullptr when absent), else none.
    static LatencyModel select(const std::string* metadata_text, int core_count);

    bool configured() const { return configured_; }
    // Modelled microseconds of one run holding `cores` (bit mask); 0 when nothing is configured for them.
    int64_t modelled_us(uint32_t cores) const;
    // A run of `batch` items split data parallel over `cores` (rknn_set_batch_core_num): each core takes
    // ceil(batch / cores) items, so the slowest core's single-core latency times ceil(batch / cores) / batch.
    int64_t data_parallel_us(uint32_t cores, uint32_t batch) const;
    // "2000 us per run", "per core 0:20000,1:2000,2:2000" or "none"; for logs and docs.
    std::string describe() const;

private:
    bool configured_ = false;
    bool per_core_ = false;
    int64_t uniform_us_ = 0;
    std::array<int64_t, 16> core_us_{};  // per_core_: latency of core i (0 = not listed)
};

}  // namespace ezemu::npu
