// Session: loads a model into RKNN contexts and describes its tensors. Running it: session_submit.cpp.
#include "ezrknn/session.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>

#include "ezrknn/io_binding.hpp"
#include "input_validation.hpp"
#include "model_metadata.hpp"
#include "runtime_version.hpp"
#include "session_impl.hpp"

namespace ezrknn {

using detail::ContextPool;
using detail::InputBinding;
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

}  // namespace

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
bool Session::dynamic_shapes() const { return impl_->shape_sets.dynamic(); }

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

}  // namespace ezrknn
