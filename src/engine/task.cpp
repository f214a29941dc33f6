// TaskState: a one-shot outcome with waiters.
#include "task.hpp"

namespace ezrknn::detail {

void TaskState::complete(RunOutcome&& outcome) {
    {
        std::lock_guard lock(mutex_);
        if (done_) return;  // shutdown and a worker never both complete a task, but a second outcome is dropped
        outcome_ = std::move(outcome);
        done_ = true;
    }
    done_cv_.notify_all();
}

bool TaskState::ready() const {
    std::lock_guard lock(mutex_);
    return done_;
}

bool TaskState::wait_for(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return done_cv_.wait_for(lock, timeout, [this] { return done_; });
}

void TaskState::wait() const {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [this] { return done_; });
}

RunOutcome TaskState::take() {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [this] { return done_; });
    if (taken_) {
        RunOutcome again;
        again.error = "RunFuture: the outcome of task " + std::to_string(id()) + " was already taken";
        return again;
    }
    taken_ = true;
    return std::move(outcome_);
}

}  // namespace ezrknn::detail

namespace ezrknn {

uint64_t RunFuture::task_id() const { return state_ ? state_->id() : 0; }
bool RunFuture::ready() const { return state_ && state_->ready(); }
bool RunFuture::wait_for(std::chrono::milliseconds timeout) const { return !state_ || state_->wait_for(timeout); }
void RunFuture::wait() const {
    if (state_) state_->wait();
}

void RunFuture::wait(const std::function<bool()>& interrupted, const char* label) const {
    if (!interrupted) {
        wait();
        return;
    }
    while (!wait_for(std::chrono::milliseconds(50))) {  // the slice: how long Ctrl-C may go unnoticed
        if (interrupted()) throw Interrupted(std::string(label) + " was interrupted while waiting for its result");
    }
}

RunOutcome RunFuture::take() {
    if (!state_) {
        RunOutcome none;
        none.error = "RunFuture: no task (a default-constructed handle)";
        return none;
    }
    return state_->take();
}

std::vector<Tensor> RunFuture::get() {
    RunOutcome outcome = take();
    if (!outcome.ok()) throw Error(outcome.error, outcome.rknn_code);
    return std::move(outcome.outputs);
}

}  // namespace ezrknn
