// The engine of a Session: its worker pool and callback thread, and every way to submit work (submit with a
// future or a callback, run, run_batch) down to close().
#include "batch_splitter.hpp"
#include "ezrknn/io_binding.hpp"
#include "session_impl.hpp"

namespace ezrknn {

namespace {

constexpr size_t kCallbackBacklog = 8;  // completed callbacks not yet delivered (anchor-behaviour.md §4.4)

}  // namespace

void Session::Impl::start_engine() {
    // Routes: the distinct cores of the schedule (a queue each), or one route in tensor-parallel mode.
    std::vector<int> routes;
    std::vector<detail::CoreWorkerPool::Worker> worker_plan;
    for (size_t i = 0; i < pool->size(); ++i) {
        const int core = pool->plan(i).core;
        size_t r = 0;
        while (r < routes.size() && routes[r] != core) ++r;
        if (r == routes.size()) routes.push_back(core);
        worker_plan.push_back({i, r, core});
    }
    std::vector<size_t> schedule;
    if (options.schedule) {
        for (int core : *options.schedule) {
            for (size_t r = 0; r < routes.size(); ++r) {
                if (routes[r] == core) schedule.push_back(r);
            }
        }
    } else {
        schedule.push_back(0);
    }
    if (options.enable_pacing) pacer = std::make_unique<detail::Pacer>(routes.size());
    const size_t max_queued = static_cast<size_t>(options.max_queue_size);
    dispatcher = std::make_unique<detail::CallbackDispatcher>(options.sequential_callbacks,
                                                              max_queued + pool->size() + kCallbackBacklog);
    workers = std::make_unique<detail::CoreWorkerPool>(
        std::move(worker_plan), std::move(schedule), routes.size(), max_queued,
        [this](size_t context_index, detail::Task& task) { return execute(context_index, task); },
        [this](std::unique_ptr<detail::Task> task, RunOutcome&& outcome) {
            // The inputs are released before the outcome is published: a waiter may free them right after.
            task->keep_alive.reset();
            task->owned.clear();
            if (task->state) {
                task->state->complete(std::move(outcome));
            } else {
                dispatcher->post(task->callback_seq, std::move(task->callback), std::move(outcome));
            }
        });
}

void Session::Impl::close() {
    if (pacer) pacer->stop();
    if (workers) workers->shutdown("the InferenceSession was closed before the task started");
    if (dispatcher) dispatcher->stop();
}

void Session::Impl::enqueue(std::unique_ptr<detail::Task>& task, const SubmitOptions& opts,
                            std::chrono::steady_clock::time_point deadline) {
    if (!workers) throw Error(std::string(opts.label) + " submit failed: the InferenceSession is closed");
    if (pacer) pacer->wait_turn(opts.interrupted, opts.label);
    workers->push(task, deadline, opts.interrupted, opts.label);
}

RunFuture Session::submit(const std::vector<TensorView>& inputs, SubmitOptions options) {
    const auto deadline = impl_->submit_deadline();
    std::unique_ptr<detail::Task> task = impl_->make_task(inputs, options);
    auto state = std::make_shared<detail::TaskState>();
    task->state = state;
    impl_->enqueue(task, options, deadline);
    return RunFuture(std::move(state));
}

void Session::submit(const std::vector<TensorView>& inputs, RunCallback callback, SubmitOptions options) {
    if (!callback) throw InvalidArgument("callback must be callable");
    const auto deadline = impl_->submit_deadline();
    std::unique_ptr<detail::Task> task = impl_->make_task(inputs, options);
    if (!impl_->dispatcher) throw Error(std::string(options.label) + " submit failed: the InferenceSession is closed");
    const uint64_t seq = impl_->dispatcher->reserve(deadline, options.interrupted, options.label);
    task->callback = std::move(callback);
    task->callback_seq = seq;
    try {
        impl_->enqueue(task, options, deadline);
    } catch (...) {
        impl_->dispatcher->skip(seq);  // sequential delivery must not wait for a slot that will never be filled
        throw;
    }
}

std::vector<Tensor> Session::run(const std::vector<TensorView>& inputs, const std::vector<size_t>& output_indices) {
    SubmitOptions options;
    options.output_indices = output_indices;
    return run_with_options(inputs, options);
}

std::vector<Tensor> Session::run_with_options(const std::vector<TensorView>& inputs, const SubmitOptions& options) {
    SubmitOptions borrowed = options;
    borrowed.copy_inputs = false;  // the caller's buffers outlive the wait (or `keep_alive` holds them)
    if (impl_->workers && impl_->inline_worthwhile() && !impl_->pacer) {
        std::unique_ptr<detail::Task> task = impl_->make_task(inputs, borrowed);
        if (auto lease = impl_->workers->lease_for_next(*task)) {
            RunOutcome out = impl_->execute(lease->context_index(), *task);
            if (!out.ok()) throw Error(out.error, out.rknn_code);
            return std::move(out.outputs);
        }
    }
    RunFuture future = submit(inputs, borrowed);
    future.wait(options.interrupted, options.label);
    return future.get();
}

std::vector<Tensor> Session::run_batch(const std::vector<TensorView>& inputs, const SubmitOptions& options) {
    std::vector<std::vector<TensorView>> samples = detail::split_batch(inputs, impl_->inputs);
    SubmitOptions borrowed = options;
    borrowed.copy_inputs = false;
    std::vector<RunFuture> futures;
    futures.reserve(samples.size());
    for (const std::vector<TensorView>& sample : samples) futures.push_back(submit(sample, borrowed));
    // Every sample is awaited, so none is abandoned still reading the caller's buffers (anchor §14.12).
    std::vector<RunOutcome> outcomes;
    outcomes.reserve(futures.size());
    for (RunFuture& f : futures) {
        f.wait(options.interrupted, options.label);
        outcomes.push_back(f.take());
    }
    for (const RunOutcome& o : outcomes) {
        if (!o.ok()) throw Error(o.error, o.rknn_code);
    }
    size_t copied = 0;
    std::vector<Tensor> result = detail::concat_batch(outcomes, copied);
    impl_->copied_bytes.fetch_add(copied, std::memory_order_relaxed);
    return result;
}

void Session::wait_callbacks() {
    if (impl_->dispatcher) impl_->dispatcher->drain();
}

void Session::close() { impl_->close(); }

std::shared_ptr<ZeroCopyBackend> Session::zero_copy_backend() {
    std::lock_guard lock(impl_->zero_copy_mutex);
    if (std::shared_ptr<ZeroCopyBackend> backend = impl_->zero_copy.lock()) return backend;
    std::shared_ptr<ZeroCopyBackend> backend =
        ZeroCopyBackend::create(shared_from_this(), impl_->create_side_context());
    impl_->zero_copy = backend;
    return backend;
}

bool Session::on_callback_thread() const {
    return impl_->dispatcher && impl_->dispatcher->on_dispatcher_thread();
}

}  // namespace ezrknn
