// Session: loads a model into RKNN contexts, describes its tensors, and runs it synchronously.
#include "ezrknn/session.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>
#include <system_error>
#include <thread>

#include "context_pool.hpp"
#include "dynamic_shapes.hpp"
#include "custom_op_loader.hpp"
#include "ezrknn/io_binding.hpp"
#include "ezrknn/rknn_library.hpp"
#include "input_validation.hpp"
#include "layout.hpp"
#include "model_metadata.hpp"
#include "rknn_context.hpp"
#include "runtime_version.hpp"
#include "batch_splitter.hpp"
#include "callback_dispatcher.hpp"
#include "core_worker_pool.hpp"
#include "pacer.hpp"
#include "task.hpp"

namespace ezrknn {

using detail::ContextPool;
using detail::ModelSource;
using detail::RknnContext;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Fails early with the file's own problem instead of an RKNN code from deep inside rknn_init.
void check_model_file(const std::string& path) {
    if (path.empty()) throw InvalidArgument("Failed to open model file: the path is empty");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw Error("Failed to open model file: " + path + ": " + errno_text(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        throw Error("Failed to open model file: " + path + ": " + errno_text(EISDIR));
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("Failed to open model file: " + path + ": " + errno_text(errno));
    ::close(fd);
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        throw Error("Failed to read model file: " + path + ": the file is empty");
    }
}

std::string attr_name(const rknn_tensor_attr& attr) {
    return std::string(attr.name, strnlen(attr.name, sizeof attr.name));
}

std::vector<int64_t> attr_dims(const rknn_tensor_attr& attr) {
    const uint32_t n = attr.n_dims <= RKNN_MAX_DIMS ? attr.n_dims : RKNN_MAX_DIMS;
    return std::vector<int64_t>(attr.dims, attr.dims + n);
}

template <typename T>
int query(const RknnContext& ctx, rknn_query_cmd cmd, T& out) {
    return ctx.library().fn().query(ctx.handle(), cmd, &out, static_cast<uint32_t>(sizeof(T)));
}

void warn_to_stderr(const std::string& message) { std::fprintf(stderr, "ezrknn warning: %s\n", message.c_str()); }

// One model input as the engine feeds it.
struct InputBinding {
    detail::InputLayoutPlan layout;
    std::vector<ElementType> accepted_types;
    std::vector<int64_t> engine_shape;  // the queried (RKNN-side) dims
};

}  // namespace

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
    std::vector<InputBinding> input_bindings;
    std::vector<rknn_tensor_attr> input_attrs;
    std::vector<rknn_tensor_attr> output_attrs;
    detail::ShapeSets shape_sets;                     // empty for a static model
    std::vector<detail::ContextShape> context_shapes;  // per context; each touched only by the task using it
    std::unique_ptr<ContextPool> pool;
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

    static std::unique_ptr<Impl> create(const ModelSource& model, SessionConfig config);

    void check_custom_ops() const;
    void load_custom_ops();
    void query_runtime(const RknnContext& ctx);
    void query_tensors(const RknnContext& ctx);
    void build_pool(std::unique_ptr<RknnContext> ctx0, const ModelSource& model, bool use_dup);
    const RknnContext* master_context() const;
    std::unique_ptr<RknnContext> create_side_context();
};

std::unique_ptr<RknnContext> Session::Impl::create_side_context() {
    std::unique_ptr<RknnContext> ctx;
    if (!options.disable_dup_context) {
        ctx = pool->context(0).dup(runtime.api_version);
    } else {
        ModelSource model;
        model.path = model_path;
        if (model.path.empty()) {
            model.data = model_copy.data();
            model.size = model_copy.size();
        }
        ctx = RknnContext::init(library, model, master_context());
    }
    if (custom_ops && custom_ops->op_count() > 0) {
        auto register_fn = library->require(&RknnFunctions::register_custom_ops, "rknn_register_custom_ops",
                                            runtime.api_version);
        if (int ret = custom_ops->register_on(register_fn, ctx->handle()); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_register_custom_ops", ret) + " (io binding context)", ret);
        }
    }
    ctx->set_core_mask(pool->plan(0).mask, pool->size(), runtime.api_version);
    return ctx;
}

