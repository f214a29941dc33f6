// Pacer: slot reservation under one mutex, so concurrent submitters get distinct slots and updates are not lost.
#include "pacer.hpp"

#include <algorithm>

#include "ezrknn/session.hpp"

namespace ezrknn::detail {

void Pacer::record_run(std::chrono::microseconds took) {
    std::lock_guard lock(mutex_);
    const double t = static_cast<double>(took.count());
    avg_us_ = avg_us_ == 0.0 ? t : 0.95 * avg_us_ + 0.05 * t;
}

double Pacer::average_us() const {
    std::lock_guard lock(mutex_);
    return avg_us_;
}

void Pacer::wait_turn(const std::function<bool()>& interrupted, const char* label) {
    std::unique_lock lock(mutex_);
    const auto now = Clock::now();
    if (avg_us_ <= 0.0) {  // nothing measured yet: no spacing
        next_slot_ = now;
        return;
    }
    const auto interval = std::chrono::microseconds(static_cast<int64_t>(avg_us_ / static_cast<double>(cores_)));
    const auto slot = std::max(now, next_slot_);
    next_slot_ = slot + interval;
    while (!stopping_ && Clock::now() < slot) {
        const auto until = interrupted ? std::min(slot, Clock::now() + std::chrono::milliseconds(50)) : slot;
        stop_cv_.wait_until(lock, until);
        if (interrupted && Clock::now() < slot) {
            lock.unlock();
            if (interrupted()) throw Interrupted(std::string(label) + " was interrupted while pacing");
            lock.lock();
        }
    }
}

void Pacer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
}

}  // namespace ezrknn::detail
