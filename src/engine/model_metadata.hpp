// ModelMetadata of a session, from what the RKNN runtime and the model source tell (anchor-behaviour.md §9).
#pragma once

#include <string>

#include "ezrknn/session.hpp"

namespace ezrknn::detail {

// `model_path` is "" for a model given as bytes.
ModelMetadata describe_model(const std::string& model_path, const RuntimeInfo& runtime,
                             const std::string& custom_string);

}  // namespace ezrknn::detail
