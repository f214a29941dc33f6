// Zero-copy memory (rknn-api.md §7.10): mems backed by memfd mappings, io/weight/internal bindings, cache sync.
// Dynamic shapes (§7.12) are not provided yet and fail cleanly so callers can fall back.
#include <string>

#include "api/api_guard.hpp"
#include "npu/c_enum.hpp"
#include "npu/fault_injector.hpp"
#include "npu/io_binding.hpp"
#include "npu/tensor_memory.hpp"

using ezemu::npu::RknnError;
using ezemu::npu::TensorMemoryRegistry;

namespace {

// guarded() for the functions that return a mem: NULL on failure, with the reason logged and kept as last error.
template <typename Body>
rknn_tensor_mem* guarded_mem(const char* function, Body&& body) noexcept
{
    rknn_tensor_mem* result = nullptr;
    ezemu::api::guarded(function, [&]() -> int {
        result = body();
        return RKNN_SUCC;
    });
    return result;
}

// Allocation does not lock the context: creating memory while another thread runs the same context is fine. A
// matmul context serves as well as a model context.
uint64_t live_context(rknn_context ctx)
{
    ezemu::api::require_live_handle(ctx);
    return static_cast<uint64_t>(ctx);
}

rknn_tensor_mem* create_mem(const char* function, rknn_context ctx, uint64_t size, uint64_t alloc_flags)
{
    return guarded_mem(function, [&]() {
        ezemu::npu::apply_injected_fault(std::string_view(function).substr(5));  // "create_mem" / "create_mem2"
        // RKNN_MEM_FLAG_ALLOC_NO_CONTEXT: memory of no context (ctx may be 0), destroyable with any context.
        const uint64_t owner = (alloc_flags & RKNN_MEM_FLAG_ALLOC_NO_CONTEXT) ? 0 : live_context(ctx);
        return TensorMemoryRegistry::instance().create(owner, size, alloc_flags);
    });
}

}  // namespace

extern "C" {

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem(rknn_context ctx, uint32_t size)
{
    return create_mem("rknn_create_mem", ctx, size, RKNN_FLAG_MEMORY_FLAGS_DEFAULT);
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem2(rknn_context ctx, uint64_t size, uint64_t alloc_flags)
{
    return create_mem("rknn_create_mem2", ctx, size, alloc_flags);
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_fd(rknn_context ctx, int32_t fd, void* virt_addr, uint32_t size,
                                                      int32_t offset)
{
    return guarded_mem("rknn_create_mem_from_fd", [&]() {
        return TensorMemoryRegistry::instance().wrap_fd(live_context(ctx), fd, virt_addr, size, offset);
    });
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_phys(rknn_context ctx, uint64_t phys_addr, void* virt_addr,
                                                        uint32_t size)
{
    return guarded_mem("rknn_create_mem_from_phys", [&]() {
        return TensorMemoryRegistry::instance().wrap_phys(live_context(ctx), phys_addr, virt_addr, size);
    });
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_mb_blk(rknn_context ctx, void* mb_blk, int32_t offset)
{
    (void)ctx, (void)mb_blk, (void)offset;
    ezemu::api::not_implemented("rknn_create_mem_from_mb_blk");  // "not implemented" in the vendor docs too
    return nullptr;
}

EZEMU_EXPORT int rknn_destroy_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    return ezemu::api::guarded("rknn_destroy_mem", [&]() -> int {
        ezemu::api::require_pointer(mem, "mem");
        TensorMemoryRegistry& registry = TensorMemoryRegistry::instance();
        // A mem that is not live is PARAM_INVALID before ctx is looked at. ctx 0 is accepted for any mem (and any
        // ctx for a NO_CONTEXT mem); another value must be a live context.
        const uint64_t owner = registry.owner_of(mem);
        if (ctx != 0 && owner != 0) live_context(ctx);
        registry.destroy(mem);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_weight_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    return ezemu::api::with_context("rknn_set_weight_mem", ctx, [&](ezemu::npu::Context& c) -> int {
        ezemu::api::require_pointer(mem, "mem");
        ezemu::npu::MemoryView view = TensorMemoryRegistry::instance().view(mem);
        const size_t needed = c.model().weight_bytes();
        if (view.size < needed) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "mem->size is " + std::to_string(view.size) +
                                                        " bytes, the model's weights need " + std::to_string(needed) +
                                                        " (RKNN_QUERY_MEM_SIZE total_weight_size)");
        }
        c.set_weight_memory(std::move(view));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_internal_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    return ezemu::api::with_context("rknn_set_internal_mem", ctx, [&](ezemu::npu::Context& c) -> int {
        ezemu::api::require_pointer(mem, "mem");
        ezemu::npu::MemoryView view = TensorMemoryRegistry::instance().view(mem);
        const size_t needed = c.model().internal_bytes();
        if (view.size < needed) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "mem->size is " + std::to_string(view.size) +
                                                        " bytes, the model's internal tensors need " +
                                                        std::to_string(needed) +
                                                        " (RKNN_QUERY_MEM_SIZE total_internal_size)");
        }
        c.set_internal_memory(std::move(view));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_io_mem(rknn_context ctx, rknn_tensor_mem* mem, rknn_tensor_attr* attr)
{
    return ezemu::api::with_context("rknn_set_io_mem", ctx, [&](ezemu::npu::Context& c) -> int {
        ezemu::api::require_pointer(mem, "mem");
        ezemu::api::require_pointer(attr, "attr");
        ezemu::npu::MemoryView view = TensorMemoryRegistry::instance().view(mem);
        c.bind_io_memory(
            ezemu::npu::bind_io_memory(c.inputs(), c.outputs(), c.model().platform(), *attr, std::move(view)));
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_input_shape(rknn_context ctx, rknn_tensor_attr* attr)
{
    return ezemu::api::with_context("rknn_set_input_shape", ctx, [&](ezemu::npu::Context& c) -> int {
        ezemu::api::require_pointer(attr, "attr");
        c.set_input_shape(*attr);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_set_input_shapes(rknn_context ctx, uint32_t n_inputs, rknn_tensor_attr attr[])
{
    return ezemu::api::with_context("rknn_set_input_shapes", ctx, [&](ezemu::npu::Context& c) -> int {
        ezemu::api::require_pointer(attr, "attr");
        c.set_input_shapes(n_inputs, attr);
        return RKNN_SUCC;
    });
}

// A CPU shares one coherent view of memory: after the checks there is nothing to flush or invalidate.
EZEMU_EXPORT int rknn_mem_sync(rknn_context context, rknn_tensor_mem* mem, rknn_mem_sync_mode mode)
{
    return ezemu::api::guarded("rknn_mem_sync", [&]() -> int {
        if (context != 0) live_context(context);  // ctx may be 0 (rknn-api.md §7.10)
        ezemu::api::require_pointer(mem, "mem");
        TensorMemoryRegistry::instance().view(mem);
        const int m = ezemu::npu::raw_enum(mode);
        if (m != RKNN_MEMORY_SYNC_TO_DEVICE && m != RKNN_MEMORY_SYNC_FROM_DEVICE &&
            m != RKNN_MEMORY_SYNC_BIDIRECTIONAL) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            "mode " + std::to_string(m) +
                                " is not a sync mode; use RKNN_MEMORY_SYNC_TO_DEVICE (1), _FROM_DEVICE (2) or "
                                "_BIDIRECTIONAL (3)");
        }
        return RKNN_SUCC;
    });
}

}  // extern "C"
