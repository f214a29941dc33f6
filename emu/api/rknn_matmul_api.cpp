// The NPU matmul API (rknn-api.md §6 functions 26–35, §7.14): C = A·B on a matmul context that lives in the same
// registry as model contexts. What each type computes, and which layouts the emulator provides, is in
// docs/emulator.md "Matmul API".
#include <memory>
#include <string>
#include <vector>

#include "api/api_guard.hpp"
#include "npu/c_enum.hpp"
#include "npu/matmul_context.hpp"
#include "npu/platform.hpp"
#include "npu/tensor_memory.hpp"
#include "rknn/rknn_matmul_api.h"

using ezemu::npu::MatmulContext;
using ezemu::npu::MatmulShape;
using ezemu::npu::RknnError;

namespace {

// Upper bound on the shapes of one dynamic-shape context: far above real use, low enough to refuse a garbage count.
constexpr int kMaxDynamicShapes = 4096;

// The checks shared by both create functions; returns the spec of info->type.
const ezemu::npu::MatmulTypeSpec& check_info(const rknn_matmul_info& info)
{
    const ezemu::npu::MatmulTypeSpec& spec = ezemu::npu::matmul_type_spec(ezemu::npu::raw_enum(info.type));
    ezemu::npu::check_matmul_layouts(info);
    return spec;
}

uint64_t register_context(const rknn_matmul_info& info, std::vector<MatmulShape> shapes)
{
    const ezemu::npu::Platform& platform = ezemu::npu::platform_from_environment();
    // Only the environment's latency applies: a matmul context has no model metadata.
    const ezemu::npu::LatencyModel latency = ezemu::npu::LatencyModel::select(nullptr, platform.core_count);
    auto context = std::make_shared<MatmulContext>(info, std::move(shapes), platform, latency);
    return ezemu::npu::ContextRegistry::instance().add_matmul(std::move(context));
}

MatmulShape shape_of(const rknn_matmul_shape& s) { return MatmulShape{s.M, s.K, s.N}; }

}  // namespace

