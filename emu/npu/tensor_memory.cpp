#include "npu/tensor_memory.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

constexpr uint64_t kPageSize = 4096;

std::string errno_text(int error) { return std::string(std::strerror(error)) + " (errno " + std::to_string(error) + ")"; }

[[noreturn]] void not_live(const rknn_tensor_mem* mem)
{
    char text[32];
    std::snprintf(text, sizeof text, "%p", static_cast<const void*>(mem));
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    std::string("mem ") + text +
                        " is not a live rknn_tensor_mem of this runtime (never returned by rknn_create_mem*, or "
                        "already destroyed)");
}

}  // namespace

// A guard page between ranges, so no two mems ever look adjacent.
uint64_t fake_dma_address(uint64_t size)
{
    static std::atomic<uint64_t> next{0x100000000ull};
    const uint64_t span = (size + 2 * kPageSize - 1) / kPageSize * kPageSize;
    return next.fetch_add(span);
}

uint32_t encode_memory_flags(uint32_t kind, uint64_t alloc_flags)
{
    uint64_t cache = alloc_flags & (RKNN_FLAG_MEMORY_CACHEABLE | RKNN_FLAG_MEMORY_NON_CACHEABLE |
                                    RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM);
    if ((cache & (RKNN_FLAG_MEMORY_CACHEABLE | RKNN_FLAG_MEMORY_NON_CACHEABLE)) == 0)
        cache |= RKNN_FLAG_MEMORY_CACHEABLE;  // DEFAULT means cacheable (§2)
    return (kind & kMemoryKindMask) | static_cast<uint32_t>(cache << kAllocFlagShift) |
           static_cast<uint32_t>(alloc_flags & RKNN_MEM_FLAG_ALLOC_NO_CONTEXT);
}

// --- MemoryStorage ---------------------------------------------------------------------------------------------

std::shared_ptr<MemoryStorage> MemoryStorage::allocate(size_t size)
{
    std::shared_ptr<MemoryStorage> s(new MemoryStorage());
    s->fd_ = memfd_create("ezrknn-tensor-mem", MFD_CLOEXEC);
    if (s->fd_ < 0) {
        const int error = errno;
        throw RknnError(RKNN_ERR_MALLOC_FAIL, "memfd_create failed: " + errno_text(error));
    }
    s->owns_fd_ = true;
    if (ftruncate(s->fd_, static_cast<off_t>(size)) != 0) {
        const int error = errno;
        throw RknnError(RKNN_ERR_MALLOC_FAIL,
                        "cannot size a " + std::to_string(size) + "-byte buffer: " + errno_text(error));
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd_, 0);
    if (p == MAP_FAILED) {
        const int error = errno;
        throw RknnError(RKNN_ERR_MALLOC_FAIL, "cannot map " + std::to_string(size) + " bytes: " + errno_text(error));
    }
    s->base_ = static_cast<unsigned char*>(p);
    s->length_ = size;
    s->owns_mapping_ = true;
    return s;
}

std::shared_ptr<MemoryStorage> MemoryStorage::map_fd(int fd, size_t length)
{
    void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        const int error = errno;
        throw RknnError(RKNN_ERR_PARAM_INVALID, "virt_addr is NULL and fd " + std::to_string(fd) +
                                                    " cannot be mapped read-write for " + std::to_string(length) +
                                                    " bytes: " + errno_text(error) +
                                                    "; pass the fd's mapping as virt_addr");
    }
    std::shared_ptr<MemoryStorage> s(new MemoryStorage());
    s->base_ = static_cast<unsigned char*>(p);
    s->length_ = length;
    s->owns_mapping_ = true;
    return s;
}

std::shared_ptr<MemoryStorage> MemoryStorage::borrow(void* base, size_t length)
{
    std::shared_ptr<MemoryStorage> s(new MemoryStorage());
    s->base_ = static_cast<unsigned char*>(base);
    s->length_ = length;
    return s;
}

