// Cursor over protobuf wire-format bytes: keys, varints, fixed-width values and length-delimited spans. Every read
// is checked against the bytes left in the enclosing message, so truncated or hostile input ends in ParseError
// (naming the field and the byte offset in the whole buffer), never in a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "onnx_model.hpp"

namespace ezemu::onnx::wire {

enum class WireType : uint8_t {
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
};

// Bytes of one length-delimited field; the pointer stays inside the buffer the reader was built on.
struct Span {
    const uint8_t* data = nullptr;
    size_t size = 0;
};

struct Key {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    size_t offset = 0;  // of the key itself, for error messages
};

[[noreturn]] void throw_parse_error(size_t offset, const char* field, const std::string& what);

class WireReader {
public:
    // `base` is the start of the whole buffer: offsets in errors count from it, so nested messages report where in
    // the file the problem is. `message` names the message being read ("GraphProto").
    WireReader(const uint8_t* base, Span span, const char* message)
        : base_(base), pos_(span.data), end_(span.data + span.size), message_(message) {}

    bool done() const { return pos_ == end_; }
    size_t offset() const { return static_cast<size_t>(pos_ - base_); }
    size_t offset_of(const uint8_t* p) const { return static_cast<size_t>(p - base_); }
    const uint8_t* base() const { return base_; }
    const char* message() const { return message_; }

    Key read_key();

    uint64_t read_varint(const char* field) {
        if (pos_ != end_ && *pos_ < 0x80) return *pos_++;
        return read_varint_slow(field);
    }
    uint32_t read_fixed32(const char* field) {
        need(4, field);
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(pos_[i]) << (8 * i);
        pos_ += 4;
        return v;
    }
    uint64_t read_fixed64(const char* field) {
        need(8, field);
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(pos_[i]) << (8 * i);
        pos_ += 8;
        return v;
    }
    Span read_length_delimited(const char* field);
    std::string read_string(const char* field) {
        Span s = read_length_delimited(field);
        return std::string(reinterpret_cast<const char*>(s.data), s.size);
    }

    // A singular field of a known wire type: checks the wire type, then reads the value.
    Span bytes_field(const Key& key, const char* field) {
        expect(key, WireType::LengthDelimited, field);
        return read_length_delimited(field);
    }
    std::string string_field(const Key& key, const char* field) {
        expect(key, WireType::LengthDelimited, field);
        return read_string(field);
    }
    // int64 and int32 fields are varints; a negative int32 is sign-extended to ten bytes, so truncation is exact.
    int64_t int64_field(const Key& key, const char* field) {
        expect(key, WireType::Varint, field);
        return static_cast<int64_t>(read_varint(field));
    }
    int32_t int32_field(const Key& key, const char* field) {
        expect(key, WireType::Varint, field);
        return static_cast<int32_t>(read_varint(field));
    }

    // Skips the value of a field this reader does not know.
    void skip(const Key& key);
    // Throws unless `key` has wire type `type`: a known field with the wrong wire type is a malformed message.
    void expect(const Key& key, WireType type, const char* field) const;

    [[noreturn]] void fail(size_t at, const char* field, const std::string& what) const {
        throw_parse_error(at, field, what);
    }

private:
    void need(size_t n, const char* field) const {
        if (static_cast<size_t>(end_ - pos_) < n) {
            fail(offset(), field,
                 "truncated: needs " + std::to_string(n) + " bytes, " + std::to_string(end_ - pos_) + " left");
        }
    }
    uint64_t read_varint_slow(const char* field);

    const uint8_t* base_;
    const uint8_t* pos_;
    const uint8_t* end_;
    const char* message_;
};

// Repeated scalars arrive packed (one length-delimited field holding the values back to back) or unpacked (one
// field per value); these accept both and call `emit` once per value.
template <class Emit>
void for_each_varint(WireReader& r, const Key& key, const char* field, Emit&& emit) {
    if (key.type == WireType::Varint) {
        emit(r.read_varint(field));
    } else if (key.type == WireType::LengthDelimited) {
        WireReader packed(r.base(), r.read_length_delimited(field), r.message());
        while (!packed.done()) emit(packed.read_varint(field));
    } else {
        r.expect(key, WireType::Varint, field);
    }
}

template <class Emit>
void for_each_fixed32(WireReader& r, const Key& key, const char* field, Emit&& emit) {
    if (key.type == WireType::Fixed32) {
        emit(r.read_fixed32(field));
    } else if (key.type == WireType::LengthDelimited) {
        Span s = r.read_length_delimited(field);
        if (s.size % 4 != 0) {
            r.fail(r.offset_of(s.data), field, "packed fixed32 length " + std::to_string(s.size) + " is not a multiple of 4");
        }
        WireReader packed(r.base(), s, r.message());
        while (!packed.done()) emit(packed.read_fixed32(field));
    } else {
        r.expect(key, WireType::Fixed32, field);
    }
}

template <class Emit>
void for_each_fixed64(WireReader& r, const Key& key, const char* field, Emit&& emit) {
    if (key.type == WireType::Fixed64) {
        emit(r.read_fixed64(field));
    } else if (key.type == WireType::LengthDelimited) {
        Span s = r.read_length_delimited(field);
        if (s.size % 8 != 0) {
            r.fail(r.offset_of(s.data), field, "packed fixed64 length " + std::to_string(s.size) + " is not a multiple of 8");
        }
        WireReader packed(r.base(), s, r.message());
        while (!packed.done()) emit(packed.read_fixed64(field));
    } else {
        r.expect(key, WireType::Fixed64, field);
    }
}

inline float float_from_bits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

}  // namespace ezemu::onnx::wire
