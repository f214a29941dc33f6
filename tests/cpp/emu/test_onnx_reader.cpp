// The emulator's ONNX wire-format reader on hand-built protobuf bytes: field values, packed/unpacked and typed/raw
// equivalence, and clean ParseErrors (never a crash) on truncated, random, hostile and deeply nested input.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "graph/onnx_model.hpp"

namespace onnx = ezemu::onnx;

namespace {

// A minimal protobuf encoder, enough to write ONNX messages field by field (in any order, packed or not).
class Pb {
public:
    Pb& varint(uint32_t field, uint64_t v) {
        key(field, 0);
        put_varint(v);
        return *this;
    }
    Pb& i64(uint32_t field, int64_t v) { return varint(field, static_cast<uint64_t>(v)); }
    Pb& fixed32(uint32_t field, uint32_t v) {
        key(field, 5);
        put_le(v, 4);
        return *this;
    }
    Pb& f32(uint32_t field, float f) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return fixed32(field, bits);
    }
    Pb& fixed64(uint32_t field, uint64_t v) {
        key(field, 1);
        put_le(v, 8);
        return *this;
    }
    Pb& bytes(uint32_t field, std::string_view s) {
        key(field, 2);
        put_varint(s.size());
        out_.append(s);
        return *this;
    }
    Pb& msg(uint32_t field, const Pb& m) { return bytes(field, m.out_); }
    Pb& packed_varints(uint32_t field, const std::vector<int64_t>& values) {
        Pb body;
        for (int64_t v : values) body.put_varint(static_cast<uint64_t>(v));
        return bytes(field, body.out_);
    }
    Pb& packed_f32(uint32_t field, const std::vector<float>& values) {
        Pb body;
        for (float f : values) {
            uint32_t bits;
            std::memcpy(&bits, &f, 4);
            body.put_le(bits, 4);
        }
        return bytes(field, body.out_);
    }
    Pb& raw(std::string_view s) {
        out_.append(s);
        return *this;
    }
    Pb& raw_varint(uint64_t v) {
        put_varint(v);
        return *this;
    }
    const std::string& str() const { return out_; }
    size_t size() const { return out_.size(); }

private:
    void key(uint32_t field, uint32_t wire_type) { put_varint((uint64_t{field} << 3) | wire_type); }
    void put_varint(uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void put_le(uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
    }
    std::string out_;
};

std::string le_bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

// --- ONNX message builders (field numbers from onnx.proto) ----------------------------------------------------

Pb dim_value(int64_t v) { return Pb().i64(1, v); }
Pb dim_param(const std::string& p) { return Pb().bytes(2, p); }
Pb unknown_dim() { return Pb(); }

Pb tensor_value_info(const std::string& name, int32_t elem, const std::vector<Pb>& dims) {
    Pb shape;
    for (const Pb& d : dims) shape.msg(1, d);
    Pb tensor_type = Pb().varint(1, static_cast<uint64_t>(elem)).msg(2, shape);
    return Pb().bytes(1, name).msg(2, Pb().msg(1, tensor_type));
}

Pb node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out) {
    Pb n;
    for (const auto& s : in) n.bytes(1, s);
    for (const auto& s : out) n.bytes(2, s);
    return n.bytes(4, op);
}

Pb opset(const std::string& domain, int64_t version) { return Pb().bytes(1, domain).i64(2, version); }
Pb entry(const std::string& k, const std::string& v) { return Pb().bytes(1, k).bytes(2, v); }

