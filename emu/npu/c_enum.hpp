// C callers may put any int into an enum-typed parameter or struct field. C++ must not load a value outside the
// enum's range (undefined behaviour, flagged by UBSan), so such values are read as their bytes and checked as ints.
#pragma once

#include <cstring>

namespace ezemu::npu {

template <typename Enum>
int raw_enum(const Enum& value)
{
    static_assert(sizeof(Enum) == sizeof(int), "RKNN enums are 4 bytes (rknn-api.md §1)");
    int raw;
    std::memcpy(&raw, &value, sizeof raw);
    return raw;
}

}  // namespace ezemu::npu
