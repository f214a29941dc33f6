// Zero-copy memory and dynamic shapes (rknn-api.md §7.10, §7.12): not provided by the emulator yet. Each entry
// point fails cleanly so callers can fall back to the copying API.
#include "api/api_guard.hpp"

extern "C" {

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_phys(rknn_context ctx, uint64_t phys_addr, void* virt_addr,
                                                        uint32_t size)
{
    (void)ctx, (void)phys_addr, (void)virt_addr, (void)size;
    ezemu::api::not_implemented("rknn_create_mem_from_phys");
    return nullptr;
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_fd(rknn_context ctx, int32_t fd, void* virt_addr, uint32_t size,
                                                      int32_t offset)
{
    (void)ctx, (void)fd, (void)virt_addr, (void)size, (void)offset;
    ezemu::api::not_implemented("rknn_create_mem_from_fd");
    return nullptr;
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem_from_mb_blk(rknn_context ctx, void* mb_blk, int32_t offset)
{
    (void)ctx, (void)mb_blk, (void)offset;
    ezemu::api::not_implemented("rknn_create_mem_from_mb_blk");
    return nullptr;
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem(rknn_context ctx, uint32_t size)
{
    (void)ctx, (void)size;
    ezemu::api::not_implemented("rknn_create_mem");
    return nullptr;
}

EZEMU_EXPORT rknn_tensor_mem* rknn_create_mem2(rknn_context ctx, uint64_t size, uint64_t alloc_flags)
{
    (void)ctx, (void)size, (void)alloc_flags;
    ezemu::api::not_implemented("rknn_create_mem2");
    return nullptr;
}

EZEMU_EXPORT int rknn_destroy_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    (void)ctx, (void)mem;
    return ezemu::api::not_implemented("rknn_destroy_mem");
}

EZEMU_EXPORT int rknn_set_weight_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    (void)ctx, (void)mem;
    return ezemu::api::not_implemented("rknn_set_weight_mem");
}

EZEMU_EXPORT int rknn_set_internal_mem(rknn_context ctx, rknn_tensor_mem* mem)
{
    (void)ctx, (void)mem;
    return ezemu::api::not_implemented("rknn_set_internal_mem");
}

EZEMU_EXPORT int rknn_set_io_mem(rknn_context ctx, rknn_tensor_mem* mem, rknn_tensor_attr* attr)
{
    (void)ctx, (void)mem, (void)attr;
    return ezemu::api::not_implemented("rknn_set_io_mem");
}

EZEMU_EXPORT int rknn_set_input_shape(rknn_context ctx, rknn_tensor_attr* attr)
{
    (void)ctx, (void)attr;
    return ezemu::api::not_implemented("rknn_set_input_shape");
}

EZEMU_EXPORT int rknn_set_input_shapes(rknn_context ctx, uint32_t n_inputs, rknn_tensor_attr attr[])
{
    (void)ctx, (void)n_inputs, (void)attr;
    return ezemu::api::not_implemented("rknn_set_input_shapes");
}

EZEMU_EXPORT int rknn_mem_sync(rknn_context context, rknn_tensor_mem* mem, rknn_mem_sync_mode mode)
{
    (void)context, (void)mem, (void)mode;
    return ezemu::api::not_implemented("rknn_mem_sync");
}

}  // extern "C"