// A model holding one of everything the reader understands. The graph comes last on purpose: then every proper
// prefix of the bytes is an invalid model (either no graph yet, or a graph cut short).
std::string full_model() {
    std::vector<float> w = {1.0f, -2.5f, 3.25f, 0.0f, 8.0f, -0.125f};
    Pb initializer = Pb().i64(1, 2).i64(1, 3).varint(2, 1).bytes(8, "w").bytes(9, le_bytes(w.data(), 24));
    Pb bias = Pb().packed_varints(1, {2}).varint(2, 7).bytes(8, "b").packed_varints(7, {-1, 1LL << 40});

    Pb conv = node("Conv", {"x", "w", ""}, {"y"})
                  .bytes(3, "conv0")
                  .msg(5, Pb().bytes(1, "kernel_shape").varint(20, 7).i64(8, 3).i64(8, 3))
                  .msg(5, Pb().bytes(1, "pads").varint(20, 7).packed_varints(8, {0, -1, 2, 1}))
                  .msg(5, Pb().bytes(1, "alpha").varint(20, 1).f32(2, 0.25f))
                  .msg(5, Pb().bytes(1, "group").varint(20, 2).i64(3, -7))
                  .msg(5, Pb().bytes(1, "mode").varint(20, 3).bytes(4, std::string("re\0flect", 8)))
                  .msg(5, Pb().bytes(1, "scales").varint(20, 6).f32(7, 0.5f).f32(7, 2.0f))
                  .msg(5, Pb().bytes(1, "names").varint(20, 8).bytes(9, "a").bytes(9, ""))
                  .msg(5, Pb().bytes(1, "value").varint(20, 4).msg(5, bias))
                  .msg(5, Pb().bytes(1, "axis").varint(20, 2).bytes(21, "outer_axis"));
    Pb custom = node("MyOp", {"y"}, {"z"}).bytes(7, "com.example").bytes(6, "doc is skipped");

    Pb graph = Pb()
                   .bytes(2, "main")
                   .msg(1, conv)
                   .msg(1, custom)
                   .msg(5, initializer)
                   .msg(11, tensor_value_info("x", 1, {dim_param("N"), dim_value(3), unknown_dim(), dim_value(224)}))
                   .msg(11, Pb().bytes(1, "seq").msg(2, Pb().msg(4, Pb().msg(1, Pb()))))
                   .msg(12, tensor_value_info("z", 10, {dim_param("N"), dim_value(8)}))
                   .msg(13, Pb().bytes(1, "y").msg(2, Pb().msg(1, Pb().varint(1, 1))));
    return Pb()
        .i64(1, 8)
        .bytes(2, "hand")
        .bytes(3, "0.1")
        .msg(8, opset("", 13))
        .msg(8, opset("com.example", 2))
        .i64(5, 42)
        .msg(14, entry("rknn.target_platform", "rk3576"))
        .msg(14, entry("custom_string", "hello"))
        .msg(7, graph)
        .str();
}

// The model keeps views into the buffer, so the two travel together (a moved vector keeps its storage).
struct Parsed {
    std::vector<uint8_t> buffer;
    onnx::Model model;
};

Parsed parse(const std::string& bytes) {
    Parsed p;
    p.buffer.assign(bytes.begin(), bytes.end());
    p.model = onnx::parse_model(p.buffer.data(), p.buffer.size());
    return p;
}

std::vector<uint8_t> to_buffer(const Pb& pb) { return std::vector<uint8_t>(pb.str().begin(), pb.str().end()); }
// Only for tensors whose payload is decoded into `owned`: a raw_data view would outlive the temporary buffer.
onnx::Tensor tensor_from(const std::vector<uint8_t>& buffer) { return onnx::parse_tensor(buffer.data(), buffer.size()); }

// Runs parse_model on an exactly-sized heap copy (so ASan sees any over-read) and accepts success or ParseError.
void parse_must_not_crash(const std::string& bytes) {
    std::vector<uint8_t> exact(bytes.begin(), bytes.end());
    try {
        onnx::Model m = onnx::parse_model(exact.data(), exact.size());
        (void)m;
    } catch (const onnx::ParseError&) {
    }
    try {
        onnx::Tensor t = onnx::parse_tensor(exact.data(), exact.size());
        (void)t;
    } catch (const onnx::ParseError&) {
    }
}