extern "C" {

EZEMU_EXPORT int rknn_matmul_create(rknn_matmul_ctx* ctx, rknn_matmul_info* info, rknn_matmul_io_attr* io_attr)
{
    return ezemu::api::guarded("rknn_matmul_create", [&]() -> int {
        ezemu::api::require_pointer(ctx, "ctx");
        *ctx = 0;
        ezemu::api::require_pointer(info, "info");
        ezemu::api::require_pointer(io_attr, "io_attr");
        const ezemu::npu::MatmulTypeSpec& spec = check_info(*info);
        const MatmulShape shape{info->M, info->K, info->N};
        ezemu::npu::check_matmul_shape(shape, spec, "info");
        const uint64_t handle = register_context(*info, {shape});
        *io_attr = ezemu::npu::matmul_io_attr(spec, shape, info->B_layout);
        *ctx = static_cast<rknn_matmul_ctx>(handle);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_create_dynamic_shape(rknn_matmul_ctx* ctx, rknn_matmul_info* info, int shape_num,
                                                  rknn_matmul_shape dynamic_shapes[], rknn_matmul_io_attr io_attrs[])
{
    return ezemu::api::guarded("rknn_matmul_create_dynamic_shape", [&]() -> int {
        ezemu::api::require_pointer(ctx, "ctx");
        *ctx = 0;
        ezemu::api::require_pointer(info, "info");
        if (shape_num < 1 || shape_num > kMaxDynamicShapes) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "shape_num is " + std::to_string(shape_num) + "; give 1 to " +
                                                        std::to_string(kMaxDynamicShapes) + " shapes");
        }
        ezemu::api::require_pointer(dynamic_shapes, "dynamic_shapes");
        ezemu::api::require_pointer(io_attrs, "io_attrs");
        const ezemu::npu::MatmulTypeSpec& spec = check_info(*info);
        std::vector<MatmulShape> shapes;
        for (int i = 0; i < shape_num; ++i) {
            const MatmulShape shape = shape_of(dynamic_shapes[i]);
            ezemu::npu::check_matmul_shape(shape, spec, "dynamic_shapes[" + std::to_string(i) + "]");
            shapes.push_back(shape);
        }
        const uint64_t handle = register_context(*info, shapes);
        for (int i = 0; i < shape_num; ++i) io_attrs[i] = ezemu::npu::matmul_io_attr(spec, shapes[i], info->B_layout);
        *ctx = static_cast<rknn_matmul_ctx>(handle);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_set_io_mem(rknn_matmul_ctx ctx, rknn_tensor_mem* mem, rknn_matmul_tensor_attr* attr)
{
    return ezemu::api::with_matmul_context("rknn_matmul_set_io_mem", ctx, [&](MatmulContext& c) -> int {
        ezemu::api::require_pointer(mem, "mem");
        ezemu::api::require_pointer(attr, "attr");
        c.bind(*attr, ezemu::npu::TensorMemoryRegistry::instance().view(mem));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_set_core_mask(rknn_matmul_ctx context, rknn_core_mask core_mask)
{
    return ezemu::api::with_matmul_context("rknn_matmul_set_core_mask", context, [&](MatmulContext& c) -> int {
        c.set_core_mask(static_cast<uint32_t>(ezemu::npu::raw_enum(core_mask)));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_set_quant_params(rknn_matmul_ctx context, rknn_quant_params* params)
{
    return ezemu::api::with_matmul_context("rknn_matmul_set_quant_params", context, [&](MatmulContext& c) -> int {
        ezemu::api::require_pointer(params, "params");
        c.set_quant_params(*params);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_get_quant_params(rknn_matmul_ctx ctx, rknn_quant_params* params, float* scale)
{
    return ezemu::api::with_matmul_context("rknn_matmul_get_quant_params", ctx, [&](MatmulContext& c) -> int {
        ezemu::api::require_pointer(params, "params");
        c.get_quant_params(*params, scale);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_set_dynamic_shape(rknn_matmul_ctx ctx, rknn_matmul_shape* shape)
{
    return ezemu::api::with_matmul_context("rknn_matmul_set_dynamic_shape", ctx, [&](MatmulContext& c) -> int {
        ezemu::api::require_pointer(shape, "shape");
        c.set_shape(shape_of(*shape));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_run(rknn_matmul_ctx ctx)
{
    return ezemu::api::with_matmul_context("rknn_matmul_run", ctx, [&](MatmulContext& c) -> int {
        c.run();
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_matmul_destroy(rknn_matmul_ctx ctx)
{
    return ezemu::api::guarded("rknn_matmul_destroy", [&]() -> int {
        std::shared_ptr<MatmulContext> c = ezemu::npu::ContextRegistry::instance().remove_matmul(
            static_cast<uint64_t>(ctx));
        if (!c) {
            throw RknnError(RKNN_ERR_CTX_INVALID, "context " + std::to_string(static_cast<uint64_t>(ctx)) +
                                                      " is not a live matmul context (never created, or already "
                                                      "destroyed)");
        }
        // Waits for a call in flight on another thread; the context is freed when the last reference goes.
        std::lock_guard<std::mutex> lock(c->mutex());
        c->mark_destroyed();
        return RKNN_SUCC;
    });
}

// The emulator provides no native matmul layout (rknn_matmul_create refuses RKNN_MM_LAYOUT_NATIVE), so there is
// nothing to convert into: after the argument checks this fails and says so.
EZEMU_EXPORT int rknn_B_normal_layout_to_native_layout(void* B_input, void* B_output, int K, int N,
                                                       rknn_matmul_info* info)
{
    return ezemu::api::guarded("rknn_B_normal_layout_to_native_layout", [&]() -> int {
        ezemu::api::require_pointer(B_input, "B_input");
        ezemu::api::require_pointer(B_output, "B_output");
        ezemu::api::require_pointer(info, "info");
        const ezemu::npu::MatmulTypeSpec& spec = ezemu::npu::matmul_type_spec(ezemu::npu::raw_enum(info->type));
        ezemu::npu::check_matmul_shape(MatmulShape{1, K, N}, spec, "K and N");
        throw RknnError(RKNN_ERR_FAIL, "the ezrknn emulator has no native matmul layout (its byte order is not "
                                       "documented); keep B in RKNN_MM_LAYOUT_NORM or RKNN_MM_LAYOUT_TP_NORM and "
                                       "pass it to rknn_matmul_set_io_mem as it is");
    });
}

}  // extern "C"
