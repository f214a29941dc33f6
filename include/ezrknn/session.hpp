// The public C++ API of the engine: an ONNX Runtime-style session over one RKNN model.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/options.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn {

class RknnLibrary;
class ZeroCopyBackend;

// Which RKNN library a session runs on, and the versions it reported (RKNN_QUERY_SDK_VERSION).
struct RuntimeInfo {
    std::string kind;         // "vendor" or "emulator"
    std::string library_path;
    std::string api_version;  // e.g. "2.3.2 (ezrknn emulator 0.1.0)"; "" when the query failed
    std::string drv_version;
    std::string chosen_by;    // why this library: "the default search order", "EZRKNN_RUNTIME='emulator'", ...
    // "emulator: librknnrt_emu.so 2.3.2 (ezrknn emulator 0.1.0), driver ezrknn emulator 0.1.0"
    std::string describe() const;
};

// ONNX Runtime's ModelMetadata, filled from what the RKNN runtime knows (RKNN models carry no producer or version).
struct ModelMetadata {
    std::string producer_name;  // "rknn-toolkit2" on a vendor runtime, "onnx" on the emulator (ONNX models)
    std::string graph_name;     // the model file's name without its extension; "" for a model given as bytes
    std::string domain;         // always ""
    std::string description;    // "<file> on <runtime describe()>"
    std::string graph_description;  // always ""
    int64_t version = 0;        // RKNN has no model version
    std::string custom_string;  // RKNN_QUERY_CUSTOM_STRING ("" when the model has none)
};

// RKNN_QUERY_MEM_SIZE of a session's first context.
struct MemorySize {
    uint64_t total_weight_size = 0;  // weights the context's model holds itself (a shared-weight slave: ~0)
    uint64_t total_internal_size = 0;
    uint64_t total_dma_allocated_size = 0;
    uint64_t total_sram_size = 0;
    uint64_t free_sram_size = 0;
};

// A wait abandoned because the caller's `interrupted` check returned true (Python: Ctrl-C). The task, if it was
// already submitted, still runs and keeps its inputs alive until it completes.
class Interrupted : public Error {
public:
    using Error::Error;
};

// The single outcome of one submitted task.
struct RunOutcome {
    std::vector<Tensor> outputs;  // the selected outputs: float32, or the model's own types (OutputDtype::Native)
    std::string error;            // "" on success, else the message (e.g. "rknn_run failed: RKNN_ERR_FAIL (-1): ...")
    int rknn_code = 0;            // the RKNN status behind `error`, 0 when none
    bool ok() const { return error.empty(); }
};

// Runs on the session's one callback thread; it must not block for long (it delays every later callback).
using RunCallback = std::function<void(RunOutcome&&)>;

struct SubmitOptions {
    std::vector<size_t> output_indices;  // empty: every output in model order
    // Unset: the session's output_dtype provider option. Native returns each output in its attr's type.
    std::optional<OutputDtype> output_dtype;
    // true: the inputs are copied at submit, so the caller may reuse its buffers at once. false: the engine reads
    // the caller's buffers until the task completes; `keep_alive` should own them.
    bool copy_inputs = true;
    std::shared_ptr<void> keep_alive;
    // Called about every 50 ms while a call waits (queue room, pacing, a result); returning true makes the call
    // throw Interrupted. Empty: wait without slices.
    std::function<bool()> interrupted;
    // Names the call in the timeout message: "<label> submit timed out: async queue/callback pipeline is saturated".
    const char* label = "run";
};

namespace detail {
class TaskState;
}

// A future-like handle to one submitted task.
class RunFuture {
public:
    RunFuture() = default;
    bool valid() const { return state_ != nullptr; }
    uint64_t task_id() const;  // shared numbering of every submission kind (run, submit, pipeline, batch samples)
    bool ready() const;
    bool wait_for(std::chrono::milliseconds timeout) const;
    void wait() const;
    // Waits, calling `interrupted` about every 50 ms (when set); throws Interrupted("<label> was interrupted while
    // waiting for its result") once it returns true. The task still runs to completion.
    void wait(const std::function<bool()>& interrupted, const char* label) const;
    // Waits and moves the outcome out (once).
    RunOutcome take();
    // Waits; the outputs, or Error with the task's message.
    std::vector<Tensor> get();

private:
    friend class Session;
    explicit RunFuture(std::shared_ptr<detail::TaskState> state) : state_(std::move(state)) {}
    std::shared_ptr<detail::TaskState> state_;
};

struct SessionConfig {
    ProviderOptions options;
    // Non-null: share this session's weights (RKNN_FLAG_SHARE_WEIGHT_MEM); the slave keeps the master alive.
    std::shared_ptr<class Session> weight_master;
    // Receives warnings (e.g. an outdated vendor runtime); Python turns them into UserWarning. When empty,
    // warnings go to stderr.
    std::function<void(const std::string&)> warning_sink;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    // Loads a model from a file: the path goes to rknn_init as is, so the runtime maps the weights, not copies.
    // A missing file, a directory or an empty file is reported before any runtime is loaded.
    static std::shared_ptr<Session> from_file(const std::string& path, SessionConfig config = {});
    // Loads a model from memory; the runtime copies it once, so the caller may free `data` afterwards.
    static std::shared_ptr<Session> from_bytes(const void* data, size_t size, SessionConfig config = {});

    virtual ~Session();