void expect_parse_error(const std::string& bytes, const std::string& fragment) {
    std::vector<uint8_t> exact(bytes.begin(), bytes.end());
    try {
        onnx::parse_model(exact.data(), exact.size());
        ADD_FAILURE() << "expected ParseError containing '" << fragment << "'";
    } catch (const onnx::ParseError& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

std::string model_with_graph(const Pb& graph) { return Pb().i64(1, 8).msg(8, opset("", 13)).msg(7, graph).str(); }

}  // namespace

TEST(OnnxReader, ParsesModelFields) {
    const std::string bytes = full_model();
    Parsed p = parse(bytes);
    const onnx::Model& m = p.model;
    EXPECT_EQ(m.ir_version, 8);
    EXPECT_EQ(m.producer_name, "hand");
    EXPECT_EQ(m.producer_version, "0.1");
    EXPECT_EQ(m.model_version, 42);
    ASSERT_EQ(m.opset_import.size(), 2u);
    EXPECT_EQ(m.opset(""), 13);
    EXPECT_EQ(m.opset("ai.onnx"), 13);
    EXPECT_EQ(m.opset("com.example"), 2);
    EXPECT_EQ(m.opset("com.microsoft"), 0);
    ASSERT_NE(m.metadata("rknn.target_platform"), nullptr);
    EXPECT_EQ(*m.metadata("rknn.target_platform"), "rk3576");
    EXPECT_EQ(*m.metadata("custom_string"), "hello");
    EXPECT_EQ(m.metadata("missing"), nullptr);

    const onnx::Graph& g = m.graph;
    EXPECT_EQ(g.name, "main");
    ASSERT_EQ(g.nodes.size(), 2u);
    const onnx::Node& conv = g.nodes[0];
    EXPECT_EQ(conv.op_type, "Conv");
    EXPECT_EQ(conv.name, "conv0");
    EXPECT_TRUE(conv.is_default_domain());
    EXPECT_EQ(conv.inputs, (std::vector<std::string>{"x", "w", ""}));
    EXPECT_EQ(conv.outputs, (std::vector<std::string>{"y"}));
    ASSERT_EQ(conv.attributes.size(), 9u);

    const onnx::Attribute* a = conv.find_attribute("kernel_shape");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->type, onnx::AttributeType::Ints);
    EXPECT_EQ(a->ints, (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(conv.find_attribute("pads")->ints, (std::vector<int64_t>{0, -1, 2, 1}));
    EXPECT_EQ(conv.find_attribute("alpha")->type, onnx::AttributeType::Float);
    EXPECT_FLOAT_EQ(conv.find_attribute("alpha")->f, 0.25f);
    EXPECT_EQ(conv.find_attribute("group")->i, -7);
    EXPECT_EQ(conv.find_attribute("mode")->s, std::string("re\0flect", 8));
    EXPECT_EQ(conv.find_attribute("scales")->floats, (std::vector<float>{0.5f, 2.0f}));
    EXPECT_EQ(conv.find_attribute("names")->strings, (std::vector<std::string>{"a", ""}));
    EXPECT_EQ(conv.find_attribute("axis")->ref_attr_name, "outer_axis");
    EXPECT_EQ(conv.find_attribute("nope"), nullptr);

    const onnx::Tensor& bias = conv.find_attribute("value")->t;
    EXPECT_EQ(bias.name, "b");
    EXPECT_EQ(bias.data_type, onnx::DataType::Int64);
    EXPECT_EQ(bias.dims, (std::vector<int64_t>{2}));
    ASSERT_EQ(bias.byte_size(), 16u);
    int64_t bias_values[2];
    std::memcpy(bias_values, bias.data(), 16);
    EXPECT_EQ(bias_values[0], -1);
    EXPECT_EQ(bias_values[1], 1LL << 40);

    EXPECT_EQ(g.nodes[1].domain, "com.example");
    EXPECT_FALSE(g.nodes[1].is_default_domain());

    ASSERT_EQ(g.initializers.size(), 1u);
    const onnx::Tensor& w = g.initializers[0];
    EXPECT_EQ(w.name, "w");
    EXPECT_EQ(w.data_type, onnx::DataType::Float);
    EXPECT_EQ(w.dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(w.element_count(), 6);
    EXPECT_EQ(w.byte_size(), 24u);
    EXPECT_TRUE(w.owned.empty());
    // raw_data is a view into the caller's buffer, not a copy.
    EXPECT_GE(w.data(), p.buffer.data());
    EXPECT_LE(w.data() + w.byte_size(), p.buffer.data() + p.buffer.size());
    float w1;
    std::memcpy(&w1, w.data() + 4, 4);
    EXPECT_EQ(w1, -2.5f);

    ASSERT_EQ(g.inputs.size(), 2u);
    const onnx::ValueInfo& x = g.inputs[0];
    EXPECT_EQ(x.name, "x");
    EXPECT_TRUE(x.has_tensor_type);
    EXPECT_TRUE(x.has_shape);
    EXPECT_EQ(x.elem_type, onnx::DataType::Float);
    ASSERT_EQ(x.dims.size(), 4u);
    EXPECT_EQ(x.dims[0].param, "N");
    EXPECT_EQ(x.dims[0].value, -1);
    EXPECT_FALSE(x.dims[0].is_static());
    EXPECT_EQ(x.dims[1].value, 3);
    EXPECT_TRUE(x.dims[1].is_static());
    EXPECT_EQ(x.dims[2].value, -1);
    EXPECT_TRUE(x.dims[2].param.empty());
    EXPECT_EQ(x.dims[3].value, 224);
    EXPECT_EQ(g.inputs[1].name, "seq");
    EXPECT_FALSE(g.inputs[1].has_tensor_type);

    ASSERT_EQ(g.outputs.size(), 1u);
    EXPECT_EQ(g.outputs[0].elem_type, onnx::DataType::Float16);
    ASSERT_EQ(g.value_info.size(), 1u);
    EXPECT_TRUE(g.value_info[0].has_tensor_type);
    EXPECT_FALSE(g.value_info[0].has_shape);
}

TEST(OnnxReader, PackedAndUnpackedRepeatedIntsAgree) {
    const std::vector<int64_t> values = {0, 1, -1, 127, 128, 300, INT64_MIN, INT64_MAX, -(1LL << 35)};
    Pb packed_attr = Pb().bytes(1, "ints").varint(20, 7).packed_varints(8, values);
    Pb unpacked_attr = Pb().bytes(1, "ints").varint(20, 7);
    for (int64_t v : values) unpacked_attr.i64(8, v);
    // Both forms mixed in one field list concatenate, as protobuf does.
    Pb mixed_attr = Pb().bytes(1, "ints").varint(20, 7).packed_varints(8, {0, 1, -1}).i64(8, 127).packed_varints(
        8, std::vector<int64_t>(values.begin() + 4, values.end()));

    auto ints_of = [](const Pb& attr) {
        Parsed p = parse(model_with_graph(Pb().msg(1, node("Op", {}, {"o"}).msg(5, attr))));
        return p.model.graph.nodes.at(0).attributes.at(0).ints;
    };
    EXPECT_EQ(ints_of(packed_attr), values);
    EXPECT_EQ(ints_of(unpacked_attr), values);
    EXPECT_EQ(ints_of(mixed_attr), values);

    // Tensor dims and int64_data too.
    Pb packed_t = Pb().packed_varints(1, {3}).varint(2, 7).packed_varints(7, {5, -6, 7});
    Pb unpacked_t = Pb().i64(1, 3).varint(2, 7).i64(7, 5).i64(7, -6).i64(7, 7);
    onnx::Tensor a = tensor_from(to_buffer(packed_t));
    onnx::Tensor b = tensor_from(to_buffer(unpacked_t));
    EXPECT_EQ(a.dims, b.dims);
    EXPECT_EQ(a.owned, b.owned);
    ASSERT_EQ(a.byte_size(), 24u);
    int64_t v[3];
    std::memcpy(v, a.data(), 24);
    EXPECT_EQ(v[1], -6);
}

TEST(OnnxReader, TypedFloatDataMatchesRawData) {
    const std::vector<float> f = {1.5f, -0.0f, 3.0e-40f, 65504.0f};
    const std::string raw = le_bytes(f.data(), 16);
    const std::vector<uint8_t> raw_buffer = to_buffer(Pb().i64(1, 4).varint(2, 1).bytes(9, raw));
    onnx::Tensor from_raw = onnx::parse_tensor(raw_buffer.data(), raw_buffer.size());
    onnx::Tensor from_packed = tensor_from(to_buffer(Pb().i64(1, 4).varint(2, 1).packed_f32(4, f)));
    Pb unpacked = Pb().i64(1, 4);
    for (float x : f) unpacked.f32(4, x);
    unpacked.varint(2, 1);  // data_type after the data: layout must not depend on field order
    onnx::Tensor from_unpacked = tensor_from(to_buffer(unpacked));

    ASSERT_EQ(from_raw.byte_size(), 16u);
    EXPECT_TRUE(from_raw.owned.empty());
    EXPECT_EQ(from_raw.data(), raw_buffer.data() + raw_buffer.size() - 16);
    const std::string a(reinterpret_cast<const char*>(from_raw.data()), from_raw.byte_size());
    const std::string b(reinterpret_cast<const char*>(from_packed.data()), from_packed.byte_size());
    const std::string c(reinterpret_cast<const char*>(from_unpacked.data()), from_unpacked.byte_size());
    EXPECT_EQ(a, raw);
    EXPECT_EQ(b, raw);
    EXPECT_EQ(c, raw);
    EXPECT_EQ(from_packed.raw, nullptr);
}

TEST(OnnxReader, TypedFieldsDecodeToDenseLayoutOfTheirType) {
    struct Case {
        int32_t data_type;
        Pb payload;
        std::vector<uint8_t> expected;
    };
    const std::vector<Case> cases = {
        // int32_data narrows to the element width: int8, uint8, bool, int16, uint16, float16 bits, bfloat16 bits.
        {3, Pb().packed_varints(5, {-1, 127, -128}), {0xff, 0x7f, 0x80}},
        {2, Pb().packed_varints(5, {0, 255, 7}), {0x00, 0xff, 0x07}},
        {9, Pb().packed_varints(5, {1, 0, 1}), {1, 0, 1}},
        {5, Pb().packed_varints(5, {-2, 300, 1}), {0xfe, 0xff, 0x2c, 0x01, 0x01, 0x00}},
        {4, Pb().i64(5, 65535).i64(5, 1).i64(5, 2), {0xff, 0xff, 0x01, 0x00, 0x02, 0x00}},
        {10, Pb().packed_varints(5, {0x3c00, 0xbc00, 0x7bff}), {0x00, 0x3c, 0x00, 0xbc, 0xff, 0x7b}},
        {16, Pb().packed_varints(5, {0x3f80, 0, 1}), {0x80, 0x3f, 0, 0, 1, 0}},
        {6, Pb().packed_varints(5, {-1, 2, 0x12345678}),
         {0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0x78, 0x56, 0x34, 0x12}},
        // uint64_data holds uint32 (4 bytes each) and uint64.
        {12, Pb().packed_varints(11, {0xffffffff, 1, 2}), {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 2, 0, 0, 0}},
        {13, Pb().varint(11, ~uint64_t{0}).varint(11, 1).varint(11, 2),
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}},
    };
    for (const Case& c : cases) {
        Pb t = Pb().i64(1, 3).varint(2, static_cast<uint64_t>(c.data_type)).raw(c.payload.str());
        onnx::Tensor tensor = tensor_from(to_buffer(t));
        EXPECT_EQ(tensor.owned, c.expected) << "data_type " << c.data_type;
        EXPECT_EQ(tensor.byte_size(), c.expected.size());
    }

    // double_data, packed and unpacked; complex64 takes two floats per element.
    const double d[2] = {0.1, -1e300};
    uint64_t d0, d1;
    std::memcpy(&d0, &d[0], 8);
    std::memcpy(&d1, &d[1], 8);
    onnx::Tensor dt = tensor_from(to_buffer(Pb().i64(1, 2).varint(2, 11).fixed64(10, d0).fixed64(10, d1)));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(dt.data()), 16), le_bytes(d, 16));
    onnx::Tensor cx = tensor_from(to_buffer(Pb().i64(1, 1).varint(2, 14).packed_f32(4, {1.0f, 2.0f})));
    EXPECT_EQ(cx.byte_size(), 8u);

    // Strings.
    onnx::Tensor s = tensor_from(to_buffer(Pb().i64(1, 2).varint(2, 8).bytes(6, "ab").bytes(6, std::string(1, '\0'))));
    EXPECT_EQ(s.strings, (std::vector<std::string>{"ab", std::string(1, '\0')}));
    EXPECT_EQ(s.byte_size(), 0u);

    // An empty buffer is a valid TensorProto: an undefined scalar without data.
    onnx::Tensor empty = onnx::parse_tensor(nullptr, 0);
    EXPECT_EQ(empty.data_type, onnx::DataType::Undefined);
    EXPECT_EQ(empty.element_count(), 1);
}

