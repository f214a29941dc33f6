#include "protobuf_wire.hpp"

namespace ezemu::onnx::wire {

void throw_parse_error(size_t offset, const char* field, const std::string& what) {
    throw ParseError("ONNX parse error at byte " + std::to_string(offset) + " in " + field + ": " + what);
}

uint64_t WireReader::read_varint_slow(const char* field) {
    const size_t start = offset();
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
        if (pos_ == end_) fail(start, field, "truncated varint");
        const uint8_t byte = *pos_++;
        value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
        if (byte < 0x80) {
            // The tenth byte may hold only bit 63; more means garbage, not an int64.
            if (i == 9 && byte > 1) break;
            return value;
        }
    }
    fail(start, field, "varint overflows 64 bits (or is longer than 10 bytes)");
}

Key WireReader::read_key() {
    Key key;
    key.offset = offset();
    const uint64_t raw = read_varint(message_);
    if (raw > 0xffffffffu) fail(key.offset, message_, "field key does not fit in 32 bits");
    key.field = static_cast<uint32_t>(raw >> 3);
    const uint32_t type = static_cast<uint32_t>(raw & 7);
    if (key.field == 0) fail(key.offset, message_, "field number 0");
    if (type > 5) fail(key.offset, message_, "invalid wire type " + std::to_string(type) + " for field " + std::to_string(key.field));
    key.type = static_cast<WireType>(type);
    return key;
}

Span WireReader::read_length_delimited(const char* field) {
    const size_t at = offset();
    const uint64_t len = read_varint(field);
    const auto left = static_cast<uint64_t>(end_ - pos_);
    // Compared as 64-bit before any pointer arithmetic, so a hostile length cannot wrap.
    if (len > left) {
        fail(at, field, "length " + std::to_string(len) + " exceeds the " + std::to_string(left) + " bytes left");
    }
    Span s{pos_, static_cast<size_t>(len)};
    pos_ += s.size;
    return s;
}

void WireReader::skip(const Key& key) {
    switch (key.type) {
        case WireType::Varint: read_varint(message_); return;
        case WireType::Fixed64: need(8, message_); pos_ += 8; return;
        case WireType::Fixed32: need(4, message_); pos_ += 4; return;
        case WireType::LengthDelimited: read_length_delimited(message_); return;
        case WireType::StartGroup:
        case WireType::EndGroup: break;
    }
    // ONNX never uses groups; refusing them keeps skipping non-recursive.
    fail(key.offset, message_, "field " + std::to_string(key.field) + " uses a group wire type, which ONNX does not use");
}

void WireReader::expect(const Key& key, WireType type, const char* field) const {
    if (key.type != type) {
        fail(key.offset, field,
             "wire type " + std::to_string(static_cast<int>(key.type)) + ", expected " +
                 std::to_string(static_cast<int>(type)));
    }
}

}  // namespace ezemu::onnx::wire
