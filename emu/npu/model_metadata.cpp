#include "npu/model_metadata.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "npu/number_lists.hpp"
#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

std::string to_lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string trimmed(const std::string& text)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

template <typename Convert>
auto read_list(const onnx::Model& model, const char* key, Convert convert) -> decltype(convert(NumberList{}))
{
    const std::string* text = model.metadata(key);
    if (!text) return {};
    try {
        return convert(parse_number_list(*text));
    } catch (const std::invalid_argument& e) {
        throw RknnError(RKNN_ERR_MODEL_INVALID, std::string("model metadata ") + key + " is malformed: " + e.what() +
                                                    "; prepare the model again with the model_prep helper");
    }
}

}  // namespace

bool is_truthy(const std::string& value)
{
    const std::string v = to_lower(trimmed(value));
    return v == "1" || v == "true" || v == "yes" || v == "on";
}

bool exact_fp32_from_environment()
{
    const char* value = std::getenv(kExactFp32Env);
    return value && is_truthy(value);
}

ModelMetadata read_model_metadata(const onnx::Model& model)
{
    ModelMetadata meta;
    if (const std::string* s = model.metadata(kMetaCustomString)) {
        meta.custom_string = s->substr(0, kMaxCustomStringBytes);
        // An embedded NUL would end the C string early anyway; cut there so the stored text matches what callers see.
        meta.custom_string = meta.custom_string.substr(0, meta.custom_string.find('\0'));
    }
    if (const std::string* s = model.metadata(kMetaTargetPlatform)) meta.target_platform = to_lower(trimmed(*s));
    if (const std::string* s = model.metadata(kMetaExactFp32)) meta.exact_fp32 = is_truthy(*s);
    if (const std::string* s = model.metadata(kMetaRemoveWeight)) meta.remove_weight = is_truthy(*s);
    meta.mean_values = read_list(model, kMetaMeanValues, to_float_lists);
    meta.std_values = read_list(model, kMetaStdValues, to_float_lists);
    meta.dynamic_input = read_list(model, kMetaDynamicInput, to_shape_sets);
    return meta;
}

}  // namespace ezemu::npu