const RknnContext* Session::Impl::master_context() const {
    return weight_master ? &weight_master->impl_->pool->context(0) : nullptr;
}

void Session::Impl::check_custom_ops() const {
    if (!options.custom_ops_requested()) return;
    // A slave's contexts run on the master's weights; plugins registered there would act on a model we do not own.
    if (weight_master) {
        throw InvalidArgument("use_weight_from cannot be combined with custom-op loading");
    }
    warn("Custom op loading requested; dup_context is disabled for this session to avoid known RKNN stability "
         "issues.");
}

// After every context exists (anchor §1.2 step 9): all ops are registered in one call per context.
void Session::Impl::load_custom_ops() {
    if (!options.custom_ops_requested()) return;
    custom_ops = std::make_unique<detail::CustomOpPlugins>(warn);
    custom_ops->load(options.custom_op_paths, options.custom_op_default_path);
    if (custom_ops->op_count() == 0) return;
    auto register_fn = library->require(&RknnFunctions::register_custom_ops, "rknn_register_custom_ops",
                                        runtime.api_version, "Remove the custom-op provider options");
    for (size_t i = 0; i < pool->size(); ++i) {
        if (int ret = custom_ops->register_on(register_fn, pool->context(i).handle()); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_register_custom_ops", ret) + " (context " + std::to_string(i) +
                            " of " + std::to_string(pool->size()) + ")",
                        ret);
        }
    }
}

void Session::Impl::query_runtime(const RknnContext& ctx) {
    runtime.kind = runtime_kind_name(library->kind());
    runtime.library_path = library->path();
    rknn_sdk_version sdk{};
    if (query(ctx, RKNN_QUERY_SDK_VERSION, sdk) == RKNN_SUCC) {
        runtime.api_version.assign(sdk.api_version, strnlen(sdk.api_version, sizeof sdk.api_version));
        runtime.drv_version.assign(sdk.drv_version, strnlen(sdk.drv_version, sizeof sdk.drv_version));
    }
    // The emulator follows its own versioning; the threshold describes vendor runtimes only.
    if (!library->is_emulator() && detail::is_outdated_api_version(runtime.api_version)) {
        warn(detail::outdated_api_version_warning(runtime.api_version));
    }
    rknn_custom_string custom{};
    if (query(ctx, RKNN_QUERY_CUSTOM_STRING, custom) == RKNN_SUCC) {
        custom_string.assign(custom.string, strnlen(custom.string, sizeof custom.string));
    }
}

void Session::Impl::query_tensors(const RknnContext& ctx) {
    rknn_input_output_num io{};
    if (int ret = query(ctx, RKNN_QUERY_IN_OUT_NUM, io); ret != RKNN_SUCC) {
        throw Error(library->error_message("rknn_query(RKNN_QUERY_IN_OUT_NUM)", ret), ret);
    }
    input_attrs.resize(io.n_input);
    for (uint32_t i = 0; i < io.n_input; ++i) {
        rknn_tensor_attr& attr = input_attrs[i];
        attr = {};
        attr.index = i;
        if (int ret = query(ctx, RKNN_QUERY_INPUT_ATTR, attr); ret != RKNN_SUCC) {
            throw Error(library->error_message_for_index("rknn_query(RKNN_QUERY_INPUT_ATTR)", "input attr", i, ret),
                        ret);
        }
        InputBinding binding;
        binding.engine_shape = attr_dims(attr);
        binding.layout = detail::plan_input_layout(binding.engine_shape, static_cast<TensorFormat>(attr.fmt),
                                                   options.layout);
        const ElementType type = element_type_from_rknn(attr.type);
        binding.accepted_types = detail::accepted_input_types(type, attr.qnt_type != RKNN_TENSOR_QNT_NONE);
        TensorDesc desc;
        desc.name = attr_name(attr);
        if (desc.name.empty()) desc.name = "input_" + std::to_string(i);
        desc.shape = binding.layout.user_shape;
        desc.type = type;
        desc.format = binding.layout.user_format;
        inputs.push_back(std::move(desc));
        input_bindings.push_back(std::move(binding));
    }
    output_attrs.resize(io.n_output);
    for (uint32_t i = 0; i < io.n_output; ++i) {
        rknn_tensor_attr& attr = output_attrs[i];
        attr = {};
        attr.index = i;
        if (int ret = query(ctx, RKNN_QUERY_OUTPUT_ATTR, attr); ret != RKNN_SUCC) {
            throw Error(
                library->error_message_for_index("rknn_query(RKNN_QUERY_OUTPUT_ATTR)", "output attr", i, ret), ret);
        }
        TensorDesc desc;
        desc.name = attr_name(attr);
        if (desc.name.empty()) desc.name = "output_" + std::to_string(i);
        desc.shape = attr_dims(attr);
        desc.type = element_type_from_rknn(attr.type);
        desc.format = static_cast<TensorFormat>(attr.fmt);
        outputs.push_back(std::move(desc));
    }
    shape_sets = detail::query_shape_sets(*library, ctx.handle(), input_attrs, options.layout);
}