TEST(OnnxReader, PayloadMustAgreeWithDims) {
    auto expect_tensor_error = [](const Pb& t, const std::string& fragment) {
        std::vector<uint8_t> b = to_buffer(t);
        try {
            onnx::parse_tensor(b.data(), b.size());
            ADD_FAILURE() << "expected ParseError containing '" << fragment << "'";
        } catch (const onnx::ParseError& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    expect_tensor_error(Pb().bytes(8, "w").i64(1, 2).i64(1, 3).varint(2, 1).bytes(9, std::string(20, '\0')),
                        "tensor 'w' holds 20 bytes, but 6 elements of float32 need 24");
    expect_tensor_error(Pb().i64(1, 4).varint(2, 7).packed_varints(7, {1, 2, 3}), "holds 24 bytes");
    expect_tensor_error(Pb().i64(1, 3).varint(2, 1), "holds 0 bytes");
    expect_tensor_error(Pb().i64(1, 3).varint(2, 8).bytes(6, "a"), "1 strings for 3 elements");
    expect_tensor_error(Pb().i64(1, -2).varint(2, 1), "negative dimension -2");
    expect_tensor_error(Pb().i64(1, 1LL << 40).i64(1, 1LL << 40).varint(2, 1), "overflows");
    expect_tensor_error(Pb().i64(1, 1LL << 62).varint(2, 1), "more than 2^64");
    // A typed field the data_type does not allow, and two payloads at once.
    expect_tensor_error(Pb().i64(1, 1).varint(2, 7).packed_f32(4, {1.0f}), "float_data: not valid");
    expect_tensor_error(Pb().i64(1, 1).varint(2, 1).packed_f32(4, {1.0f}).bytes(9, "abcd"), "more than one data field");
    expect_tensor_error(Pb().i64(1, 1).varint(2, 8).bytes(9, "abcd"), "cannot use raw_data");
    expect_tensor_error(Pb().i64(1, 1).varint(2, 1).bytes(6, "abcd"), "cannot hold strings");
    expect_tensor_error(Pb().i64(1, 1).varint(2, 1).msg(3, Pb().i64(1, 0)), "segmented");
    expect_tensor_error(Pb().i64(1, 1).varint(2, 1).bytes(4, "abc"), "not a multiple of 4");

    // Zero-sized tensors need no data; dims containing 0 never overflow.
    onnx::Tensor z = tensor_from(to_buffer(Pb().i64(1, 0).i64(1, 1LL << 62).i64(1, 1LL << 62).varint(2, 1)));
    EXPECT_EQ(z.element_count(), 0);
    EXPECT_EQ(z.byte_size(), 0u);
}

TEST(OnnxReader, ExternalDataIsRecordedNotRead) {
    Pb ext = Pb()
                 .bytes(8, "big")
                 .i64(1, 1024)
                 .i64(1, 1024)
                 .varint(2, 1)
                 .msg(13, entry("location", "weights.bin"))
                 .msg(13, entry("offset", "4096"))
                 .msg(13, entry("length", "4194304"))
                 .varint(14, 1);
    Parsed p = parse(model_with_graph(Pb().msg(5, ext)));
    const onnx::Tensor& t = p.model.graph.initializers.at(0);
    EXPECT_TRUE(t.external);
    EXPECT_EQ(t.byte_size(), 0u);
    EXPECT_EQ(t.element_count(), 1024 * 1024);
    ASSERT_EQ(t.external_data.size(), 3u);
    EXPECT_EQ(t.external_data[0], (std::pair<std::string, std::string>{"location", "weights.bin"}));
    EXPECT_EQ(t.external_data[2].second, "4194304");

    Pb both = Pb(ext).bytes(9, "abcd");
    expect_parse_error(model_with_graph(Pb().msg(5, both)), "external but also carries data");
}

TEST(OnnxReader, SubgraphsParseRecursively) {
    Pb then_g = Pb().bytes(2, "then").msg(1, node("Constant", {}, {"t"}));
    Pb else_g = Pb().bytes(2, "else").msg(1, node("Identity", {"a"}, {"e"})).msg(1, node("Neg", {"e"}, {"f"}));
    Pb inner_if = node("If", {"c"}, {"v"})
                      .msg(5, Pb().bytes(1, "then_branch").varint(20, 5).msg(6, then_g))
                      .msg(5, Pb().bytes(1, "else_branch").varint(20, 5).msg(6, else_g));
    Pb body = Pb().bytes(2, "body").msg(1, inner_if);
    Pb loop = node("Loop", {"", "cond"}, {"out"}).msg(5, Pb().bytes(1, "body").varint(20, 5).msg(6, body));
    Pb multi = node("Multi", {}, {"m"}).msg(
        5, Pb().bytes(1, "branches").varint(20, 10).msg(11, then_g).msg(11, else_g).msg(10, Pb().i64(1, 0).varint(2, 1)));
    Parsed p = parse(model_with_graph(Pb().msg(1, loop).msg(1, multi)));

    const onnx::Attribute* b = p.model.graph.nodes.at(0).find_attribute("body");
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(b->g);
    EXPECT_EQ(b->g->name, "body");
    const onnx::Node& if_node = b->g->nodes.at(0);
    EXPECT_EQ(if_node.op_type, "If");
    EXPECT_EQ(if_node.find_attribute("then_branch")->g->nodes.at(0).op_type, "Constant");
    EXPECT_EQ(if_node.find_attribute("else_branch")->g->nodes.size(), 2u);

    const onnx::Attribute& branches = p.model.graph.nodes.at(1).attributes.at(0);
    EXPECT_EQ(branches.type, onnx::AttributeType::Graphs);
    ASSERT_EQ(branches.graphs.size(), 2u);
    EXPECT_EQ(branches.graphs[1]->name, "else");
    ASSERT_EQ(branches.tensors.size(), 1u);
    EXPECT_EQ(branches.tensors[0].element_count(), 0);
}

TEST(OnnxReader, SkipsUnknownFieldsOfEveryWireType) {
    auto unknowns = [] { return Pb().varint(999, 5).fixed64(1000, 7).bytes(1001, "xyz").fixed32(1002, 9); };
    Pb n = node("Relu", {"x"}, {"y"}).raw(unknowns().str());
    Pb graph = Pb().raw(unknowns().str()).msg(1, n).bytes(2, "g").raw(unknowns().str());
    std::string bytes = Pb().raw(unknowns().str()).i64(1, 7).msg(7, graph).raw(unknowns().str()).str();
    Parsed p = parse(bytes);
    EXPECT_EQ(p.model.ir_version, 7);
    EXPECT_EQ(p.model.graph.name, "g");
    EXPECT_EQ(p.model.graph.nodes.at(0).op_type, "Relu");

    // Groups (wire types 3/4) and wire types 6/7 are refused, as is field number 0.
    expect_parse_error(Pb().raw_varint((99u << 3) | 3).raw_varint((99u << 3) | 4).str(), "group");
    expect_parse_error(Pb().raw_varint((5u << 3) | 6).str(), "invalid wire type 6");
    expect_parse_error(Pb().raw_varint(2).str(), "field number 0");
    // A known field with the wrong wire type names the field.
    expect_parse_error(Pb().bytes(1, "8").str(), "ModelProto.ir_version: wire type 2, expected 0");
    expect_parse_error(model_with_graph(Pb().i64(1, 3)), "GraphProto.node: wire type 0");
}

TEST(OnnxReader, NotAnOnnxModel) {
    expect_parse_error("", "empty model");
    EXPECT_THROW(onnx::parse_model(nullptr, 0), onnx::ParseError);
    expect_parse_error(std::string("RKNN\x00\x01\x02\x03", 8) + std::string(64, 'x'), "RKNN");
    expect_parse_error(Pb().i64(1, 8).bytes(2, "producer").msg(8, opset("", 13)).str(), "not an ONNX model: no graph");
    expect_parse_error("hello, world: this is plain text\n", "ONNX parse error at byte");
}

TEST(OnnxReader, TruncationAtEveryOffsetThrows) {
    const std::string bytes = full_model();
    ASSERT_NO_THROW(parse(bytes));
    for (size_t n = 0; n < bytes.size(); ++n) {
        std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        try {
            onnx::parse_model(prefix.data(), prefix.size());
            ADD_FAILURE() << "a prefix of " << n << " of " << bytes.size() << " bytes parsed";
        } catch (const onnx::ParseError& e) {
            EXPECT_NE(std::string(e.what()).find("at byte"), std::string::npos) << e.what();
        }
    }
}

TEST(OnnxReader, RandomAndMutatedBytesNeverCrash) {
    const std::string valid = full_model();
    std::mt19937_64 rng(20240611);
    for (int i = 0; i < 2000; ++i) {
        std::string random(rng() % 300, '\0');
        for (char& c : random) c = static_cast<char>(rng());
        parse_must_not_crash(random);
    }
    // Mutations of a valid model reach much deeper into the reader than pure noise does.
    for (int i = 0; i < 3000; ++i) {
        std::string m = valid;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const size_t at = rng() % m.size();
            switch (rng() % 4) {
                case 0: m[at] = static_cast<char>(rng()); break;
                case 1: m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8))); break;
                case 2: m.erase(at, 1 + rng() % 8); break;
                default: m.insert(at, 1 + rng() % 4, static_cast<char>(0x80 | rng())); break;
            }
            if (m.empty()) m.push_back('x');
        }
        parse_must_not_crash(m);
    }
}

