// A heap buffer with cache-line alignment: arenas, folded constants and re-aligned weights live in these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

namespace ezemu::kernels {

inline constexpr size_t kBufferAlignment = 64;

inline size_t align_up(size_t n, size_t a = kBufferAlignment) { return (n + a - 1) / a * a; }

// Hands out consecutive aligned pieces of a kernel's scratch block, each align_up(count * sizeof(T)) bytes, in the
// order the kernel's scratch_bytes() counted them.
class ScratchCursor {
public:
    explicit ScratchCursor(void* base) : next_(static_cast<unsigned char*>(base)) {}
    template <class T>
    T* take(size_t count) {
        T* piece = reinterpret_cast<T*>(next_);
        next_ += align_up(count * sizeof(T));
        return piece;
    }

private:
    unsigned char* next_;
};

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t size)
        : data_(size ? static_cast<uint8_t*>(::operator new(size, std::align_val_t{kBufferAlignment})) : nullptr),
          size_(size) {}
    AlignedBuffer(const void* src, size_t size) : AlignedBuffer(size) {
        if (size) std::memcpy(data_.get(), src, size);
    }

    uint8_t* data() { return data_.get(); }
    const uint8_t* data() const { return data_.get(); }
    size_t size() const { return size_; }

private:
    struct Free {
        void operator()(uint8_t* p) const { ::operator delete(p, std::align_val_t{kBufferAlignment}); }
    };
    std::unique_ptr<uint8_t, Free> data_;
    size_t size_ = 0;
};

}  // namespace ezemu::kernels