void Session::Impl::build_pool(std::unique_ptr<RknnContext> ctx0, const ModelSource& model, bool use_dup) {
    const std::vector<detail::ContextSlotPlan> plans = detail::plan_contexts(options);
    std::vector<ContextPool::Slot> slots;
    slots.reserve(plans.size());
    slots.push_back({std::move(ctx0), plans[0]});
    for (size_t i = 1; i < plans.size(); ++i) {
        std::unique_ptr<RknnContext> ctx = use_dup ? slots[0].context->dup(runtime.api_version)
                                                   : RknnContext::init(library, model, master_context());
        slots.push_back({std::move(ctx), plans[i]});
    }
    // The core mask is per context and not inherited by rknn_dup_context (rknn-api.md §7.2).
    for (size_t i = 0; i < slots.size(); ++i) slots[i].context->set_core_mask(plans[i].mask, i, runtime.api_version);
    pool = std::make_unique<ContextPool>(std::move(slots));
}

std::unique_ptr<Session::Impl> Session::Impl::create(const ModelSource& model, SessionConfig config) {
    validate_provider_options(config.options);
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(config.options);
    impl->weight_master = std::move(config.weight_master);
    impl->warn = config.warning_sink ? std::move(config.warning_sink) : warn_to_stderr;
    impl->check_custom_ops();
    if (!model.path.empty()) check_model_file(model.path);

    if (impl->weight_master) {
        impl->library = impl->weight_master->impl_->library;
        impl->runtime.chosen_by = "use_weight_from (the master session's runtime)";
        if (!impl->options.runtime.empty()) {
            auto requested = RknnLibrary::load(impl->options.runtime);
            if (requested != impl->library) {
                throw InvalidArgument("use_weight_from needs both sessions on one RKNN runtime, but the master uses " +
                                      impl->library->path() + " and this session asks for " + requested->path());
            }
        }
    } else {
        impl->library = RknnLibrary::load(impl->options.runtime, &impl->runtime.chosen_by);
    }

    std::unique_ptr<RknnContext> ctx0 = RknnContext::init(impl->library, model, impl->master_context());
    impl->query_runtime(*ctx0);
    impl->query_tensors(*ctx0);
    // Separate rknn_init per context when weights come from a master or plugins may be registered later;
    // options() then reports the forced value.
    // A dynamic-shape model cannot be duplicated (rknn-api.md §7.2).
    if (impl->options.custom_ops_requested() || impl->weight_master || impl->shape_sets.dynamic())
        impl->options.disable_dup_context = true;
    impl->build_pool(std::move(ctx0), model, !impl->options.disable_dup_context);
    impl->model_path = model.path;
    if (impl->options.disable_dup_context && model.path.empty()) {
        const auto* bytes = static_cast<const unsigned char*>(model.data);
        impl->model_copy.assign(bytes, bytes + model.size);
    }
    impl->context_shapes.resize(impl->pool->size());
    impl->load_custom_ops();
    impl->metadata = detail::describe_model(model.path, impl->runtime, impl->custom_string);
    impl->start_engine();  // last: a failure above never leaves threads behind
    return impl;
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
    // Dropped by one of its own callbacks: the callback thread cannot join itself, so another thread tears down.
    if (impl_ && impl_->dispatcher && impl_->dispatcher->on_dispatcher_thread()) {
        std::thread([impl = std::move(impl_)]() mutable { impl.reset(); }).detach();
    }
}

