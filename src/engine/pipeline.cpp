// Pipeline: a deque of futures with a fixed delay.
#include "ezrknn/session.hpp"

namespace ezrknn {

Pipeline::Pipeline(std::shared_ptr<Session> session, size_t depth) : session_(std::move(session)), depth_(depth) {
    if (depth == 0) throw InvalidArgument("pipeline depth must be > 0");
    if (!session_) throw InvalidArgument("Pipeline needs a session");
}

std::optional<RunFuture> Pipeline::submit(const std::vector<TensorView>& inputs, SubmitOptions options) {
    options.copy_inputs = true;  // the caller reuses its buffers for the next frame while this one is in flight
    if (options.label == std::string("run")) options.label = "run_pipeline";
    RunFuture future = session_->submit(inputs, std::move(options));
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(future));
    if (pending_.size() <= depth_) return std::nullopt;
    RunFuture oldest = std::move(pending_.front());
    pending_.pop_front();
    return oldest;
}

std::optional<std::vector<Tensor>> Pipeline::push(const std::vector<TensorView>& inputs, SubmitOptions options) {
    std::optional<RunFuture> ready = submit(inputs, std::move(options));
    if (!ready) return std::nullopt;
    return ready->get();
}

std::vector<RunFuture> Pipeline::flush() {
    std::lock_guard lock(mutex_);
    std::vector<RunFuture> all(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
    pending_.clear();
    return all;
}

void Pipeline::reset(size_t depth) {
    if (depth == 0) throw InvalidArgument("pipeline depth must be > 0");
    std::lock_guard lock(mutex_);
    depth_ = depth;
    pending_.clear();  // the tasks run on; nobody waits for them
}

size_t Pipeline::depth() const {
    std::lock_guard lock(mutex_);
    return depth_;
}

size_t Pipeline::in_flight() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
}

}  // namespace ezrknn
