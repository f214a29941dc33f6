// Tensors as the engine's public API sees them: element types, descriptions, borrowed input views, owned outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ezrknn {

// Values equal rknn_tensor_type, so a cast converts between the two.
enum class ElementType : int32_t {
    Float32 = 0,
    Float16 = 1,
    Int8 = 2,
    Uint8 = 3,
    Int16 = 4,
    Uint16 = 5,
    Int32 = 6,
    Uint32 = 7,
    Int64 = 8,
    Bool = 9,
    Int4 = 10,
    BFloat16 = 11,
    Unknown = 12,
};

size_t element_size(ElementType t);           // bytes per element; 0 for Int4 and Unknown
const char* element_type_name(ElementType t);  // "float32", "float16", ... , "unknown"
std::string onnx_type_string(ElementType t);   // "tensor(float)", "tensor(float16)", ... , "tensor(unknown)"
// An rknn_tensor_type value as an ElementType; Unknown for values outside the enum.
ElementType element_type_from_rknn(int32_t rknn_type);

// Values equal rknn_tensor_format.
enum class TensorFormat : int32_t { NCHW = 0, NHWC = 1, NC1HWC2 = 2, Undefined = 3 };

// What get_inputs()/get_outputs() describe (ONNX Runtime's NodeArg).
struct TensorDesc {
    std::string name;
    std::vector<int64_t> shape;
    ElementType type = ElementType::Float32;
    TensorFormat format = TensorFormat::Undefined;
};

// "[1, 3, 224, 224]", the form every shape error message uses.
std::string shape_to_string(const std::vector<int64_t>& shape);
// Product of the dims (1 for a scalar); 0 when a dim is negative or the product overflows size_t.
size_t shape_element_count(const std::vector<int64_t>& shape);

// A caller-owned, C-contiguous input buffer. The engine reads it only during the call that receives it.
struct TensorView {
    const void* data = nullptr;
    size_t nbytes = 0;
    ElementType type = ElementType::Float32;
    std::vector<int64_t> shape;
};

// An engine-owned result. `storage` keeps the bytes alive, so it can back a numpy array without a copy.
struct Tensor {
    std::shared_ptr<void> storage;
    void* data = nullptr;
    size_t nbytes = 0;
    ElementType type = ElementType::Float32;
    std::vector<int64_t> shape;
};

}  // namespace ezrknn
