// The one thread that runs completion callbacks: in submission order (sequential) or as tasks finish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "ezrknn/session.hpp"

namespace ezrknn::detail {

class CallbackDispatcher {
public:
    using Clock = std::chrono::steady_clock;

    // `capacity`: callbacks reserved but not yet delivered before reserve() blocks.
    CallbackDispatcher(bool sequential, size_t capacity);
    ~CallbackDispatcher();
    CallbackDispatcher(const CallbackDispatcher&) = delete;
    CallbackDispatcher& operator=(const CallbackDispatcher&) = delete;

    // A delivery slot in submission order; waits for capacity until `deadline`, checking `interrupted` about
    // every 50 ms. Throws Error(`label` + " submit timed out: ...") or Interrupted.
    uint64_t reserve(Clock::time_point deadline, const std::function<bool()>& interrupted, const char* label);
    // The reserved slot will get no callback (its submission failed): sequential delivery skips it.
    void skip(uint64_t seq);
    void post(uint64_t seq, RunCallback callback, RunOutcome&& outcome);

    // Waits until every reserved slot was delivered or skipped.
    void drain();
    // Delivers everything still pending, then ends the thread. Every reserved slot must have been posted or
    // skipped first. Called on the dispatcher thread itself (a callback dropped the session), it only detaches.
    void stop();
    bool on_dispatcher_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

private:
    struct Entry {
        RunCallback callback;  // empty for a skipped slot
        RunOutcome outcome;
    };
    bool deliverable() const;
    void loop();

    const bool sequential_;
    const size_t capacity_;
    std::mutex mutex_;
    std::condition_variable work_cv_;
    std::condition_variable space_cv_;
    std::map<uint64_t, Entry> by_seq_;  // sequential mode
    std::deque<Entry> fifo_;            // completion-order mode
    uint64_t next_reserved_ = 0;
    uint64_t next_delivery_ = 0;  // sequential mode: the slot delivered next
    uint64_t delivered_ = 0;      // slots delivered or skipped
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ezrknn::detail
