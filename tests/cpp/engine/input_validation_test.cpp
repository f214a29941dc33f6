// Input checks against a model input, and the element-type helpers they use.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/input_validation.hpp"
#include "ezrknn/errors.hpp"
#include "ezrknn/tensor.hpp"
#include "test_support.hpp"

namespace ezrknn::detail {
namespace {

using testing::message_of;

TensorDesc image_desc() {
    TensorDesc d;
    d.name = "images";
    d.shape = {1, 3, 4, 4};
    d.type = ElementType::Float16;
    d.format = TensorFormat::NCHW;
    return d;
}

TensorView view(ElementType t, std::vector<int64_t> shape, const void* data = reinterpret_cast<const void*>(16)) {
    TensorView v;
    v.type = t;
    v.shape = std::move(shape);
    v.nbytes = shape_element_count(v.shape) * element_size(t);
    v.data = data;
    return v;
}

TEST(AcceptedInputTypes, FollowTheRuntimeConversionTable) {
    const std::vector<ElementType> floats = {ElementType::Float32, ElementType::Float16, ElementType::Uint8,
                                             ElementType::Int8};
    EXPECT_EQ(accepted_input_types(ElementType::Float16, false), floats);
    EXPECT_EQ(accepted_input_types(ElementType::Float32, false), floats);
    EXPECT_EQ(accepted_input_types(ElementType::Int8, true),
              std::vector<ElementType>({ElementType::Int8, ElementType::Uint8, ElementType::Float32}));
    EXPECT_EQ(accepted_input_types(ElementType::Int8, false), std::vector<ElementType>({ElementType::Int8}));
    EXPECT_EQ(accepted_input_types(ElementType::Int16, true),
              std::vector<ElementType>({ElementType::Int16, ElementType::Uint8, ElementType::Float32}));
    EXPECT_EQ(accepted_input_types(ElementType::Uint16, true),
              std::vector<ElementType>({ElementType::Uint16, ElementType::Uint8, ElementType::Float32}));
    EXPECT_EQ(accepted_input_types(ElementType::Int16, false), std::vector<ElementType>({ElementType::Int16}));
    EXPECT_EQ(accepted_input_types(ElementType::Int64, false), std::vector<ElementType>({ElementType::Int64}));
    EXPECT_EQ(accepted_input_types(ElementType::Bool, false), std::vector<ElementType>({ElementType::Bool}));
    EXPECT_EQ(describe_types(floats), "float32, float16, uint8 or int8");
    EXPECT_EQ(describe_types({ElementType::Int64}), "int64");
    EXPECT_EQ(describe_types({ElementType::Int8, ElementType::Uint8}), "int8 or uint8");
}

TEST(ValidateInput, AcceptsEveryConvertibleTypeOfTheRightShape) {
    const TensorDesc d = image_desc();
    const auto accepted = accepted_input_types(d.type, false);
    for (ElementType t : accepted) EXPECT_NO_THROW(validate_input_view(d, accepted, view(t, {1, 3, 4, 4})));
}

TEST(ValidateInput, MessagesNameTheInput) {
    const TensorDesc d = image_desc();
    const auto accepted = accepted_input_types(d.type, false);
    auto check = [&](const TensorView& v) {
        return message_of<InvalidArgument>([&] { validate_input_view(d, accepted, v); });
    };
    EXPECT_EQ(check(view(ElementType::Int64, {1, 3, 4, 4})),
              "Input 'images' has element type int64, but this model input takes float32, float16, uint8 or int8");
    EXPECT_EQ(check(view(ElementType::Float32, {3, 4, 4})), "Input 'images' rank mismatch: expected 4, got 3");
    EXPECT_EQ(check(view(ElementType::Float32, {1, 4, 4, 3})),
              "Input 'images' shape mismatch: expected [1, 3, 4, 4], got [1, 4, 4, 3]");
    EXPECT_EQ(check(view(ElementType::Float32, {1, 3, 4, -4})),
              "Input 'images' shape mismatch: expected [1, 3, 4, 4], got [1, 3, 4, -4]");
    TensorView short_buffer = view(ElementType::Float32, {1, 3, 4, 4});
    short_buffer.nbytes -= 4;
    EXPECT_EQ(check(short_buffer),
              "Input 'images' size mismatch: expected 192 bytes for shape [1, 3, 4, 4] of float32, got 188");
    EXPECT_EQ(check(view(ElementType::Float32, {1, 3, 4, 4}, nullptr)), "Input 'images' data is null");
}

TEST(ValidateInput, IntegerInputsNeedTheirExactType) {
    TensorDesc d;
    d.name = "ids";
    d.shape = {1, 8};
    d.type = ElementType::Int64;
    const auto accepted = accepted_input_types(d.type, false);
    EXPECT_NO_THROW(validate_input_view(d, accepted, view(ElementType::Int64, {1, 8})));
    const TensorView wrong = view(ElementType::Float32, {1, 8});
    EXPECT_EQ(message_of<InvalidArgument>([&] { validate_input_view(d, accepted, wrong); }),
              "Input 'ids' has element type float32, but this model input takes int64");
}

TEST(ElementTypes, SizesNamesAndOnnxStrings) {
    EXPECT_EQ(element_size(ElementType::Float32), 4u);
    EXPECT_EQ(element_size(ElementType::Float16), 2u);
    EXPECT_EQ(element_size(ElementType::Int64), 8u);
    EXPECT_EQ(element_size(ElementType::Bool), 1u);
    EXPECT_EQ(element_size(ElementType::Int4), 0u);
    EXPECT_STREQ(element_type_name(ElementType::Uint16), "uint16");
    EXPECT_EQ(onnx_type_string(ElementType::Float32), "tensor(float)");
    EXPECT_EQ(onnx_type_string(ElementType::Float16), "tensor(float16)");
    EXPECT_EQ(onnx_type_string(ElementType::Bool), "tensor(bool)");
    EXPECT_EQ(element_type_from_rknn(1), ElementType::Float16);
    EXPECT_EQ(element_type_from_rknn(12), ElementType::Unknown);
    EXPECT_EQ(element_type_from_rknn(-1), ElementType::Unknown);
    EXPECT_EQ(shape_to_string({}), "[]");
    EXPECT_EQ(shape_to_string({2, 3}), "[2, 3]");
    EXPECT_EQ(shape_element_count({}), 1u);
    EXPECT_EQ(shape_element_count({2, 0, 3}), 0u);
    EXPECT_EQ(shape_element_count({2, 3, 4}), 24u);
}

}  // namespace
}  // namespace ezrknn::detail
