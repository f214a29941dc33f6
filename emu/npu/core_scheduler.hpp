// The emulated NPU cores of one platform: each core runs one inference at a time (rknn-api.md §7.4, §9). A run
// takes a CoreLease for the cores its mask names and holds it while the inference "executes"; other runs needing
// one of those cores wait on a condition variable. Waiters are served in arrival order per core, so a multi-core
// run is not starved by a stream of single-core runs, and all cores of a lease are taken at once (no deadlock).
//
// A modelled run hands its cores over at the modelled end (release_at) instead of when its thread wakes up: like
// the board's job queue, the next run on the core starts when the hardware is free, not when the previous
// submitter's thread gets a CPU back.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "npu/platform.hpp"

namespace ezemu::npu {

class CoreScheduler;

// Owns the cores of one granted request until destroyed.
class CoreLease {
public:
    using Clock = std::chrono::steady_clock;

    CoreLease() = default;
    CoreLease(CoreScheduler* scheduler, uint32_t cores, Clock::time_point ready_at)
        : scheduler_(scheduler), cores_(cores), ready_at_(ready_at) {}
    CoreLease(CoreLease&& other) noexcept;
    CoreLease& operator=(CoreLease&& other) noexcept;
    CoreLease(const CoreLease&) = delete;
    CoreLease& operator=(const CoreLease&) = delete;
    ~CoreLease() { release(); }

    // Bit i set = core i is held.
    uint32_t cores() const { return cores_; }
    // When the cores finish the runs handed over to them earlier (release_at): this run starts then at the
    // earliest. In the past when they were idle.
    Clock::time_point ready_at() const { return ready_at_; }
    void release() noexcept;
    // Gives the cores up now, but as busy until `end`: a run granted them next starts at `end` (its ready_at).
    void release_at(Clock::time_point end) noexcept;

private:
    CoreScheduler* scheduler_ = nullptr;
    uint32_t cores_ = 0;
    Clock::time_point ready_at_{};
};

class CoreScheduler {
public:
    explicit CoreScheduler(int core_count);
    CoreScheduler(const CoreScheduler&) = delete;
    CoreScheduler& operator=(const CoreScheduler&) = delete;

    // The process-wide scheduler of an emulated platform (one per platform name; never destroyed).
    static CoreScheduler& for_platform(const Platform& platform);

    int core_count() const { return core_count_; }
    uint32_t all_cores() const { return (1u << core_count_) - 1u; }

    // Blocks until the request can be granted. `cores` is a bit mask of cores that must all be free (taken
    // together), or 0 for "any one idle core" (RKNN_NPU_CORE_AUTO). Bits beyond the platform's cores are ignored;
    // a mask naming none of its cores behaves like 0.
    CoreLease acquire(uint32_t cores);

    // Cores held right now (for tests and diagnostics).
    uint32_t busy_cores() const;

private:
    friend class CoreLease;

    // A request waiting for cores; lives on the waiting thread's stack, linked in arrival order.
    struct Waiter {
        uint32_t cores;  // 0 = any one core
        Waiter* next = nullptr;
        Waiter* prev = nullptr;
    };

    void release(uint32_t cores, CoreLease::Clock::time_point end) noexcept;
    // Cores this request may take now (0 if none), given the busy cores and the waiters queued before it.
    uint32_t grantable(uint32_t cores, const Waiter* self) const;
    void unlink(Waiter& waiter);

    const int core_count_;
    mutable std::mutex mutex_;
    std::condition_variable released_;
    uint32_t busy_ = 0;
    std::array<CoreLease::Clock::time_point, 16> free_at_{};  // per core: the end of the last run handed over
    unsigned next_auto_core_ = 0;  // AUTO starts its search here, so idle cores take turns
    Waiter* head_ = nullptr;
    Waiter* tail_ = nullptr;
};

}  // namespace ezemu::npu
