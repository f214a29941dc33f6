// CoreWorkerPool: per-core queues, bounded submission, and a shutdown that gives every task an outcome.
#include "core_worker_pool.hpp"

#include <pthread.h>

#include <cstdio>

namespace ezrknn::detail {

namespace {
constexpr auto kSlice = std::chrono::milliseconds(50);  // the longest a wait goes without checking for Ctrl-C
}

CoreWorkerPool::CoreWorkerPool(std::vector<Worker> workers, std::vector<size_t> schedule, size_t route_count,
                               size_t max_queued, Executor executor, Finisher finisher)
    : workers_(std::move(workers)),
      schedule_(std::move(schedule)),
      max_queued_(max_queued > 0 ? max_queued : 1),
      executor_(std::move(executor)),
      finisher_(std::move(finisher)),
      queues_(route_count) {
    if (schedule_.empty()) schedule_.push_back(0);
    for (size_t r = 0; r < route_count; ++r) route_cv_.push_back(std::make_unique<std::condition_variable>());
    idle_.assign(workers_.size(), 0);
    lent_.assign(workers_.size(), 0);
    threads_.reserve(workers_.size());
    try {
        for (size_t i = 0; i < workers_.size(); ++i) {
            threads_.emplace_back([this, i] { work(i); });
            const std::string name =
                ("EzRknn_W" + std::to_string(i) + "_C" + std::to_string(workers_[i].core)).substr(0, 15);
            pthread_setname_np(threads_.back().native_handle(), name.c_str());
        }
    } catch (...) {
        shutdown("the InferenceSession failed to start its worker threads");  // join what started, then rethrow
        throw;
    }
}

CoreWorkerPool::~CoreWorkerPool() { shutdown("the InferenceSession was closed before the task started"); }

uint64_t CoreWorkerPool::push(std::unique_ptr<Task>& task, Clock::time_point deadline,
                              const std::function<bool()>& interrupted, const char* label) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (stopping_) throw Error(std::string(label) + " submit failed: the InferenceSession is closed");
        if (queued_ < max_queued_) break;
        const auto now = Clock::now();
        if (now >= deadline) {
            throw Error(std::string(label) + " submit timed out: async queue/callback pipeline is saturated");
        }
        space_cv_.wait_until(lock, interrupted ? std::min(deadline, now + kSlice) : deadline);
        if (interrupted) {
            lock.unlock();
            if (interrupted()) throw Interrupted(std::string(label) + " was interrupted while waiting to submit");
            lock.lock();
        }
    }
    const uint64_t id = next_id_++;
    task->id = id;
    task->route = schedule_[id % schedule_.size()];
    if (task->state) task->state->set_id(id);
    const size_t route = task->route;
    queues_[route].push_back(std::move(task));
    ++queued_;
    lock.unlock();
    route_cv_[route]->notify_all();  // all: a worker whose context is lent must not swallow the only wake-up
    return id;
}

std::optional<CoreWorkerPool::ContextLease> CoreWorkerPool::lease_for_next(Task& task) {
    std::lock_guard lock(mutex_);
    if (stopping_) return std::nullopt;  // push() reports the closed session
    const uint64_t id = next_id_;
    const size_t route = schedule_[id % schedule_.size()];
    if (!queues_[route].empty()) return std::nullopt;  // FIFO per core: never overtake a queued task
    size_t w = 0;
    while (w < workers_.size() && !(workers_[w].route == route && idle_[w] && !lent_[w])) ++w;
    if (w == workers_.size()) return std::nullopt;
    next_id_ = id + 1;
    task.id = id;
    task.route = route;
    if (task.state) task.state->set_id(id);
    lent_[w] = 1;
    ++leased_;
    return ContextLease(this, w);
}

void CoreWorkerPool::give_back(size_t worker_index) {
    const size_t route = workers_[worker_index].route;
    // Notified under the lock: once leased_ is 0 a shutdown may go on to destroy the pool, and with it these.
    std::lock_guard lock(mutex_);
    lent_[worker_index] = 0;
    --leased_;
    if (!queues_[route].empty()) route_cv_[route]->notify_all();  // the lent worker may be the only one for that core
    lease_returned_cv_.notify_all();
}

void CoreWorkerPool::work(size_t worker_index) {
    const Worker& me = workers_[worker_index];
    std::deque<std::unique_ptr<Task>>& queue = queues_[me.route];
    std::condition_variable& cv = *route_cv_[me.route];
    std::unique_lock lock(mutex_);
    for (;;) {
        idle_[worker_index] = 1;
        cv.wait(lock, [&] { return stopping_ || (!queue.empty() && !lent_[worker_index]); });
        idle_[worker_index] = 0;
        if (stopping_) return;  // shutdown fails what is left in the queues
        std::unique_ptr<Task> task = std::move(queue.front());
        queue.pop_front();
        --queued_;
        lock.unlock();
        space_cv_.notify_one();
        RunOutcome outcome = executor_(me.context_index, *task);
        finisher_(std::move(task), std::move(outcome));
        lock.lock();
    }
}

void CoreWorkerPool::shutdown(const std::string& reason) {
    std::vector<std::unique_ptr<Task>> cancelled;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
        for (auto& queue : queues_) {
            for (auto& task : queue) cancelled.push_back(std::move(task));
            queue.clear();
        }
        queued_ = 0;
    }
    for (auto& cv : route_cv_) cv->notify_all();
    space_cv_.notify_all();
    {
        // A leased context is in use on another thread: the lease must end before the contexts can be destroyed.
        std::unique_lock lock(mutex_);
        lease_returned_cv_.wait(lock, [this] { return leased_ == 0; });
    }
    for (std::thread& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
    for (auto& task : cancelled) {
        RunOutcome outcome;
        outcome.error = "task " + std::to_string(task->id) + " was cancelled: " + reason;
        finisher_(std::move(task), std::move(outcome));
    }
}

}  // namespace ezrknn::detail