MemoryStorage::~MemoryStorage()
{
    if (owns_mapping_ && base_) munmap(base_, length_);
    if (owns_fd_ && fd_ >= 0) close(fd_);
}

// --- TensorMemoryRegistry --------------------------------------------------------------------------------------

TensorMemoryRegistry& TensorMemoryRegistry::instance()
{
    // Never destroyed: mems may be destroyed from other static destructors at exit.
    static TensorMemoryRegistry* registry = new TensorMemoryRegistry();
    return *registry;
}

rknn_tensor_mem* TensorMemoryRegistry::add(std::unique_ptr<rknn_tensor_mem> mem,
                                          std::shared_ptr<MemoryStorage> storage, uint64_t owner)
{
    rknn_tensor_mem* raw = mem.get();
    std::lock_guard<std::mutex> lock(mutex_);
    live_.emplace(raw, Entry{std::move(mem), std::move(storage), owner});
    return raw;
}

rknn_tensor_mem* TensorMemoryRegistry::create(uint64_t owner, uint64_t size, uint64_t alloc_flags)
{
    if (size == 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "size is 0; ask for at least one byte");
    if (size > std::numeric_limits<uint32_t>::max()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "size " + std::to_string(size) +
                                                    " does not fit rknn_tensor_mem.size (32-bit); the largest mem "
                                                    "is 4294967295 bytes");
    }
    if (alloc_flags & ~kKnownAllocFlags) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "alloc_flags has unknown bits " + std::to_string(alloc_flags & ~kKnownAllocFlags) +
                            "; use RKNN_FLAG_MEMORY_CACHEABLE, _NON_CACHEABLE, _TRY_ALLOC_SRAM and "
                            "RKNN_MEM_FLAG_ALLOC_NO_CONTEXT");
    }
    if ((alloc_flags & RKNN_FLAG_MEMORY_CACHEABLE) && (alloc_flags & RKNN_FLAG_MEMORY_NON_CACHEABLE)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "alloc_flags asks for both RKNN_FLAG_MEMORY_CACHEABLE and RKNN_FLAG_MEMORY_NON_CACHEABLE");
    }
    std::shared_ptr<MemoryStorage> storage = MemoryStorage::allocate(static_cast<size_t>(size));
    auto mem = std::make_unique<rknn_tensor_mem>();
    mem->virt_addr = storage->base();
    mem->phys_addr = fake_dma_address(size);
    mem->fd = storage->fd();
    mem->offset = 0;
    mem->size = static_cast<uint32_t>(size);
    mem->flags = encode_memory_flags(RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE, alloc_flags);
    mem->priv_data = nullptr;
    return add(std::move(mem), std::move(storage), owner);
}

rknn_tensor_mem* TensorMemoryRegistry::wrap_fd(uint64_t owner, int32_t fd, void* virt_addr, uint32_t size,
                                               int32_t offset)
{
    if (fd < 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "fd " + std::to_string(fd) + " is not a file descriptor");
    if (size == 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "size is 0");
    if (offset < 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "offset " + std::to_string(offset) + " is negative");
    struct stat st{};
    if (fstat(fd, &st) != 0) {
        const int error = errno;
        throw RknnError(RKNN_ERR_PARAM_INVALID, "fd " + std::to_string(fd) + " is not open: " + errno_text(error));
    }
    const size_t end = static_cast<size_t>(offset) + size;
    // A regular file or memfd tells its size; an fd shorter than offset + size would fault on access.
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < end) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "fd " + std::to_string(fd) + " holds " +
                                                    std::to_string(st.st_size) + " bytes, fewer than offset " +
                                                    std::to_string(offset) + " + size " + std::to_string(size));
    }
    std::shared_ptr<MemoryStorage> storage =
        virt_addr ? MemoryStorage::borrow(virt_addr, end) : MemoryStorage::map_fd(fd, end);
    auto mem = std::make_unique<rknn_tensor_mem>();
    mem->virt_addr = storage->base();
    mem->phys_addr = fake_dma_address(end);
    mem->fd = fd;
    mem->offset = offset;
    mem->size = size;
    mem->flags = encode_memory_flags(RKNN_TENSOR_MEMORY_FLAGS_FROM_FD, 0);
    mem->priv_data = nullptr;
    return add(std::move(mem), std::move(storage), owner);
}

