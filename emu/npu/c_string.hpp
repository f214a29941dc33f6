// Filling the fixed char arrays of the RKNN structs (names, version strings, the custom string).
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace ezemu::npu {

// Copies at most capacity-1 bytes and always NUL-terminates; the rest of the array is zeroed, so no stale bytes
// of an earlier query survive behind the terminator.
inline void copy_c_string(char* dst, size_t capacity, std::string_view src)
{
    if (capacity == 0) return;
    const size_t n = src.size() < capacity - 1 ? src.size() : capacity - 1;
    std::memcpy(dst, src.data(), n);
    std::memset(dst + n, 0, capacity - n);
}

}  // namespace ezemu::npu