TEST(OnnxReader, AbsurdLengthsFailCleanly) {
    // A graph field claiming 2^63 bytes, and one claiming just one byte more than is there.
    expect_parse_error(Pb().raw_varint((7u << 3) | 2).raw_varint(1ULL << 63).raw("abc").str(),
                       "ModelProto.graph: length 9223372036854775808 exceeds the 3 bytes left");
    expect_parse_error(Pb().raw_varint((7u << 3) | 2).raw_varint(4).raw("abc").str(), "exceeds the 3 bytes left");
    // A huge length inside a nested message is bounded by its parent, not by the whole buffer.
    Pb inner = Pb().raw_varint((1u << 3) | 2).raw_varint(50);
    expect_parse_error(model_with_graph(inner) + std::string(100, '\0'), "GraphProto.node: length 50 exceeds");
    // Varints: too long, and a tenth byte with more than bit 63.
    expect_parse_error(Pb().raw_varint(1 << 3).raw(std::string(10, '\xff') + "\x01").str(), "longer than 10 bytes");
    expect_parse_error(Pb().raw_varint(1 << 3).raw(std::string(9, '\xff') + "\x7f").str(), "overflows 64 bits");
    expect_parse_error(Pb().raw_varint(1 << 3).raw("\x80\x80").str(), "truncated varint");
    // A huge declared dims count costs nothing: there is no count to reserve from, only bytes.
    Pb many_dims = Pb().raw_varint((1u << 3) | 2).raw_varint(1ULL << 40);
    expect_parse_error(model_with_graph(Pb().msg(5, many_dims)), "TensorProto.dims: length 1099511627776 exceeds");
}

