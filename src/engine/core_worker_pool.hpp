// Worker threads bound to RKNN contexts, with one FIFO queue per NPU core (route): a task meant for a busy core
// never holds back a task for an idle one (anchor-behaviour.md §14.3). The queues share one bound
// (max_queue_size counts tasks not yet started, across all cores, §4.4).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "task.hpp"

namespace ezrknn::detail {

class CoreWorkerPool {
public:
    using Clock = std::chrono::steady_clock;
    // Runs a task on the context `context_index`; never throws (failures become the outcome).
    using Executor = std::function<RunOutcome(size_t context_index, Task& task)>;
    // Receives every task exactly once with its outcome (from a worker, or from shutdown with an error).
    using Finisher = std::function<void(std::unique_ptr<Task> task, RunOutcome&& outcome)>;

    struct Worker {
        size_t context_index;
        size_t route;  // which queue it serves
        int core;      // for the thread name
    };

    // `schedule` maps task id → route (schedule[id % size]); every route needs at least one worker.
    CoreWorkerPool(std::vector<Worker> workers, std::vector<size_t> schedule, size_t route_count, size_t max_queued,
                   Executor executor, Finisher finisher);
    ~CoreWorkerPool();
    CoreWorkerPool(const CoreWorkerPool&) = delete;
    CoreWorkerPool& operator=(const CoreWorkerPool&) = delete;

    // Gives the task its id and route and queues it, waiting for room until `deadline` (checking `interrupted`
    // about every 50 ms). On failure the task is returned untouched through the exception path: it throws.
    uint64_t push(std::unique_ptr<Task>& task, Clock::time_point deadline, const std::function<bool()>& interrupted,
                  const char* label);

    // Exclusive use of one worker's context by another thread: while it lives, that worker takes no task. This is
    // the one way a context is shared; every other use is the owning worker's own.
    class ContextLease {
    public:
        ContextLease(CoreWorkerPool* pool, size_t worker) : pool_(pool), worker_(worker) {}
        ContextLease(ContextLease&& other) noexcept : pool_(other.pool_), worker_(other.worker_) {
            other.pool_ = nullptr;
        }
        ContextLease& operator=(ContextLease&&) = delete;
        ~ContextLease() {
            if (pool_ != nullptr) pool_->give_back(worker_);
        }
        size_t context_index() const { return pool_->workers_[worker_].context_index; }

    private:
        CoreWorkerPool* pool_;
        size_t worker_;
    };

    // For a task the caller runs itself: when the next task's core has no queued task and an idle worker, gives
    // the task its id and route and lends that worker's context (two thread hand-offs saved). Otherwise nullopt,
    // the task untouched (push it instead).
    std::optional<ContextLease> lease_for_next(Task& task);

    // Stops accepting, fails every queued task with `reason`, lets running tasks finish, joins the workers.
    void shutdown(const std::string& reason);

    size_t worker_count() const { return workers_.size(); }
    size_t route_count() const { return queues_.size(); }

private:
    void work(size_t worker_index);
    void give_back(size_t worker_index);

    std::vector<Worker> workers_;
    std::vector<size_t> schedule_;
    const size_t max_queued_;
    Executor executor_;
    Finisher finisher_;

    std::mutex mutex_;
    std::vector<std::deque<std::unique_ptr<Task>>> queues_;
    std::vector<std::unique_ptr<std::condition_variable>> route_cv_;  // one per route: wake only that core's workers
    std::condition_variable space_cv_;
    std::vector<char> idle_;  // per worker: waiting for a task
    std::vector<char> lent_;  // per worker: its context is leased to another thread
    size_t leased_ = 0;
    std::condition_variable lease_returned_cv_;
    size_t queued_ = 0;
    uint64_t next_id_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace ezrknn::detail