std::shared_ptr<Session> Session::from_file(const std::string& path, SessionConfig config) {
    ModelSource model;
    model.path = path;
    return std::shared_ptr<Session>(new Session(Impl::create(model, std::move(config))));
}

std::shared_ptr<Session> Session::from_bytes(const void* data, size_t size, SessionConfig config) {
    if (data == nullptr || size == 0) throw InvalidArgument("Model bytes are empty");
    if (size > UINT32_MAX) {
        throw InvalidArgument("Model bytes are too large for rknn_init (" + std::to_string(size) +
                              " bytes, the limit is 4 GiB); pass a file path instead");
    }
    ModelSource model;
    model.data = data;
    model.size = size;
    return std::shared_ptr<Session>(new Session(Impl::create(model, std::move(config))));
}

const std::vector<TensorDesc>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorDesc>& Session::outputs() const { return impl_->outputs; }
const RuntimeInfo& Session::runtime() const { return impl_->runtime; }
const ProviderOptions& Session::options() const { return impl_->options; }
const std::string& Session::custom_string() const { return impl_->custom_string; }
const ModelMetadata& Session::metadata() const { return impl_->metadata; }

MemorySize Session::memory_size() const {
    const RknnContext& ctx = impl_->pool->context(0);
    rknn_mem_size mem{};
    if (int ret = query(ctx, RKNN_QUERY_MEM_SIZE, mem); ret != RKNN_SUCC) {
        throw Error(impl_->library->error_message("rknn_query(RKNN_QUERY_MEM_SIZE)", ret), ret);
    }
    return {mem.total_weight_size, mem.total_internal_size, mem.total_dma_allocated_size, mem.total_sram_size,
            mem.free_sram_size};
}

std::vector<std::string> Session::custom_ops() const {
    return impl_->custom_ops ? impl_->custom_ops->describe() : std::vector<std::string>{};
}
uint64_t Session::copied_bytes() const { return impl_->copied_bytes.load(std::memory_order_relaxed); }
size_t Session::context_count() const { return impl_->pool->size(); }

size_t Session::input_index(const std::string& name) const {
    for (size_t i = 0; i < impl_->inputs.size(); ++i) {
        if (impl_->inputs[i].name == name) return i;
    }
    throw InvalidArgument("Unknown input name: " + name);
}

size_t Session::output_index(const std::string& name) const {
    for (size_t i = 0; i < impl_->outputs.size(); ++i) {
        if (impl_->outputs[i].name == name) return i;
    }
    throw InvalidArgument("Unknown output name: " + name);
}

void Session::validate_input(size_t index, const TensorView& view) const {
    if (index >= impl_->inputs.size()) {
        throw InvalidArgument("Input index " + std::to_string(index) + " is out of range; the model has " +
                              std::to_string(impl_->inputs.size()) + " inputs");
    }
    TensorDesc desc = impl_->inputs[index];
    // A dynamic model's input may have the shape it takes in any set (which set, only all inputs together tell).
    for (const detail::Shapes& set : impl_->shape_sets.user) {
        if (set[index] == view.shape) desc.shape = view.shape;
    }
    detail::validate_input_view(desc, impl_->input_bindings[index].accepted_types, view);
}

// ---- Execution: worker pools, submission, callbacks --------------------------------------------------------------

