// In-memory form of an ONNX ModelProto, as read by the emulator's own wire-format reader (no protobuf).
// Tensor payloads given as raw_data are views into the caller's buffer: the buffer must outlive the Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ezemu::onnx {

// TensorProto.DataType numbering from onnx.proto.
enum class DataType : int32_t {
    Undefined = 0,
    Float = 1,
    Uint8 = 2,
    Int8 = 3,
    Uint16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    Uint32 = 12,
    Uint64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
};

// Bytes per element; 0 for types without a fixed size (String, Undefined, unknown values).
size_t data_type_size(DataType t);
// "float32", "int64", ... ; "unknown(N)" otherwise.
const char* data_type_name(DataType t);

struct ParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Tensor {
    std::string name;
    DataType data_type = DataType::Undefined;
    std::vector<int64_t> dims;
    // Payload: either a view (raw_data, pointing into the model buffer) or `owned` bytes decoded from the typed
    // repeated fields (float_data, int32_data, ...), always in dense little-endian element layout.
    const uint8_t* raw = nullptr;
    size_t raw_size = 0;
    std::vector<uint8_t> owned;
    std::vector<std::string> strings;  // string_data, for DataType::String
    bool external = false;             // data_location == EXTERNAL
    std::vector<std::pair<std::string, std::string>> external_data;

    const uint8_t* data() const { return raw ? raw : owned.data(); }
    size_t byte_size() const { return raw ? raw_size : owned.size(); }
    int64_t element_count() const;  // product of dims (1 for a scalar)
};

struct Graph;

enum class AttributeType : int32_t {
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
};

struct Attribute {
    std::string name;
    AttributeType type = AttributeType::Undefined;
    float f = 0.0f;
    int64_t i = 0;
    std::string s;
    Tensor t;
    std::shared_ptr<Graph> g;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    std::vector<Tensor> tensors;
    std::vector<std::shared_ptr<Graph>> graphs;
    std::string ref_attr_name;
};

struct Dim {
    int64_t value = -1;  // -1 when unknown or symbolic
    std::string param;   // dim_param, when symbolic
    bool is_static() const { return value >= 0 && param.empty(); }
};

struct ValueInfo {
    std::string name;
    DataType elem_type = DataType::Undefined;
    bool has_tensor_type = false;  // false for sequence/map/optional types
    bool has_shape = false;
    std::vector<Dim> dims;
};

struct Node {
    std::vector<std::string> inputs;  // "" marks an absent optional input
    std::vector<std::string> outputs;
    std::string name;
    std::string op_type;
    std::string domain;  // "" or "ai.onnx" is the default domain
    std::vector<Attribute> attributes;

    const Attribute* find_attribute(const std::string& attr_name) const;
    bool is_default_domain() const { return domain.empty() || domain == "ai.onnx"; }
};

struct Graph {
    std::string name;
    std::vector<Node> nodes;
    std::vector<Tensor> initializers;
    std::vector<ValueInfo> inputs;  // may include initializers (IR < 4 style)
    std::vector<ValueInfo> outputs;
    std::vector<ValueInfo> value_info;
};

struct OpsetImport {
    std::string domain;
    int64_t version = 0;
};

struct Model {
    int64_t ir_version = 0;
    std::vector<OpsetImport> opset_import;
    std::string producer_name;
    std::string producer_version;
    std::string domain;
    int64_t model_version = 0;
    std::string doc_string;
    Graph graph;
    std::vector<std::pair<std::string, std::string>> metadata_props;

    // Opset version imported for a domain ("" and "ai.onnx" are the same); 0 when not imported.
    int64_t opset(const std::string& op_domain) const;
    // Value of a metadata_props key, or nullptr.
    const std::string* metadata(const std::string& key) const;
};

// Parse a serialized ModelProto. Throws ParseError with the byte offset and field on any malformed or truncated
// input; never reads outside [data, data + size).
Model parse_model(const uint8_t* data, size_t size);

// Parse a serialized TensorProto (the input_<i>.pb / output_<i>.pb files of the ONNX backend tests).
Tensor parse_tensor(const uint8_t* data, size_t size);

}  // namespace ezemu::onnx
