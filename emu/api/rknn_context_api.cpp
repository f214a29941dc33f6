// Context lifetime: rknn_init, rknn_dup_context, rknn_destroy, and the per-context core settings.
#include <cstdio>
#include <string>

#include "api/api_guard.hpp"
#include "api/log.hpp"
#include "api/runtime_version.hpp"
#include "npu/c_enum.hpp"
#include "npu/fault_injector.hpp"
#include "npu/loaded_model.hpp"
#include "npu/model_buffer_memory.hpp"
#include "npu/model_bytes.hpp"
#include "npu/model_metadata.hpp"
#include "npu/platform.hpp"
#include "npu/timing_model.hpp"

using ezemu::npu::RknnError;

namespace {

// Flags whose contract needs machinery the emulator does not have yet (fences). Accepting them silently would break
// the caller's assumptions.
struct UnsupportedFlag {
    uint32_t bit;
    const char* name;
};
constexpr UnsupportedFlag kUnsupportedFlags[] = {
    {RKNN_FLAG_FENCE_IN_OUTSIDE, "RKNN_FLAG_FENCE_IN_OUTSIDE"},
    {RKNN_FLAG_FENCE_OUT_OUTSIDE, "RKNN_FLAG_FENCE_OUT_OUTSIDE"},
};

// Flags that change nothing observable on a CPU: priorities, perf collection, SRAM, cache flushing, GPU fallback,
// the vendor's non-functional async mode, and info-only contexts (which the emulator makes fully usable).
constexpr uint32_t kHarmlessFlags = RKNN_FLAG_PRIOR_MEDIUM | RKNN_FLAG_PRIOR_LOW | RKNN_FLAG_ASYNC_MASK |
                                    RKNN_FLAG_COLLECT_PERF_MASK | RKNN_FLAG_COLLECT_MODEL_INFO_ONLY |
                                    RKNN_FLAG_EXECUTE_FALLBACK_PRIOR_DEVICE_GPU | RKNN_FLAG_ENABLE_SRAM |
                                    RKNN_FLAG_SHARE_SRAM | RKNN_FLAG_DISABLE_PROC_HIGH_PRIORITY |
                                    RKNN_FLAG_DISABLE_FLUSH_INPUT_MEM_CACHE | RKNN_FLAG_DISABLE_FLUSH_OUTPUT_MEM_CACHE;

// Zero-copy flags, handled by rknn_init with the memory API (rknn_memory_api.cpp).
constexpr uint32_t kOutsideMemoryFlags =
    RKNN_FLAG_MEM_ALLOC_OUTSIDE | RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE | RKNN_FLAG_MODEL_BUFFER_ZERO_COPY;

void check_init_flags(uint32_t flags)
{
    uint32_t known = kHarmlessFlags | RKNN_FLAG_SHARE_WEIGHT_MEM  // the weight master is found by rknn_init
                     | kOutsideMemoryFlags;
    for (const UnsupportedFlag& f : kUnsupportedFlags) {
        if (flags & f.bit) {
            throw RknnError(RKNN_ERR_FAIL, std::string("flag ") + f.name +
                                               " is not implemented by the ezrknn emulator yet; call rknn_init "
                                               "without it");
        }
        known |= f.bit;
    }
    if (flags & ~known) {
        char bits[16];
        std::snprintf(bits, sizeof bits, "0x%x", flags & ~known);
        ezemu::api::log_line(ezemu::api::LogLevel::Warning,
                             std::string("rknn_init: ignoring unknown flag bits ") + bits);
    }
}

// RKNN_FLAG_SHARE_WEIGHT_MEM: the model of the live context in extend->ctx, whose weights the new (remove_weight)
// model uses by name. Null without the flag.
std::shared_ptr<const ezemu::npu::LoadedModel> weight_master(uint32_t flags, const rknn_init_extend* extend)
{
    if (!(flags & RKNN_FLAG_SHARE_WEIGHT_MEM)) return nullptr;
    if (!extend) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "RKNN_FLAG_SHARE_WEIGHT_MEM needs extend->ctx = the master context, "
                                                "but extend is NULL");
    }
    if (extend->ctx == 0) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "RKNN_FLAG_SHARE_WEIGHT_MEM needs extend->ctx = the master context, "
                                                "but extend->ctx is 0: init the master first and pass its context");
    }
    const auto master = ezemu::npu::ContextRegistry::instance().find(static_cast<uint64_t>(extend->ctx));
    if (master) {
        std::lock_guard<std::mutex> lock(master->mutex());
        if (!master->destroyed()) return master->shared_model();
    }
    throw RknnError(RKNN_ERR_CTX_INVALID, "RKNN_FLAG_SHARE_WEIGHT_MEM: extend->ctx " +
                                              std::to_string(static_cast<uint64_t>(extend->ctx)) +
                                              " is not a live context (never created, or already destroyed); pass "
                                              "the master context while it is alive");
}

