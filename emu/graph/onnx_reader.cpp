// ONNX ModelProto / TensorProto reader on the protobuf wire format (field numbers from onnx.proto).
// A message that appears more than once is merged into the same object, as protobuf does; raw_data stays a view.
#include <bit>
#include <cstdio>
#include <cstring>
#include <string>

#include "onnx_model.hpp"
#include "protobuf_wire.hpp"

namespace ezemu::onnx {

using wire::Key;
using wire::Span;
using wire::WireReader;
using wire::WireType;

namespace {

// Graph → Node → Attribute → Graph costs three levels per subgraph, so 64 allows ~20 nested If/Loop bodies while
// a hostile chain of nested messages cannot exhaust the stack.
constexpr int kMaxDepth = 64;

// ONNX types newer than the DataType enum (float8, float8e8m0, int4, uint4, float4, int2, uint2). Their
// int32_data entries hold one byte each: a whole element or a packed group of 4-bit / 2-bit elements.
constexpr int32_t kFirstByteSizedNewType = 17;
constexpr int32_t kLastByteSizedNewType = 26;

struct Reader {
    const uint8_t* base;

    WireReader open(Span s, const char* message, int depth) const {
        if (depth > kMaxDepth) {
            wire::throw_parse_error(static_cast<size_t>(s.data - base), message,
                                    "messages nested deeper than " + std::to_string(kMaxDepth) + " levels");
        }
        return WireReader(base, s, message);
    }

    void string_entry(Span s, int depth, std::pair<std::string, std::string>& out) const {
        WireReader r = open(s, "StringStringEntryProto", depth);
        while (!r.done()) {
            const Key k = r.read_key();
            if (k.field == 1) {
                out.first = r.string_field(k, "StringStringEntryProto.key");
            } else if (k.field == 2) {
                out.second = r.string_field(k, "StringStringEntryProto.value");
            } else {
                r.skip(k);
            }
        }
    }

    void opset(Span s, int depth, OpsetImport& out) const {
        WireReader r = open(s, "OperatorSetIdProto", depth);
        while (!r.done()) {
            const Key k = r.read_key();
            if (k.field == 1) {
                out.domain = r.string_field(k, "OperatorSetIdProto.domain");
            } else if (k.field == 2) {
                out.version = r.int64_field(k, "OperatorSetIdProto.version");
            } else {
                r.skip(k);
            }
        }
    }

