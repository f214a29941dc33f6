// A buffer from /dev/dma_heap/system: the fallback for a vendor librknnrt without rknn_create_mem2.
#pragma once

#include <cstddef>

namespace ezrknn::detail {

struct DmaHeapBuffer {
    int fd = -1;
    void* mapping = nullptr;  // mmap of `size` bytes, read-write, shared
};

// Throws Error naming the device and errno when the heap is missing or refuses.
DmaHeapBuffer allocate_dma_heap(size_t size);

}  // namespace ezrknn::detail
