// Zero-copy memory of the emulated NPU (rknn-api.md §7.10): rknn_tensor_mem structs handed to callers, the
// storage behind them, and the registry of live mems that makes a double or made-up destroy an error instead of
// a crash. Memory the emulator allocates is a memfd mapping, so the fd of a mem is real: mmap of it shows the
// same bytes as virt_addr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "rknn/rknn_api.h"

namespace ezemu::npu {

// rknn_tensor_mem.flags of the emulator: the RKNN_TENSOR_MEMORY_FLAGS_* kind in the low 8 bits, the
// rknn_create_mem2 alloc flags CACHEABLE / NON_CACHEABLE / TRY_ALLOC_SRAM shifted left by 8 (0x100, 0x200,
// 0x400; DEFAULT is recorded as CACHEABLE, its meaning), and RKNN_MEM_FLAG_ALLOC_NO_CONTEXT at its own bit.
inline constexpr uint32_t kMemoryKindMask = 0xff;
inline constexpr uint32_t kAllocFlagShift = 8;
inline constexpr uint64_t kKnownAllocFlags = RKNN_FLAG_MEMORY_CACHEABLE | RKNN_FLAG_MEMORY_NON_CACHEABLE |
                                             RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM | RKNN_MEM_FLAG_ALLOC_NO_CONTEXT;
uint32_t encode_memory_flags(uint32_t kind, uint64_t alloc_flags);

// A made-up DMA address for `size` bytes: unique, non-zero, page aligned (there is no physical memory on a PC).
uint64_t fake_dma_address(uint64_t size);

// Bytes behind one or more mems. Owned storage (a memfd mapping the emulator made, or its own mapping of a
// caller's fd) is released when the last holder lets go; borrowed storage is the caller's. Bindings hold it
// shared, so destroying a mem that is still bound cannot leave a context reading freed memory.
class MemoryStorage {
public:
    // memfd_create + ftruncate + mmap. Throws RknnError(RKNN_ERR_MALLOC_FAIL) with errno's text.
    static std::shared_ptr<MemoryStorage> allocate(size_t size);
    // mmap of a caller's fd (which stays the caller's). Throws RknnError(RKNN_ERR_PARAM_INVALID).
    static std::shared_ptr<MemoryStorage> map_fd(int fd, size_t length);
    // Caller memory the emulator only points at.
    static std::shared_ptr<MemoryStorage> borrow(void* base, size_t length);

    ~MemoryStorage();
    MemoryStorage(const MemoryStorage&) = delete;
    MemoryStorage& operator=(const MemoryStorage&) = delete;

    unsigned char* base() const { return base_; }
    size_t length() const { return length_; }
    int fd() const { return fd_; }  // the memfd of allocated storage; -1 otherwise
    bool owned() const { return owns_mapping_; }

private:
    MemoryStorage() = default;
    unsigned char* base_ = nullptr;
    size_t length_ = 0;
    int fd_ = -1;
    bool owns_mapping_ = false;
    bool owns_fd_ = false;
};

// The bytes a live mem describes: virt_addr + offset, size bytes.
struct MemoryView {
    std::shared_ptr<MemoryStorage> storage;
    unsigned char* data = nullptr;
    size_t size = 0;
    const rknn_tensor_mem* mem = nullptr;
};

class TensorMemoryRegistry {
public:
    static TensorMemoryRegistry& instance();

    // rknn_create_mem / rknn_create_mem2. `owner` is the context handle, 0 with RKNN_MEM_FLAG_ALLOC_NO_CONTEXT.
    // Throws RknnError: PARAM_INVALID for size 0, sizes over 4 GiB − 1 (rknn_tensor_mem.size is 32-bit) and
    // unknown alloc flags; MALLOC_FAIL when the system refuses.
    rknn_tensor_mem* create(uint64_t owner, uint64_t size, uint64_t alloc_flags);
    // rknn_create_mem_from_fd: data at virt_addr + offset. A NULL virt_addr makes the emulator map the fd itself.
    rknn_tensor_mem* wrap_fd(uint64_t owner, int32_t fd, void* virt_addr, uint32_t size, int32_t offset);
    // rknn_create_mem_from_phys: no physical memory on a PC, so virt_addr (required) is the storage.
    rknn_tensor_mem* wrap_phys(uint64_t owner, uint64_t phys_addr, void* virt_addr, uint32_t size);

    // Frees the struct and emulator-owned storage (once no binding holds it). Throws
    // RknnError(RKNN_ERR_PARAM_INVALID) for a mem that is not live.
    void destroy(const rknn_tensor_mem* mem);

    // The live mem's bytes. Throws RknnError(RKNN_ERR_PARAM_INVALID) for a mem that is not live, and for fields
    // a caller changed so that they point outside the emulator's own storage.
    MemoryView view(const rknn_tensor_mem* mem) const;
    // The live mem whose data contains [address, address + size), if any.
    std::optional<MemoryView> find_containing(const void* address, size_t size) const;
    // Owner context of a live mem (0 for NO_CONTEXT). Throws like view().
    uint64_t owner_of(const rknn_tensor_mem* mem) const;

    // Bytes of emulator-allocated memory created on context `owner`.
    uint64_t allocated_bytes(uint64_t owner) const;
    size_t live_count() const;

private:
    struct Entry {
        std::unique_ptr<rknn_tensor_mem> mem;
        std::shared_ptr<MemoryStorage> storage;
        uint64_t owner = 0;
    };
    rknn_tensor_mem* add(std::unique_ptr<rknn_tensor_mem> mem, std::shared_ptr<MemoryStorage> storage,
                         uint64_t owner);
    const Entry& entry(const rknn_tensor_mem* mem) const;  // expects mutex_ held
    MemoryView view_of(const Entry& e) const;

    mutable std::mutex mutex_;
    std::unordered_map<const rknn_tensor_mem*, Entry> live_;
};

}  // namespace ezemu::npu