TEST(OnnxReader, DeepNestingFailsCleanly) {
    // Graph → Node → Attribute(g) → Graph ..., 200 subgraph levels: far beyond the limit, far below a stack overflow.
    auto nest = [](int levels) {
        Pb g = Pb().bytes(2, "leaf");
        for (int i = 0; i < levels; ++i) {
            Pb attr = Pb().bytes(1, "body").varint(20, 5).msg(6, g);
            g = Pb().msg(1, node("Loop", {}, {"o"}).msg(5, attr));
        }
        return model_with_graph(g);
    };
    Parsed ok = parse(nest(15));
    const onnx::Graph* g = &ok.model.graph;
    for (int i = 0; i < 15; ++i) g = g->nodes.at(0).attributes.at(0).g.get();
    EXPECT_EQ(g->name, "leaf");
    expect_parse_error(nest(200), "nested deeper than 64 levels");

    // The same for a chain of unknown length-delimited fields: skipped without recursion, so any depth is fine.
    Pb blob = Pb().bytes(1, "x");
    for (int i = 0; i < 500; ++i) blob = Pb().msg(1000, blob);
    EXPECT_NO_THROW(parse(model_with_graph(Pb().raw(blob.str()))));
}

TEST(OnnxReader, DataTypeHelpers) {
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::Float), 4u);
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::Float16), 2u);
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::Int64), 8u);
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::Bool), 1u);
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::Complex128), 16u);
    EXPECT_EQ(onnx::data_type_size(onnx::DataType::String), 0u);
    EXPECT_EQ(onnx::data_type_size(static_cast<onnx::DataType>(17)), 0u);
    EXPECT_STREQ(onnx::data_type_name(onnx::DataType::Float), "float32");
    EXPECT_STREQ(onnx::data_type_name(onnx::DataType::Double), "float64");
    EXPECT_STREQ(onnx::data_type_name(onnx::DataType::BFloat16), "bfloat16");
    EXPECT_STREQ(onnx::data_type_name(static_cast<onnx::DataType>(22)), "int4");
    const char* a = onnx::data_type_name(static_cast<onnx::DataType>(99));
    const char* b = onnx::data_type_name(static_cast<onnx::DataType>(-5));
    EXPECT_STREQ(a, "unknown(99)");
    EXPECT_STREQ(b, "unknown(-5)");

    onnx::Tensor t;
    EXPECT_EQ(t.element_count(), 1);
    t.dims = {2, 0, 5};
    EXPECT_EQ(t.element_count(), 0);
    t.dims = {-1, 3};
    EXPECT_EQ(t.element_count(), -1);
    t.dims = {INT64_MAX, 2};
    EXPECT_EQ(t.element_count(), -1);
}