std::string describe_dims(const rknn_tensor_attr& a)
{
    std::string text = "[";
    for (uint32_t i = 0; i < a.n_dims; ++i) {
        if (i) text += ',';
        text += std::to_string(a.dims[i]);
    }
    text += ']';
    return text;
}

void log_model_information(const ezemu::npu::LoadedModel& model, uint64_t handle)
{
    using ezemu::api::LogLevel;
    using ezemu::api::log_line;
    if (!ezemu::api::log_enabled(LogLevel::Info)) return;
    const auto& meta = model.metadata();
    log_line(LogLevel::Info, std::string("RKNN Runtime Information, librknnrt version: ") +
                                 ezemu::api::runtime_api_version());
    log_line(LogLevel::Info, std::string("RKNN Driver Information, version: ") +
                                 ezemu::api::runtime_driver_version(model.platform()));
    log_line(LogLevel::Info,
             "RKNN Model Information, source: " + model.source() + ", framework name: ONNX, framework layout: NCHW, "
             "target platform: " + (meta.target_platform.empty() ? std::string("(not set)") : meta.target_platform) +
             ", emulated platform: " + std::string(model.platform().name) + ", numerics: " +
             (model.exact_fp32() ? "exact fp32" : "fp16 NPU") + ", model inference type: static_shape");
    for (const auto* group : {&model.inputs(), &model.outputs()}) {
        const bool inputs = group == &model.inputs();
        for (const auto& t : *group) {
            const rknn_tensor_attr& a = t.attr;
            log_line(LogLevel::Info, std::string(inputs ? "input " : "output ") + std::to_string(a.index) + ": '" +
                                         a.name + "' dims " + describe_dims(a) + " fmt " +
                                         get_format_string(a.fmt) + " type " + get_type_string(a.type) + " size " +
                                         std::to_string(a.size) + " size_with_stride " +
                                         std::to_string(a.size_with_stride));
        }
    }
    log_line(LogLevel::Info, "context " + std::to_string(handle) + " created");
}

}  // namespace

