// Input checks run before any RKNN call, so a wrong input is reported by name instead of as a runtime error code.
#include "input_validation.hpp"

#include <algorithm>
#include <string>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {

std::vector<ElementType> accepted_input_types(ElementType model_type, bool quantized) {
    switch (model_type) {
        case ElementType::Float32:
        case ElementType::Float16:
        case ElementType::BFloat16:
            return {ElementType::Float32, ElementType::Float16, ElementType::Uint8, ElementType::Int8};
        case ElementType::Int8:
        case ElementType::Uint8:
            if (quantized) return {ElementType::Int8, ElementType::Uint8, ElementType::Float32};
            return {model_type};
        case ElementType::Int16:
        case ElementType::Uint16:
            // Its own type holds quantized values; uint8 pixels and float32 are values the runtime quantizes.
            if (quantized) return {model_type, ElementType::Uint8, ElementType::Float32};
            return {model_type};
        default: return {model_type};
    }
}

std::string describe_types(const std::vector<ElementType>& types) {
    std::string out;
    for (size_t i = 0; i < types.size(); ++i) {
        if (i > 0) out += (i + 1 == types.size()) ? " or " : ", ";
        out += element_type_name(types[i]);
    }
    return out;
}

void validate_input_view(const TensorDesc& desc, const std::vector<ElementType>& accepted, const TensorView& view) {
    const std::string who = "Input '" + desc.name + "'";
    if (std::find(accepted.begin(), accepted.end(), view.type) == accepted.end()) {
        throw InvalidArgument(who + " has element type " + element_type_name(view.type) +
                              ", but this model input takes " + describe_types(accepted));
    }
    if (view.shape.size() != desc.shape.size()) {
        throw InvalidArgument(who + " rank mismatch: expected " + std::to_string(desc.shape.size()) + ", got " +
                              std::to_string(view.shape.size()));
    }
    if (view.shape != desc.shape) {
        throw InvalidArgument(who + " shape mismatch: expected " + shape_to_string(desc.shape) + ", got " +
                              shape_to_string(view.shape));
    }
    const size_t expected = shape_element_count(view.shape) * element_size(view.type);
    if (view.nbytes != expected) {
        throw InvalidArgument(who + " size mismatch: expected " + std::to_string(expected) + " bytes for shape " +
                              shape_to_string(view.shape) + " of " + element_type_name(view.type) + ", got " +
                              std::to_string(view.nbytes));
    }
    if (view.data == nullptr && expected > 0) throw InvalidArgument(who + " data is null");
}

}  // namespace ezrknn::detail
