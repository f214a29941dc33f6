// CallbackDispatcher: bounded reservations, ordered delivery, and a drain on stop.
#include "callback_dispatcher.hpp"

#include <pthread.h>

#include <cstdio>
#include <exception>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {

namespace {
constexpr auto kSlice = std::chrono::milliseconds(50);  // the longest a wait goes without checking for Ctrl-C
}

CallbackDispatcher::CallbackDispatcher(bool sequential, size_t capacity)
    : sequential_(sequential), capacity_(capacity > 0 ? capacity : 1) {
    thread_ = std::thread([this] { loop(); });
    pthread_setname_np(thread_.native_handle(), "EzRknn_Callback");
}

CallbackDispatcher::~CallbackDispatcher() { stop(); }

uint64_t CallbackDispatcher::reserve(Clock::time_point deadline, const std::function<bool()>& interrupted,
                                     const char* label) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (stopping_) throw Error(std::string(label) + " submit failed: the InferenceSession is closed");
        if (next_reserved_ - delivered_ < capacity_) return next_reserved_++;
        const auto now = Clock::now();
        if (now >= deadline) {
            throw Error(std::string(label) + " submit timed out: async queue/callback pipeline is saturated");
        }
        const auto until = interrupted ? std::min(deadline, now + kSlice) : deadline;
        space_cv_.wait_until(lock, until);
        if (interrupted) {
            lock.unlock();
            if (interrupted()) throw Interrupted(std::string(label) + " was interrupted while waiting to submit");
            lock.lock();
        }
    }
}

void CallbackDispatcher::skip(uint64_t seq) { post(seq, RunCallback{}, RunOutcome{}); }

void CallbackDispatcher::post(uint64_t seq, RunCallback callback, RunOutcome&& outcome) {
    {
        std::lock_guard lock(mutex_);
        if (sequential_) {
            by_seq_.emplace(seq, Entry{std::move(callback), std::move(outcome)});
        } else {
            fifo_.push_back(Entry{std::move(callback), std::move(outcome)});
        }
    }
    work_cv_.notify_one();
}

bool CallbackDispatcher::deliverable() const {
    if (!sequential_) return !fifo_.empty();
    return !by_seq_.empty() && by_seq_.begin()->first == next_delivery_;
}

void CallbackDispatcher::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_cv_.wait(lock, [this] { return deliverable() || (stopping_ && delivered_ == next_reserved_); });
        if (!deliverable()) return;  // stopping, and every reserved slot is delivered
        Entry entry;
        if (sequential_) {
            auto it = by_seq_.begin();
            entry = std::move(it->second);
            by_seq_.erase(it);
            ++next_delivery_;
        } else {
            entry = std::move(fifo_.front());
            fifo_.pop_front();
        }
        lock.unlock();
        if (entry.callback) {
            // A callback must never take the thread down: later tasks still need their outcome.
            try {
                entry.callback(std::move(entry.outcome));
            } catch (const std::exception& e) {
                std::fprintf(stderr, "ezrknn: a completion callback threw and was ignored: %s\n", e.what());
            } catch (...) {
                std::fprintf(stderr, "ezrknn: a completion callback threw an unknown exception and was ignored\n");
            }
            entry.callback = nullptr;  // its captures (e.g. Python objects) are released before the next one runs
        }
        lock.lock();
        ++delivered_;
        space_cv_.notify_all();
    }
}

void CallbackDispatcher::drain() {
    std::unique_lock lock(mutex_);
    space_cv_.wait(lock, [this] { return delivered_ == next_reserved_; });
}

void CallbackDispatcher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    if (!thread_.joinable()) return;
    if (on_dispatcher_thread()) {
        // Joining ourselves would deadlock; the loop ends on its own once the pending slots are delivered.
        thread_.detach();
        return;
    }
    thread_.join();
}

}  // namespace ezrknn::detail
