#include "npu/core_scheduler.hpp"

#include <array>

namespace ezemu::npu {

CoreLease::CoreLease(CoreLease&& other) noexcept
    : scheduler_(other.scheduler_), cores_(other.cores_), ready_at_(other.ready_at_)
{
    other.scheduler_ = nullptr;
    other.cores_ = 0;
}

CoreLease& CoreLease::operator=(CoreLease&& other) noexcept
{
    if (this != &other) {
        release();
        scheduler_ = other.scheduler_;
        cores_ = other.cores_;
        ready_at_ = other.ready_at_;
        other.scheduler_ = nullptr;
        other.cores_ = 0;
    }
    return *this;
}

void CoreLease::release() noexcept { release_at(Clock::time_point{}); }

void CoreLease::release_at(Clock::time_point end) noexcept
{
    if (scheduler_ && cores_) scheduler_->release(cores_, end);
    scheduler_ = nullptr;
    cores_ = 0;
}

CoreScheduler::CoreScheduler(int core_count) : core_count_(core_count < 1 ? 1 : (core_count > 16 ? 16 : core_count))
{
}

CoreScheduler& CoreScheduler::for_platform(const Platform& platform)
{
    // One scheduler per known platform, created on first use; platforms are few and fixed (platform.cpp).
    static std::mutex mutex;
    static std::array<std::pair<const Platform*, CoreScheduler*>, 16> schedulers{};
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& [p, s] : schedulers) {
        if (p == &platform) return *s;
        if (!p) {
            p = &platform;
            s = new CoreScheduler(platform.core_count);  // never destroyed: contexts may outlive static teardown
            return *s;
        }
    }
    static CoreScheduler overflow(1);
    return overflow;
}

uint32_t CoreScheduler::busy_cores() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return busy_;
}

uint32_t CoreScheduler::grantable(uint32_t cores, const Waiter* self) const
{
    // Cores claimed by requests that arrived earlier and still wait: later requests leave them alone, so a
    // multi-core request is served once its cores drain instead of being overtaken forever.
    uint32_t reserved = 0;
    for (const Waiter* w = head_; w && w != self; w = w->next) reserved |= w->cores ? w->cores : all_cores();
    const uint32_t unavailable = busy_ | reserved;
    if (cores) return (cores & unavailable) ? 0u : cores;
    const uint32_t idle = all_cores() & ~unavailable;
    if (!idle) return 0;
    // The idle core whose handed-over run ends first; ties go round-robin, so idle cores take turns.
    int best = -1;
    for (int i = 0; i < core_count_; ++i) {
        const unsigned core = (next_auto_core_ + static_cast<unsigned>(i)) % static_cast<unsigned>(core_count_);
        if (!(idle & (1u << core))) continue;
        if (best < 0 || free_at_[core] < free_at_[static_cast<size_t>(best)]) best = static_cast<int>(core);
    }
    return best < 0 ? 0u : 1u << best;
}

void CoreScheduler::unlink(Waiter& waiter)
{
    (waiter.prev ? waiter.prev->next : head_) = waiter.next;
    (waiter.next ? waiter.next->prev : tail_) = waiter.prev;
    waiter.prev = waiter.next = nullptr;
}

CoreLease CoreScheduler::acquire(uint32_t cores)
{
    cores &= all_cores();
    Waiter self{cores};
    std::unique_lock<std::mutex> lock(mutex_);
    self.prev = tail_;
    (tail_ ? tail_->next : head_) = &self;
    tail_ = &self;
    uint32_t granted = 0;
    released_.wait(lock, [&] { return (granted = grantable(cores, &self)) != 0; });
    unlink(self);
    busy_ |= granted;
    if (!cores) {
        for (int i = 0; i < core_count_; ++i) {
            if (granted & (1u << i)) next_auto_core_ = static_cast<unsigned>(i + 1) % static_cast<unsigned>(core_count_);
        }
    }
    CoreLease::Clock::time_point ready_at{};
    for (size_t i = 0; i < static_cast<size_t>(core_count_); ++i) {
        if ((granted & (1u << i)) && free_at_[i] > ready_at) ready_at = free_at_[i];
    }
    const bool others_wait = head_ != nullptr;
    lock.unlock();
    // Our reservation is gone: a later request that was held back only by it may proceed now.
    if (others_wait) released_.notify_all();
    return CoreLease(this, granted, ready_at);
}

void CoreScheduler::release(uint32_t cores, CoreLease::Clock::time_point end) noexcept
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        busy_ &= ~cores;
        for (int i = 0; i < core_count_; ++i) {
            // Only forward: a lease released without an end (a failed run) keeps the earlier run's reservation.
            if ((cores & (1u << i)) && end > free_at_[static_cast<size_t>(i)]) free_at_[static_cast<size_t>(i)] = end;
        }
    }
    released_.notify_all();
}

}  // namespace ezemu::npu