namespace {

constexpr size_t kCallbackBacklog = 8;  // completed callbacks not yet delivered (anchor-behaviour.md §4.4)
constexpr auto kWaitSlice = std::chrono::milliseconds(50);

// Waits for a task, checking `interrupted` every slice when there is one.
void wait_interruptible(RunFuture& future, const std::function<bool()>& interrupted, const char* label) {
    if (!interrupted) {
        future.wait();
        return;
    }
    while (!future.wait_for(kWaitSlice)) {
        if (interrupted()) throw Interrupted(std::string(label) + " was interrupted while waiting for its result");
    }
}

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

std::unique_ptr<detail::Task> Session::Impl::make_task(const std::vector<TensorView>& in,
                                                       const SubmitOptions& opts) {
    const size_t n_in = inputs.size();
    if (in.size() != n_in) {
        throw InvalidArgument("Input count mismatch: expected " + std::to_string(n_in) + ", got " +
                              std::to_string(in.size()));
    }
    // A dynamic model takes any of its shape sets: each input is checked at the shapes of the set the inputs pick.
    const size_t shape_set = shape_sets.dynamic() ? shape_sets.find(in, inputs) : 0;
    for (size_t i = 0; i < n_in; ++i) {
        if (shape_sets.dynamic()) {
            TensorDesc desc = inputs[i];
            desc.shape = shape_sets.user[shape_set][i];
            detail::validate_input_view(desc, input_bindings[i].accepted_types, in[i]);
        } else {
            detail::validate_input_view(inputs[i], input_bindings[i].accepted_types, in[i]);
        }
        if (in[i].nbytes > UINT32_MAX) {
            throw InvalidArgument("Input '" + inputs[i].name + "' is too large for rknn_inputs_set (4 GiB limit)");
        }
    }
    for (size_t o : opts.output_indices) {
        if (o >= outputs.size()) {
            throw InvalidArgument("Output index " + std::to_string(o) + " is out of range; the model has " +
                                  std::to_string(outputs.size()) + " outputs");
        }
    }
    auto task = std::make_unique<detail::Task>();
    task->shape_set = shape_set;
    task->inputs = in;
    task->output_indices = opts.output_indices;
    if (opts.copy_inputs) {
        task->owned.reserve(n_in);
        for (TensorView& v : task->inputs) {
            std::unique_ptr<unsigned char[]> copy(new (std::nothrow) unsigned char[v.nbytes > 0 ? v.nbytes : 1]);
            if (!copy) throw Error("Failed to allocate " + std::to_string(v.nbytes) + " bytes to copy an input");
            if (v.nbytes > 0) std::memcpy(copy.get(), v.data, v.nbytes);
            copied_bytes.fetch_add(v.nbytes, std::memory_order_relaxed);
            v.data = copy.get();
            task->owned.push_back(std::move(copy));
        }
    } else {
        task->keep_alive = opts.keep_alive;
    }
    return task;
}

void Session::Impl::enqueue(std::unique_ptr<detail::Task>& task, const SubmitOptions& opts,
                            std::chrono::steady_clock::time_point deadline) {
    if (!workers) throw Error(std::string(opts.label) + " submit failed: the InferenceSession is closed");
    if (pacer) pacer->wait_turn(opts.interrupted, opts.label);
    workers->push(task, deadline, opts.interrupted, opts.label);
}

RunOutcome Session::Impl::execute(size_t context_index, detail::Task& task) {
    RunOutcome out;
    // Nothing may escape a worker: an exception here becomes this task's error (anchor-behaviour.md §14.8).
    try {
        const size_t n_in = inputs.size();
        const size_t n_out = outputs.size();
        // Inputs point at the task's copy or the caller's memory; only nchw_software stages a transposed copy.
        std::vector<std::unique_ptr<unsigned char[]>> staging;
        std::vector<rknn_input> rin(n_in);
        for (size_t i = 0; i < n_in; ++i) {
            const TensorView& view = task.inputs[i];
            const InputBinding& b = input_bindings[i];
            rin[i].index = static_cast<uint32_t>(i);
            rin[i].size = static_cast<uint32_t>(view.nbytes);
            rin[i].pass_through = 0;
            rin[i].type = static_cast<rknn_tensor_type>(view.type);
            rin[i].fmt = static_cast<rknn_tensor_format>(b.layout.rknn_format);
            if (b.layout.software_transpose) {
                const std::vector<int64_t>& nchw = view.shape;
                std::unique_ptr<unsigned char[]> buf(new (std::nothrow) unsigned char[view.nbytes]);
                if (!buf) {
                    throw Error("Failed to allocate " + std::to_string(view.nbytes) + " bytes to transpose input '" +
                                inputs[i].name + "'");
                }
                detail::transpose_nchw_to_nhwc(view.data, buf.get(), static_cast<size_t>(nchw[0]),
                                               static_cast<size_t>(nchw[1]), static_cast<size_t>(nchw[2]),
                                               static_cast<size_t>(nchw[3]), element_size(view.type));
                copied_bytes.fetch_add(view.nbytes, std::memory_order_relaxed);
                rin[i].buf = buf.get();
                staging.push_back(std::move(buf));
            } else {
                rin[i].buf = const_cast<void*>(view.data);  // rknn_inputs_set reads it; the ABI just lacks const
            }
        }

        const rknn_context ctx = pool->context(context_index).handle();
        const detail::Shapes* dynamic_outputs = nullptr;  // a dynamic model's output shapes at the task's set
        if (shape_sets.dynamic()) {
            detail::ContextShape& current = context_shapes[context_index];
            detail::select_shape_set(*library, ctx, shape_sets, task.shape_set, input_attrs, n_out, current);
            dynamic_outputs = &current.outputs;
        }
        const auto output_shape = [&](size_t o) -> const std::vector<int64_t>& {
            return dynamic_outputs ? (*dynamic_outputs)[o] : outputs[o].shape;
        };

        // Every output is fetched (the runtime expects the full set); only the selected ones are returned.
        std::vector<std::shared_ptr<float[]>> buffers(n_out);
        std::vector<rknn_output> rout(n_out);
        for (size_t o = 0; o < n_out; ++o) {
            const size_t count = shape_element_count(output_shape(o));
            const size_t bytes = count * sizeof(float);
            if (bytes > UINT32_MAX) throw Error("Output '" + outputs[o].name + "' is too large for rknn_outputs_get");
            buffers[o].reset(new (std::nothrow) float[count > 0 ? count : 1]);
            if (!buffers[o]) throw Error("Failed to allocate output buffer for output " + std::to_string(o));
            rout[o].index = static_cast<uint32_t>(o);
            rout[o].want_float = 1;
            rout[o].is_prealloc = 1;
            rout[o].buf = buffers[o].get();
            rout[o].size = static_cast<uint32_t>(bytes);
        }

        const RknnFunctions& fn = library->fn();
        if (int ret = fn.inputs_set(ctx, static_cast<uint32_t>(n_in), rin.data()); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_inputs_set", ret), ret);
        }
        const auto started = std::chrono::steady_clock::now();
        if (int ret = fn.run(ctx, nullptr); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_run", ret), ret);
        }
        const auto took =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
        if (pacer) pacer->record_run(took);
        const int64_t prev = run_us_average.load(std::memory_order_relaxed);
        // A racy EMA is fine here: it only decides whether run() may execute inline.
        run_us_average.store(prev < 0 ? took.count() : (prev * 7 + took.count()) / 8, std::memory_order_relaxed);
        const int ret = fn.outputs_get(ctx, static_cast<uint32_t>(n_out), rout.data(), nullptr);
        // The detail is thread-local and the next call may reset it: read it before releasing.
        const std::string failure = ret != RKNN_SUCC ? library->error_message("rknn_outputs_get", ret) : "";
        fn.outputs_release(ctx, static_cast<uint32_t>(n_out), rout.data());
        if (ret != RKNN_SUCC) throw Error(failure, ret);

        const std::vector<size_t>& selected = task.output_indices;
        const size_t n_selected = selected.empty() ? n_out : selected.size();
        out.outputs.reserve(n_selected);
        for (size_t k = 0; k < n_selected; ++k) {
            const size_t o = selected.empty() ? k : selected[k];
            Tensor t;
            t.storage = std::shared_ptr<void>(buffers[o], buffers[o].get());
            t.data = buffers[o].get();
            t.nbytes = shape_element_count(output_shape(o)) * sizeof(float);
            t.type = ElementType::Float32;
            t.shape = output_shape(o);
            out.outputs.push_back(std::move(t));
        }
    } catch (const Error& e) {
        out.outputs.clear();
        out.error = e.what();
        out.rknn_code = e.rknn_code();
    } catch (const std::exception& e) {
        out.outputs.clear();
        out.error = std::string("task ") + std::to_string(task.id) + " failed: " + e.what();
    } catch (...) {
        out.outputs.clear();
        out.error = "task " + std::to_string(task.id) + " failed with an unknown exception";
    }
    return out;
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
        if (std::optional<RunOutcome> out = impl_->workers->try_run_inline(task)) {
            if (!out->ok()) throw Error(out->error, out->rknn_code);
            return std::move(out->outputs);
        }
    }
    RunFuture future = submit(inputs, borrowed);
    wait_interruptible(future, options.interrupted, options.label);
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
        wait_interruptible(f, options.interrupted, options.label);
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