extern "C" {

EZEMU_EXPORT int rknn_init(rknn_context* context, void* model, uint32_t size, uint32_t flag,
                           rknn_init_extend* extend)
{
    return ezemu::api::guarded("rknn_init", [&]() -> int {
        ezemu::api::require_pointer(context, "context");
        *context = 0;
        ezemu::npu::apply_injected_fault("init");
        if (!model) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            size ? "model is NULL" : "model is NULL (with size 0 it must be a model file path)");
        }
        check_init_flags(flag);
        const ezemu::npu::Platform& platform = ezemu::npu::platform_from_environment();

        rknn_tensor_mem model_memory{};
        std::shared_ptr<const ezemu::npu::ModelBytes> bytes;
        if (flag & RKNN_FLAG_MODEL_BUFFER_ZERO_COPY) {
            bytes = ezemu::npu::view_model_in_memory(model, size, extend, model_memory);
        } else {
            bytes = size ? ezemu::npu::copy_model_buffer(model, size)
                         : ezemu::npu::map_model_file(std::string(static_cast<const char*>(model)));
            model_memory = ezemu::npu::describe_model_memory(*bytes);
        }
        ezemu::npu::LoadOptions options;
        options.platform = &platform;
        options.exact_fp32 = ezemu::npu::exact_fp32_from_environment();
        options.weight_master = weight_master(flag, extend);
        std::shared_ptr<const ezemu::npu::LoadedModel> loaded =
            ezemu::npu::LoadedModel::load(std::move(bytes), options);

        const std::string& target = loaded->metadata().target_platform;
        if (!target.empty() && target != platform.name) {
            // The vendor runtime refuses a model compiled for another SoC (rknn-api.md §7.1), and so does the emulator.
            throw RknnError(RKNN_ERR_TARGET_PLATFORM_UNMATCH,
                            "This rknn model is for " + target + ", but current platform is " +
                                std::string(platform.name) + "; set " + ezemu::npu::kPlatformEnv + "=" + target +
                                " to emulate that platform, or prepare the model with target_platform=" +
                                std::string(platform.name));
        }
        const ezemu::npu::LatencyModel latency = ezemu::npu::LatencyModel::select(
            loaded->compiled().model().metadata(ezemu::npu::kMetaLatencyUs), platform.core_count);

        auto ctx = std::make_shared<ezemu::npu::Context>(loaded);
        ctx->set_latency(latency);
        ctx->set_model_memory(model_memory);
        ctx->require_outside_memory((flag & RKNN_FLAG_MEM_ALLOC_OUTSIDE) != 0,
                                    (flag & (RKNN_FLAG_MEM_ALLOC_OUTSIDE | RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE)) != 0);
        if (flag & RKNN_FLAG_COLLECT_PERF_MASK) ctx->enable_perf_detail();
        const uint64_t handle = ezemu::npu::ContextRegistry::instance().add(std::move(ctx));
        *context = static_cast<rknn_context>(handle);
        log_model_information(*loaded, handle);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_dup_context(rknn_context* context_in, rknn_context* context_out)
{
    return ezemu::api::guarded("rknn_dup_context", [&]() -> int {
        ezemu::api::require_pointer(context_in, "context_in");
        ezemu::api::require_pointer(context_out, "context_out");
        std::shared_ptr<const ezemu::npu::LoadedModel> model;
        ezemu::npu::LatencyModel latency;
        bool perf_detail = false;
        rknn_tensor_mem model_memory{};
        {
            const auto source = ezemu::api::find_context(*context_in);
            std::lock_guard<std::mutex> lock(source->mutex());
            if (source->destroyed()) throw RknnError(RKNN_ERR_CTX_INVALID, "context_in was destroyed");
            model = source->shared_model();
            if (model->is_dynamic()) {
                throw RknnError(RKNN_ERR_FAIL, "a dynamic-shape model cannot be duplicated (rknn-api.md §7.2); "
                                               "call rknn_init again for another context");
            }
            latency = source->latency();
            perf_detail = source->perf_detail_enabled();
            model_memory = source->model_memory();
        }
        // The dup shares the loaded model, its latency and init flags; its execution state, inputs, outputs and
        // core mask are its own.
        auto ctx = std::make_shared<ezemu::npu::Context>(std::move(model));
        ctx->set_latency(latency);
        if (perf_detail) ctx->enable_perf_detail();
        ctx->set_model_memory(model_memory);
        *context_out = static_cast<rknn_context>(ezemu::npu::ContextRegistry::instance().add(std::move(ctx)));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_destroy(rknn_context context)
{
    return ezemu::api::guarded("rknn_destroy", [&]() -> int {
        std::shared_ptr<ezemu::npu::Context> ctx =
            ezemu::npu::ContextRegistry::instance().remove(static_cast<uint64_t>(context));
        if (!ctx) {
            throw RknnError(RKNN_ERR_CTX_INVALID, "context " + std::to_string(static_cast<uint64_t>(context)) +
                                                      " is not a live context (never created, or already destroyed)");
        }
        // Waits for a call in flight on another thread; the context is freed when the last reference goes.
        std::lock_guard<std::mutex> lock(ctx->mutex());
        ctx->mark_destroyed();
        ctx->custom_ops().release();  // the plugins' destroy callbacks run here, not when the last reference goes
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_core_mask(rknn_context context, rknn_core_mask core_mask)
{
    return ezemu::api::with_context("rknn_set_core_mask", context, [&](ezemu::npu::Context& ctx) -> int {
        ctx.set_core_mask(static_cast<uint32_t>(ezemu::npu::raw_enum(core_mask)));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_batch_core_num(rknn_context context, int core_num)
{
    return ezemu::api::with_context("rknn_set_batch_core_num", context, [&](ezemu::npu::Context& ctx) -> int {
        ctx.set_batch_core_num(core_num);
        return RKNN_SUCC;
    });
}

}  // extern "C"