TEST(OnnxReader, LaterFieldWinsAndRepeatedMessagesMerge) {
    // Singular scalars: last one wins. A singular message that appears twice merges (repeated fields append).
    Pb dim_oneof = Pb().i64(1, 5).bytes(2, "N");  // dim_value then dim_param: a oneof, so the param wins
    Pb vi = Pb().bytes(1, "x").msg(2, Pb().msg(1, Pb().varint(1, 1).msg(2, Pb().msg(1, dim_oneof))));
    std::string bytes = Pb()
                            .i64(1, 3)
                            .i64(1, 9)
                            .msg(7, Pb().bytes(2, "first").msg(1, node("A", {}, {"a"})))
                            .msg(7, Pb().bytes(2, "second").msg(1, node("B", {}, {"b"})).msg(11, vi))
                            .str();
    Parsed p = parse(bytes);
    EXPECT_EQ(p.model.ir_version, 9);
    EXPECT_EQ(p.model.graph.name, "second");
    ASSERT_EQ(p.model.graph.nodes.size(), 2u);
    EXPECT_EQ(p.model.graph.nodes[1].op_type, "B");
    const onnx::Dim& d = p.model.graph.inputs.at(0).dims.at(0);
    EXPECT_EQ(d.param, "N");
    EXPECT_EQ(d.value, -1);
}
