// Element-type facts shared by validation, output conversion and the Python binding's type strings.
#include <cstdint>
#include <string>

#include "ezrknn/tensor.hpp"

namespace ezrknn {

size_t element_size(ElementType t) {
    switch (t) {
        case ElementType::Float32: return 4;
        case ElementType::Float16: return 2;
        case ElementType::Int8: return 1;
        case ElementType::Uint8: return 1;
        case ElementType::Int16: return 2;
        case ElementType::Uint16: return 2;
        case ElementType::Int32: return 4;
        case ElementType::Uint32: return 4;
        case ElementType::Int64: return 8;
        case ElementType::Bool: return 1;
        case ElementType::BFloat16: return 2;
        case ElementType::Int4:  // two elements per byte: no whole-byte size
        case ElementType::Unknown: return 0;
    }
    return 0;
}

const char* element_type_name(ElementType t) {
    switch (t) {
        case ElementType::Float32: return "float32";
        case ElementType::Float16: return "float16";
        case ElementType::Int8: return "int8";
        case ElementType::Uint8: return "uint8";
        case ElementType::Int16: return "int16";
        case ElementType::Uint16: return "uint16";
        case ElementType::Int32: return "int32";
        case ElementType::Uint32: return "uint32";
        case ElementType::Int64: return "int64";
        case ElementType::Bool: return "bool";
        case ElementType::Int4: return "int4";
        case ElementType::BFloat16: return "bfloat16";
        case ElementType::Unknown: return "unknown";
    }
    return "unknown";
}

std::string onnx_type_string(ElementType t) {
    switch (t) {
        case ElementType::Float32: return "tensor(float)";  // ONNX Runtime's spelling, not "float32"
        case ElementType::Float16: return "tensor(float16)";
        case ElementType::Int8: return "tensor(int8)";
        case ElementType::Uint8: return "tensor(uint8)";
        case ElementType::Int16: return "tensor(int16)";
        case ElementType::Uint16: return "tensor(uint16)";
        case ElementType::Int32: return "tensor(int32)";
        case ElementType::Uint32: return "tensor(uint32)";
        case ElementType::Int64: return "tensor(int64)";
        case ElementType::Bool: return "tensor(bool)";
        case ElementType::Int4: return "tensor(int4)";
        case ElementType::BFloat16: return "tensor(bfloat16)";
        case ElementType::Unknown: return "tensor(unknown)";
    }
    return "tensor(unknown)";
}

ElementType element_type_from_rknn(int32_t rknn_type) {
    if (rknn_type < 0 || rknn_type >= static_cast<int32_t>(ElementType::Unknown)) return ElementType::Unknown;
    return static_cast<ElementType>(rknn_type);
}

}  // namespace ezrknn

namespace ezrknn {

std::string shape_to_string(const std::vector<int64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(shape[i]);
    }
    return out + "]";
}

size_t shape_element_count(const std::vector<int64_t>& shape) {
    size_t count = 1;
    for (int64_t d : shape) {
        if (d < 0) return 0;
        if (d != 0 && count > SIZE_MAX / static_cast<size_t>(d)) return 0;
        count *= static_cast<size_t>(d);
    }
    return count;
}

}  // namespace ezrknn
