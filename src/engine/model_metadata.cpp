// RKNN models carry a custom string and nothing else ORT's ModelMetadata asks for; the rest says where the model
// came from and what runs it, so that logs and tools that print metadata stay informative.
#include "model_metadata.hpp"

namespace ezrknn::detail {
namespace {

std::string file_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string stem(const std::string& name) {
    const size_t dot = name.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

ModelMetadata describe_model(const std::string& model_path, const RuntimeInfo& runtime,
                             const std::string& custom_string) {
    ModelMetadata meta;
    // A .rknn file always comes from rknn-toolkit2; the emulator runs ONNX models directly.
    meta.producer_name = runtime.kind == "emulator" ? "onnx" : "rknn-toolkit2";
    const std::string name = file_name(model_path);
    meta.graph_name = stem(name);
    meta.description = (name.empty() ? std::string("model from bytes") : name) + " on " + runtime.describe();
    meta.custom_string = custom_string;
    return meta;
}

}  // namespace ezrknn::detail