    // As the user passes them (the `layout` option decides NCHW or NHWC for 4-D inputs).
    const std::vector<TensorDesc>& inputs() const;
    const std::vector<TensorDesc>& outputs() const;
    const RuntimeInfo& runtime() const;
    const ProviderOptions& options() const;
    // RKNN_QUERY_CUSTOM_STRING of the model ("" when it has none).
    const std::string& custom_string() const;
    const ModelMetadata& metadata() const;
    // True for a dynamic-shape model (shape sets from RKNN_QUERY_INPUT_DYNAMIC_RANGE); inputs() shows its first set.
    bool dynamic_shapes() const;
    // Queried now (RKNN_QUERY_MEM_SIZE on the first context); throws Error when the runtime refuses the query.
    MemorySize memory_size() const;
    // The custom ops registered on every context: "cstSigmoid (version=1, target=1) from /path/librkcst_x.so".
    std::vector<std::string> custom_ops() const;

    // Index of a tensor by name; throws InvalidArgument "Unknown input name: x" / "Unknown output name: y".
    size_t input_index(const std::string& name) const;
    size_t output_index(const std::string& name) const;

    // Checks one input against inputs()[index] (dtype, rank, shape; for a dynamic-shape model, its shape in any
    // shape set); throws InvalidArgument naming the tensor.
    void validate_input(size_t index, const TensorView& view) const;

    // Runs once and waits. `inputs` are in model order, validated first, and borrowed (not copied). Returns the
    // outputs for `output_indices` (all outputs, in model order, when empty; an index may repeat, and repeats share
    // one buffer), float32 unless output_dtype is native. Thread-safe. The run goes through the per-core queues like
    // submit(); when its core has an idle worker and nothing queued, the calling thread borrows that worker's context
    // and runs it inline, saving two thread hand-offs.
    std::vector<Tensor> run(const std::vector<TensorView>& inputs, const std::vector<size_t>& output_indices = {});
    // The same with submit options (interrupt check, keep-alive of borrowed inputs; copy_inputs is ignored).
    std::vector<Tensor> run_with_options(const std::vector<TensorView>& inputs, const SubmitOptions& options);
    // Batch dispatch (run option ztu_modelrt_dispatch_batch): splits axis 0 of every input into samples, runs
    // them across the cores, and concatenates each output along axis 0 (per-sample outputs may have dim 0 > 1).
    std::vector<Tensor> run_batch(const std::vector<TensorView>& inputs, const SubmitOptions& options = {});

    // Queues one task, waiting up to submit_timeout_ms for room (max_queue_size tasks not yet started, counted
    // across every core's queue). Throws Error "<label> submit timed out: async queue/callback pipeline is
    // saturated" when the wait runs out.
    RunFuture submit(const std::vector<TensorView>& inputs, SubmitOptions options = {});
    // The same, delivering the outcome to `callback` on the callback thread (in submission order when
    // sequential_callbacks is on, else as tasks finish). Exactly one call per task, also when the session closes.
    void submit(const std::vector<TensorView>& inputs, RunCallback callback, SubmitOptions options = {});
    // Waits until every callback submitted so far has run.
    void wait_callbacks();
    // Stops the engine: tasks not started complete with an error saying the session closed, running ones
    // finish, every callback runs; later submissions throw. The destructor does the same.
    void close();

    // Bytes copied by the engine on the data path since the session was created: inputs copied at submit
    // (submit, run_async, run_pipeline), nchw_software transposes, batch output concatenation. run() of
    // C-contiguous inputs of the model's dtype copies none.
    uint64_t copied_bytes() const;

    // RKNN contexts this session created (threads_per_core × the distinct cores of `schedule`, or of one route).
    size_t context_count() const;

    // True on the callback thread (where a callback must not wait for another task of this session).
    bool on_callback_thread() const;

    // The io binding's backend (io_binding.hpp): its own RKNN context, rknn_dup_context of the first (rknn_init
    // when dup is disabled, with the custom ops registered), made at the first call and kept while anyone holds
    // it. Never shared with the workers, so run_with_iobinding and run/run_async do not race on a context.
    std::shared_ptr<ZeroCopyBackend> zero_copy_backend();

private:
    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// run_pipeline: a fixed-delay stream. Call k returns the result of call k - depth once `depth` calls are in
// flight; flush() hands back what is still in flight. Thread-safe.
class Pipeline {
public:
    // depth 0 → InvalidArgument "pipeline depth must be > 0".
    Pipeline(std::shared_ptr<Session> session, size_t depth = 3);

    // Submits one call (inputs copied); returns the future of the oldest call once more than depth are in flight.
    std::optional<RunFuture> submit(const std::vector<TensorView>& inputs, SubmitOptions options = {});
    // submit, then waits for that oldest call: its outputs (every output, model order), or Error.
    std::optional<std::vector<Tensor>> push(const std::vector<TensorView>& inputs, SubmitOptions options = {});
    // Every call still in flight, oldest first; the pipeline is empty afterwards.
    std::vector<RunFuture> flush();
    // Drops the calls in flight (they still run; their results are discarded) and sets a new depth.
    void reset(size_t depth);
    size_t depth() const;
    size_t in_flight() const;

private:
    std::shared_ptr<Session> session_;
    mutable std::mutex mutex_;
    size_t depth_;
    std::deque<RunFuture> pending_;
};

}  // namespace ezrknn
