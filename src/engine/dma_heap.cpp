// DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/system. The ioctl is declared here: build images may lack
// linux/dma-heap.h (anchor-behaviour.md §13, 935b30c).
#include "dma_heap.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {
namespace {

struct HeapAllocation {
    uint64_t len;
    uint32_t fd;
    uint32_t fd_flags;
    uint64_t heap_flags;
};
constexpr unsigned long kDmaHeapAlloc = _IOWR('H', 0x0, HeapAllocation);
constexpr const char* kHeapPath = "/dev/dma_heap/system";

[[noreturn]] void fail(const std::string& step, int err) {
    throw Error(std::string("dma-buf allocation from ") + kHeapPath + " failed (" + step +
                "): " + std::error_code(err, std::generic_category()).message() +
                "; this librknnrt lacks rknn_create_mem2, so zero copy needs the system dma-heap");
}

}  // namespace

DmaHeapBuffer allocate_dma_heap(size_t size) {
    const int heap = ::open(kHeapPath, O_RDONLY | O_CLOEXEC);
    if (heap < 0) fail("open", errno);
    HeapAllocation req{};
    req.len = size;
    req.fd_flags = O_RDWR | O_CLOEXEC;
    const int ret = ::ioctl(heap, kDmaHeapAlloc, &req);
    const int err = errno;
    ::close(heap);
    if (ret < 0) fail("DMA_HEAP_IOCTL_ALLOC", err);
    DmaHeapBuffer buf;
    buf.fd = static_cast<int>(req.fd);
    buf.mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf.fd, 0);
    if (buf.mapping == MAP_FAILED) {
        const int map_err = errno;
        ::close(buf.fd);
        fail("mmap", map_err);
    }
    return buf;
}

}  // namespace ezrknn::detail