rknn_tensor_mem* TensorMemoryRegistry::wrap_phys(uint64_t owner, uint64_t phys_addr, void* virt_addr,
                                                 uint32_t size)
{
    if (!virt_addr) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "virt_addr is NULL; the emulator has no physical memory and needs the CPU mapping of it");
    }
    if (size == 0) throw RknnError(RKNN_ERR_PARAM_INVALID, "size is 0");
    std::shared_ptr<MemoryStorage> storage = MemoryStorage::borrow(virt_addr, size);
    auto mem = std::make_unique<rknn_tensor_mem>();
    mem->virt_addr = virt_addr;
    mem->phys_addr = phys_addr;
    mem->fd = -1;
    mem->offset = 0;
    mem->size = size;
    mem->flags = encode_memory_flags(RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS, 0);
    mem->priv_data = nullptr;
    return add(std::move(mem), std::move(storage), owner);
}

void TensorMemoryRegistry::destroy(const rknn_tensor_mem* mem)
{
    std::shared_ptr<MemoryStorage> storage;  // released outside the lock: munmap and close take time
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto it = live_.find(mem);
        if (it == live_.end()) not_live(mem);
        storage = std::move(it->second.storage);
        live_.erase(it);
    }
}

const TensorMemoryRegistry::Entry& TensorMemoryRegistry::entry(const rknn_tensor_mem* mem) const
{
    const auto it = live_.find(mem);
    if (it == live_.end()) not_live(mem);
    return it->second;
}

MemoryView TensorMemoryRegistry::view_of(const Entry& e) const
{
    const rknn_tensor_mem& m = *e.mem;
    MemoryView v;
    v.storage = e.storage;
    v.mem = e.mem.get();
    if (m.virt_addr == nullptr || m.offset < 0) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "mem has virt_addr NULL or a negative offset; its fields were "
                                                "changed after rknn_create_mem*");
    }
    v.data = static_cast<unsigned char*>(m.virt_addr) + m.offset;
    v.size = m.size;
    if (e.storage->owned()) {
        const unsigned char* base = e.storage->base();
        if (v.data < base || v.data + v.size > base + e.storage->length()) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            "mem's virt_addr/offset/size point outside the memory the runtime allocated; its fields "
                            "were changed after rknn_create_mem*");
        }
    }
    return v;
}

MemoryView TensorMemoryRegistry::view(const rknn_tensor_mem* mem) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return view_of(entry(mem));
}

std::optional<MemoryView> TensorMemoryRegistry::find_containing(const void* address, size_t size) const
{
    const auto* p = static_cast<const unsigned char*>(address);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, e] : live_) {
        const rknn_tensor_mem& m = *e.mem;
        if (!m.virt_addr || m.offset < 0) continue;
        const auto* data = static_cast<const unsigned char*>(m.virt_addr) + m.offset;
        if (p >= data && p + size <= data + m.size) return view_of(e);
    }
    return std::nullopt;
}

uint64_t TensorMemoryRegistry::owner_of(const rknn_tensor_mem* mem) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return entry(mem).owner;
}

uint64_t TensorMemoryRegistry::allocated_bytes(uint64_t owner) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t total = 0;
    for (const auto& [key, e] : live_) {
        if (e.owner == owner && (e.mem->flags & kMemoryKindMask) == RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE)
            total += e.storage->length();
    }
    return total;
}

size_t TensorMemoryRegistry::live_count() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.size();
}

}  // namespace ezemu::npu
