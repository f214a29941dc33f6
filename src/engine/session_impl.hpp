// Session::Impl: the state behind a Session, shared by its three source files: session.cpp (loading the model
// and describing it), session_execute.cpp (one task on one context: input conversion, the RKNN calls, output
// fetch), session_submit.cpp (the engine's threads, submission, run/run_batch).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "callback_dispatcher.hpp"
#include "context_pool.hpp"
#include "core_worker_pool.hpp"
#include "custom_op_loader.hpp"
#include "dynamic_shapes.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/session.hpp"
#include "layout.hpp"
#include "pacer.hpp"
#include "rknn_context.hpp"
#include "task.hpp"

namespace ezrknn {

namespace detail {

// One model input as the engine feeds it.
struct InputBinding {
    detail::InputLayoutPlan layout;
    std::vector<ElementType> accepted_types;
    std::vector<int64_t> engine_shape;  // the queried (RKNN-side) dims
};

}  // namespace detail

struct Session::Impl {
    std::shared_ptr<RknnLibrary> library;
    std::shared_ptr<Session> weight_master;  // destroyed after our contexts, which may use its weights
    // Destroyed after the contexts: rknn_destroy calls the plugins' destroy callbacks.
    std::unique_ptr<detail::CustomOpPlugins> custom_ops;
    ModelMetadata metadata;
    ProviderOptions options;
    RuntimeInfo runtime;
    std::string custom_string;
    std::function<void(const std::string&)> warn;
    std::vector<TensorDesc> inputs;
    std::vector<TensorDesc> outputs;
    std::vector<detail::InputBinding> input_bindings;
    std::vector<rknn_tensor_attr> input_attrs;
    std::vector<rknn_tensor_attr> output_attrs;
    detail::ShapeSets shape_sets;                     // empty for a static model
    std::vector<detail::ContextShape> context_shapes;  // per context; each touched only by the task using it
    std::unique_ptr<detail::ContextPool> pool;
    std::atomic<uint64_t> copied_bytes{0};
    // Io binding: created on first use; the model is kept to rknn_init it when contexts are not dup'ed.
    std::mutex zero_copy_mutex;
    std::weak_ptr<ZeroCopyBackend> zero_copy;
    std::string model_path;
    std::vector<unsigned char> model_copy;  // bytes models with dup disabled only
    // The execution engine, declared after the contexts so it stops before they are destroyed.
    std::unique_ptr<detail::Pacer> pacer;
    std::unique_ptr<detail::CallbackDispatcher> dispatcher;
    std::unique_ptr<detail::CoreWorkerPool> workers;

    ~Impl() { close(); }
    void start_engine();
    void close();
    std::unique_ptr<detail::Task> make_task(const std::vector<TensorView>& inputs, const SubmitOptions& options);
    void enqueue(std::unique_ptr<detail::Task>& task, const SubmitOptions& options,
                 std::chrono::steady_clock::time_point deadline);
    RunOutcome execute(size_t context_index, detail::Task& task);
    // Average rknn_run time (EMA, µs; -1 before the first run): run() executes inline only for short runs, so
    // Ctrl-C still interrupts a wait within tens of milliseconds.
    std::atomic<int64_t> run_us_average{-1};
    bool inline_worthwhile() const {
        const int64_t avg = run_us_average.load(std::memory_order_relaxed);
        return avg >= 0 && avg < 20000;
    }
    std::chrono::steady_clock::time_point submit_deadline() const {
        return std::chrono::steady_clock::now() + std::chrono::milliseconds(options.submit_timeout_ms);
    }

    static std::unique_ptr<Impl> create(const detail::ModelSource& model, SessionConfig config);

    void check_custom_ops() const;
    void load_custom_ops();
    void query_runtime(const detail::RknnContext& ctx);
    void query_tensors(const detail::RknnContext& ctx);
    void build_pool(std::unique_ptr<detail::RknnContext> ctx0, const detail::ModelSource& model, bool use_dup);
    const detail::RknnContext* master_context() const;
    std::unique_ptr<detail::RknnContext> create_side_context();
};

}  // namespace ezrknn