    void tensor(Span s, int depth, Tensor& t) const;
    void graph(Span s, int depth, Graph& g) const;
    void node(Span s, int depth, Node& n) const;
    void attribute(Span s, int depth, Attribute& a) const;
    void value_info(Span s, int depth, ValueInfo& v) const;
    void type(Span s, int depth, ValueInfo& v) const;
    void tensor_type(Span s, int depth, ValueInfo& v) const;
    void shape(Span s, int depth, ValueInfo& v) const;
    void dimension(Span s, int depth, Dim& d) const;
    void model(Span s, Model& m) const;
};

// --- TensorProto ------------------------------------------------------------------------------------------------

enum TensorField : uint32_t {
    kDims = 1,
    kDataType = 2,
    kSegment = 3,
    kFloatData = 4,
    kInt32Data = 5,
    kStringData = 6,
    kInt64Data = 7,
    kName = 8,
    kRawData = 9,
    kDoubleData = 10,
    kUint64Data = 11,
    kExternalData = 13,
    kDataLocation = 14,
};

const char* typed_field_name(uint32_t field) {
    switch (field) {
        case kFloatData: return "TensorProto.float_data";
        case kInt32Data: return "TensorProto.int32_data";
        case kInt64Data: return "TensorProto.int64_data";
        case kDoubleData: return "TensorProto.double_data";
        case kUint64Data: return "TensorProto.uint64_data";
        default: return "TensorProto";
    }
}

// Bytes each value of a typed repeated field occupies in the dense layout of `dt`; 0 when onnx.proto does not
// allow that field for that type.
size_t typed_field_width(uint32_t field, int32_t dt) {
    switch (field) {
        case kFloatData:
            return (dt == int32_t(DataType::Float) || dt == int32_t(DataType::Complex64)) ? 4 : 0;
        case kDoubleData:
            return (dt == int32_t(DataType::Double) || dt == int32_t(DataType::Complex128)) ? 8 : 0;
        case kInt64Data:
            return dt == int32_t(DataType::Int64) ? 8 : 0;
        case kUint64Data:
            if (dt == int32_t(DataType::Uint32)) return 4;
            return dt == int32_t(DataType::Uint64) ? 8 : 0;
        case kInt32Data:
            switch (static_cast<DataType>(dt)) {
                case DataType::Int32: return 4;
                case DataType::Int16:
                case DataType::Uint16:
                case DataType::Float16:
                case DataType::BFloat16: return 2;
                case DataType::Int8:
                case DataType::Uint8:
                case DataType::Bool: return 1;
                default: return (dt >= kFirstByteSizedNewType && dt <= kLastByteSizedNewType) ? 1 : 0;
            }
        default: return 0;
    }
}

void append_le(std::vector<uint8_t>& out, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Element count from dims, refusing negative dims and products that overflow int64.
int64_t checked_element_count(const std::vector<int64_t>& dims, size_t at) {
    for (int64_t d : dims) {
        if (d < 0) wire::throw_parse_error(at, "TensorProto.dims", "negative dimension " + std::to_string(d));
    }
    int64_t count = 1;
    for (int64_t d : dims) {
        if (d == 0) return 0;
    }
    for (int64_t d : dims) {
        if (__builtin_mul_overflow(count, d, &count)) {
            wire::throw_parse_error(at, "TensorProto.dims", "element count overflows int64");
        }
    }
    return count;
}

void Reader::tensor(Span s, int depth, Tensor& t) const {
    // Pass 1 reads everything but the typed payload: data_type may follow the data on the wire, and the payload
    // layout depends on it.
    WireReader r = open(s, "TensorProto", depth);
    const size_t at = r.offset();
    int32_t dt = 0;
    int64_t location = 0;
    bool has_raw = false;
    Span raw;
    uint32_t typed_fields = 0;  // bit per field number of typed payload fields that carry values
    while (!r.done()) {
        const Key k = r.read_key();
        switch (k.field) {
            case kDims:
                wire::for_each_varint(r, k, "TensorProto.dims",
                                      [&](uint64_t v) { t.dims.push_back(static_cast<int64_t>(v)); });
                break;
            case kDataType: dt = r.int32_field(k, "TensorProto.data_type"); break;
            case kSegment:  // a chunk of a larger tensor: its payload could never match dims
                r.fail(k.offset, "TensorProto.segment", "segmented tensors are not supported");
            case kName: t.name = r.string_field(k, "TensorProto.name"); break;
            case kRawData:
                raw = r.bytes_field(k, "TensorProto.raw_data");
                has_raw = true;
                break;
            case kStringData: t.strings.push_back(r.string_field(k, "TensorProto.string_data")); break;
            case kExternalData:
                string_entry(r.bytes_field(k, "TensorProto.external_data"), depth + 1,
                             t.external_data.emplace_back());
                break;
            case kDataLocation: location = r.int64_field(k, "TensorProto.data_location"); break;
            case kFloatData:
            case kInt32Data:
            case kInt64Data:
            case kDoubleData:
            case kUint64Data: {
                // An empty packed field carries no values; only fields with values count as a payload.
                if (k.type == WireType::LengthDelimited) {
                    if (r.read_length_delimited(typed_field_name(k.field)).size == 0) break;
                } else {
                    r.skip(k);
                }
                typed_fields |= 1u << k.field;
                break;
            }
            default:
                r.skip(k);
        }
    }
    t.data_type = static_cast<DataType>(dt);
    t.external = location == 1;
    const int payload_kinds = (has_raw ? 1 : 0) + std::popcount(typed_fields) + (t.strings.empty() ? 0 : 1);
    if (payload_kinds > 1) r.fail(at, "TensorProto", "tensor '" + t.name + "' has more than one data field");
    if (t.external) {
        if (payload_kinds != 0) {
            r.fail(at, "TensorProto.data_location", "tensor '" + t.name + "' is external but also carries data");
        }
        checked_element_count(t.dims, at);
        return;
    }
    if (has_raw) {
        if (t.data_type == DataType::String) {
            r.fail(at, "TensorProto.raw_data", "string tensor '" + t.name + "' cannot use raw_data");
        }
        t.raw = raw.data;
        t.raw_size = raw.size;
    } else if (typed_fields != 0) {
        const uint32_t field = static_cast<uint32_t>(std::countr_zero(typed_fields));
        const char* field_name = typed_field_name(field);
        const size_t width = typed_field_width(field, dt);
        if (width == 0) {
            r.fail(at, field_name, "not valid for tensor '" + t.name + "' of data_type " + data_type_name(t.data_type));
        }
        // Pass 2: decode the one typed field now that the element layout is known.
        WireReader p = open(s, "TensorProto", depth);
        while (!p.done()) {
            const Key k = p.read_key();
            if (k.field != field) {
                p.skip(k);
                continue;
            }
            if (field == kFloatData || field == kDoubleData) {
                // Packed IEEE values on the wire already are the dense little-endian layout.
                if (k.type == WireType::LengthDelimited) {
                    const Span v = p.read_length_delimited(field_name);
                    if (v.size % width != 0) {
                        p.fail(p.offset_of(v.data), field_name,
                               "packed length " + std::to_string(v.size) + " is not a multiple of " +
                                   std::to_string(width));
                    }
                    t.owned.insert(t.owned.end(), v.data, v.data + v.size);
                } else if (field == kFloatData) {
                    p.expect(k, WireType::Fixed32, field_name);
                    append_le(t.owned, p.read_fixed32(field_name), 4);
                } else {
                    p.expect(k, WireType::Fixed64, field_name);
                    append_le(t.owned, p.read_fixed64(field_name), 8);
                }
            } else {
                wire::for_each_varint(p, k, field_name, [&](uint64_t v) { append_le(t.owned, v, width); });
            }
        }
    }
    const int64_t count = checked_element_count(t.dims, at);
    if (t.data_type == DataType::String) {
        if (static_cast<uint64_t>(count) != t.strings.size()) {
            r.fail(at, "TensorProto.string_data",
                   "tensor '" + t.name + "' has " + std::to_string(t.strings.size()) + " strings for " +
                       std::to_string(count) + " elements");
        }
        return;
    }
    if (!t.strings.empty()) {
        r.fail(at, "TensorProto.string_data", "tensor '" + t.name + "' of data_type " + data_type_name(t.data_type) +
                                                  " cannot hold strings");
    }
    const size_t elem = data_type_size(t.data_type);
    if (elem == 0) return;  // sub-byte and unknown types: the executor decides what it can use
    uint64_t expected = 0;
    const bool overflow =
        __builtin_mul_overflow(static_cast<uint64_t>(count), static_cast<uint64_t>(elem), &expected);
    if (overflow || expected != t.byte_size()) {
        r.fail(at, has_raw ? "TensorProto.raw_data" : "TensorProto",
               "tensor '" + t.name + "' holds " + std::to_string(t.byte_size()) + " bytes, but " +
                   std::to_string(count) + " elements of " + data_type_name(t.data_type) + " need " +
                   (overflow ? std::string("more than 2^64") : std::to_string(expected)));
    }
}

// --- ValueInfoProto / TypeProto ---------------------------------------------------------------------------------

void Reader::dimension(Span s, int depth, Dim& d) const {
    WireReader r = open(s, "TensorShapeProto.Dimension", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        // dim_value and dim_param are a oneof: the later one on the wire wins.
        if (k.field == 1) {
            d.value = r.int64_field(k, "Dimension.dim_value");
            d.param.clear();
        } else if (k.field == 2) {
            d.param = r.string_field(k, "Dimension.dim_param");
            d.value = -1;
        } else {
            r.skip(k);
        }
    }
}

void Reader::shape(Span s, int depth, ValueInfo& v) const {
    WireReader r = open(s, "TensorShapeProto", depth);
    v.has_shape = true;
    while (!r.done()) {
        const Key k = r.read_key();
        if (k.field == 1) {
            dimension(r.bytes_field(k, "TensorShapeProto.dim"), depth + 1, v.dims.emplace_back());
        } else {
            r.skip(k);
        }
    }
}

void Reader::tensor_type(Span s, int depth, ValueInfo& v) const {
    WireReader r = open(s, "TypeProto.Tensor", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        if (k.field == 1) {
            v.elem_type = static_cast<DataType>(r.int32_field(k, "TypeProto.Tensor.elem_type"));
        } else if (k.field == 2) {
            shape(r.bytes_field(k, "TypeProto.Tensor.shape"), depth + 1, v);
        } else {
            r.skip(k);
        }
    }
}

void Reader::type(Span s, int depth, ValueInfo& v) const {
    WireReader r = open(s, "TypeProto", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        if (k.field == 1) {
            v.has_tensor_type = true;
            tensor_type(r.bytes_field(k, "TypeProto.tensor_type"), depth + 1, v);
        } else if (k.field == 4 || k.field == 5 || k.field == 7 || k.field == 8 || k.field == 9) {
            // sequence, map, opaque, sparse tensor, optional: the other members of the `value` oneof.
            r.skip(k);
            v.has_tensor_type = false;
            v.elem_type = DataType::Undefined;
            v.has_shape = false;
            v.dims.clear();
        } else {
            r.skip(k);
        }
    }
}

void Reader::value_info(Span s, int depth, ValueInfo& v) const {
    WireReader r = open(s, "ValueInfoProto", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        if (k.field == 1) {
            v.name = r.string_field(k, "ValueInfoProto.name");
        } else if (k.field == 2) {
            type(r.bytes_field(k, "ValueInfoProto.type"), depth + 1, v);
        } else {
            r.skip(k);
        }
    }
}

// --- AttributeProto / NodeProto / GraphProto --------------------------------------------------------------------

void Reader::attribute(Span s, int depth, Attribute& a) const {
    WireReader r = open(s, "AttributeProto", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        switch (k.field) {
            case 1: a.name = r.string_field(k, "AttributeProto.name"); break;
            case 2:
                r.expect(k, WireType::Fixed32, "AttributeProto.f");
                a.f = wire::float_from_bits(r.read_fixed32("AttributeProto.f"));
                break;
            case 3: a.i = r.int64_field(k, "AttributeProto.i"); break;
            case 4: a.s = r.string_field(k, "AttributeProto.s"); break;
            case 5:
                a.t = Tensor{};
                tensor(r.bytes_field(k, "AttributeProto.t"), depth + 1, a.t);
                break;
            case 6:
                if (!a.g) a.g = std::make_shared<Graph>();
                graph(r.bytes_field(k, "AttributeProto.g"), depth + 1, *a.g);
                break;
            case 7:
                wire::for_each_fixed32(r, k, "AttributeProto.floats",
                                       [&](uint32_t bits) { a.floats.push_back(wire::float_from_bits(bits)); });
                break;
            case 8:
                wire::for_each_varint(r, k, "AttributeProto.ints",
                                      [&](uint64_t v) { a.ints.push_back(static_cast<int64_t>(v)); });
                break;
            case 9: a.strings.push_back(r.string_field(k, "AttributeProto.strings")); break;
            case 10: tensor(r.bytes_field(k, "AttributeProto.tensors"), depth + 1, a.tensors.emplace_back()); break;
            case 11:
                graph(r.bytes_field(k, "AttributeProto.graphs"), depth + 1,
                      *a.graphs.emplace_back(std::make_shared<Graph>()));
                break;
            case 20: a.type = static_cast<AttributeType>(r.int32_field(k, "AttributeProto.type")); break;
            case 21: a.ref_attr_name = r.string_field(k, "AttributeProto.ref_attr_name"); break;
            default:
                r.skip(k);
        }
    }
}

void Reader::node(Span s, int depth, Node& n) const {
    WireReader r = open(s, "NodeProto", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        switch (k.field) {
            case 1: n.inputs.push_back(r.string_field(k, "NodeProto.input")); break;
            case 2: n.outputs.push_back(r.string_field(k, "NodeProto.output")); break;
            case 3: n.name = r.string_field(k, "NodeProto.name"); break;
            case 4: n.op_type = r.string_field(k, "NodeProto.op_type"); break;
            case 5: attribute(r.bytes_field(k, "NodeProto.attribute"), depth + 1, n.attributes.emplace_back()); break;
            case 7: n.domain = r.string_field(k, "NodeProto.domain"); break;
            default:
                r.skip(k);
        }
    }
}

void Reader::graph(Span s, int depth, Graph& g) const {
    WireReader r = open(s, "GraphProto", depth);
    while (!r.done()) {
        const Key k = r.read_key();
        switch (k.field) {
            case 1: node(r.bytes_field(k, "GraphProto.node"), depth + 1, g.nodes.emplace_back()); break;
            case 2: g.name = r.string_field(k, "GraphProto.name"); break;
            case 5: tensor(r.bytes_field(k, "GraphProto.initializer"), depth + 1, g.initializers.emplace_back()); break;
            case 11: value_info(r.bytes_field(k, "GraphProto.input"), depth + 1, g.inputs.emplace_back()); break;
            case 12: value_info(r.bytes_field(k, "GraphProto.output"), depth + 1, g.outputs.emplace_back()); break;
            case 13:
                value_info(r.bytes_field(k, "GraphProto.value_info"), depth + 1, g.value_info.emplace_back());
                break;
            default:
                r.skip(k);
        }
    }
}

// --- ModelProto -------------------------------------------------------------------------------------------------

void Reader::model(Span s, Model& m) const {
    WireReader r = open(s, "ModelProto", 0);
    bool has_graph = false;
    while (!r.done()) {
        const Key k = r.read_key();
        switch (k.field) {
            case 1: m.ir_version = r.int64_field(k, "ModelProto.ir_version"); break;
            case 2: m.producer_name = r.string_field(k, "ModelProto.producer_name"); break;
            case 3: m.producer_version = r.string_field(k, "ModelProto.producer_version"); break;
            case 4: m.domain = r.string_field(k, "ModelProto.domain"); break;
            case 5: m.model_version = r.int64_field(k, "ModelProto.model_version"); break;
            case 6: m.doc_string = r.string_field(k, "ModelProto.doc_string"); break;
            case 7:
                graph(r.bytes_field(k, "ModelProto.graph"), 1, m.graph);
                has_graph = true;
                break;
            case 8: opset(r.bytes_field(k, "ModelProto.opset_import"), 1, m.opset_import.emplace_back()); break;
            case 14:
                string_entry(r.bytes_field(k, "ModelProto.metadata_props"), 1, m.metadata_props.emplace_back());
                break;
            default:
                r.skip(k);
        }
    }
    if (!has_graph) r.fail(0, "ModelProto", "not an ONNX model: no graph");
}

}  // namespace

// --- public -----------------------------------------------------------------------------------------------------

size_t data_type_size(DataType t) {
    switch (t) {
        case DataType::Float: return 4;
        case DataType::Uint8: return 1;
        case DataType::Int8: return 1;
        case DataType::Uint16: return 2;
        case DataType::Int16: return 2;
        case DataType::Int32: return 4;
        case DataType::Int64: return 8;
        case DataType::Bool: return 1;
        case DataType::Float16: return 2;
        case DataType::Double: return 8;
        case DataType::Uint32: return 4;
        case DataType::Uint64: return 8;
        case DataType::Complex64: return 8;
        case DataType::Complex128: return 16;
        case DataType::BFloat16: return 2;
        case DataType::Undefined:
        case DataType::String: return 0;
    }
    return 0;
}

const char* data_type_name(DataType t) {
    switch (static_cast<int32_t>(t)) {
        case 0: return "undefined";
        case 1: return "float32";
        case 2: return "uint8";
        case 3: return "int8";
        case 4: return "uint16";
        case 5: return "int16";
        case 6: return "int32";
        case 7: return "int64";
        case 8: return "string";
        case 9: return "bool";
        case 10: return "float16";
        case 11: return "float64";
        case 12: return "uint32";
        case 13: return "uint64";
        case 14: return "complex64";
        case 15: return "complex128";
        case 16: return "bfloat16";
        // Defined by onnx.proto but outside DataType: named so that "unsupported type" errors read well.
        case 17: return "float8e4m3fn";
        case 18: return "float8e4m3fnuz";
        case 19: return "float8e5m2";
        case 20: return "float8e5m2fnuz";
        case 21: return "uint4";
        case 22: return "int4";
        case 23: return "float4e2m1";
        case 24: return "float8e8m0";
        case 25: return "uint2";
        case 26: return "int2";
        default: break;
    }
    // A small per-thread ring keeps the returned pointer valid across a few calls in one expression, with no
    // shared state and no growth.
    thread_local char ring[8][24];
    thread_local unsigned next = 0;
    char* out = ring[next++ % 8];
    std::snprintf(out, sizeof ring[0], "unknown(%d)", static_cast<int>(t));
    return out;
}

int64_t Tensor::element_count() const {
    // -1 when dims are negative or overflow; parse_tensor refuses both, so parsed tensors never return it.
    int64_t count = 1;
    for (int64_t d : dims) {
        if (d < 0) return -1;
        if (d == 0) count = 0;
    }
    if (count == 0) return 0;
    for (int64_t d : dims) {
        if (__builtin_mul_overflow(count, d, &count)) return -1;
    }
    return count;
}

const Attribute* Node::find_attribute(const std::string& attr_name) const {
    for (const Attribute& a : attributes) {
        if (a.name == attr_name) return &a;
    }
    return nullptr;
}

int64_t Model::opset(const std::string& op_domain) const {
    auto canonical = [](const std::string& d) { return d == "ai.onnx" ? std::string() : d; };
    const std::string want = canonical(op_domain);
    for (const OpsetImport& o : opset_import) {
        if (canonical(o.domain) == want) return o.version;
    }
    return 0;
}

const std::string* Model::metadata(const std::string& key) const {
    // Later entries win, as in a protobuf map; keys are meant to be distinct anyway.
    const std::string* found = nullptr;
    for (const auto& [k, v] : metadata_props) {
        if (k == key) found = &v;
    }
    return found;
}

Model parse_model(const uint8_t* data, size_t size) {
    if (data == nullptr || size == 0) throw ParseError("ONNX parse error at byte 0 in ModelProto: empty model");
    if (size >= 4 && std::memcmp(data, "RKNN", 4) == 0) {
        throw ParseError(
            "ONNX parse error at byte 0 in ModelProto: not an ONNX model: the buffer starts with \"RKNN\" "
            "(a compiled .rknn model)");
    }
    Model m;
    Reader{data}.model(Span{data, size}, m);
    return m;
}

Tensor parse_tensor(const uint8_t* data, size_t size) {
    // An empty buffer is a valid empty TensorProto (undefined type, scalar, no data), as protobuf reads it.
    static const uint8_t kNothing = 0;
    if (data == nullptr) data = &kNothing;
    Tensor t;
    Reader{data}.tensor(Span{data, size}, 0, t);
    return t;
}

}  // namespace ezemu::onnx
