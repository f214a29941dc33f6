// One submitted inference: its inputs, where it runs, and where its single outcome goes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ezrknn/session.hpp"

namespace ezrknn::detail {

// The shared state behind a RunFuture: completed exactly once, by a worker or by shutdown.
class TaskState {
public:
    TaskState() = default;
    uint64_t id() const { return id_.load(std::memory_order_relaxed); }
    void set_id(uint64_t id) { id_.store(id, std::memory_order_relaxed); }

    void complete(RunOutcome&& outcome);
    bool ready() const;
    bool wait_for(std::chrono::milliseconds timeout) const;
    void wait() const;
    // Waits, then moves the outcome out (a second take returns an error outcome).
    RunOutcome take();

private:
    std::atomic<uint64_t> id_{0};
    mutable std::mutex mutex_;
    mutable std::condition_variable done_cv_;
    bool done_ = false;
    bool taken_ = false;
    RunOutcome outcome_;
};

struct Task {
    uint64_t id = 0;
    size_t route = 0;  // index into the pool's per-core queues
    std::vector<TensorView> inputs;
    std::vector<std::unique_ptr<unsigned char[]>> owned;  // the copies `inputs` point into, when copied at submit
    std::shared_ptr<void> keep_alive;                      // the caller's buffers, when borrowed
    std::vector<size_t> output_indices;
    size_t shape_set = 0;  // a dynamic-shape model's set that the inputs' shapes select
    bool native_outputs = false;  // want_float=0: outputs in their attr's type (OutputDtype::Native)
    // Exactly one of these receives the outcome.
    std::shared_ptr<TaskState> state;
    RunCallback callback;
    uint64_t callback_seq = 0;
};

}  // namespace ezrknn::detail
