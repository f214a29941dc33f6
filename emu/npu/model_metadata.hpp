// What rknn-toolkit2 bakes into a .rknn file, carried by an ONNX model's metadata_props (DESIGN.md, "Model format
// of the emulator"). The key names are the contract with the model-preparation helper, the docs and the tests.
#pragma once

#include <string>
#include <vector>

#include "graph/onnx_model.hpp"

namespace ezemu::npu {

// Text returned by RKNN_QUERY_CUSTOM_STRING (toolkit2: config(custom_string=...)).
inline constexpr const char* kMetaCustomString = "rknn.custom_string";
// SoC the model was prepared for, e.g. "rk3588" (toolkit2: config(target_platform=...)).
inline constexpr const char* kMetaTargetPlatform = "rknn.target_platform";
// "1" or "true": run in exact fp32 instead of as an fp16 NPU model (debugging and conformance).
inline constexpr const char* kMetaExactFp32 = "rknn.exact_fp32";
// "1": a weight-less slave model (toolkit2: config(remove_weight=True)). Its floating-point initializers are stored
// as external data with no payload and are taken by name from the master context given to rknn_init with
// RKNN_FLAG_SHARE_WEIGHT_MEM (extend->ctx).
inline constexpr const char* kMetaRemoveWeight = "rknn.remove_weight";
// JSON lists, one per graph input, of one value per channel (toolkit2: config(mean_values=..., std_values=...)):
// the NPU feeds (x - mean[c]) / std[c] to the graph for data given with pass_through = 0.
inline constexpr const char* kMetaMeanValues = "rknn.mean_values";
inline constexpr const char* kMetaStdValues = "rknn.std_values";
// JSON list of shape sets, each one full ONNX-order shape per graph input (toolkit2: config(dynamic_input=...)):
// the shapes rknn_set_input_shapes may select; the first is the default.
inline constexpr const char* kMetaDynamicInput = "rknn.dynamic_input";

// Environment variable that turns on exact fp32 for every model ("1" or "true").
inline constexpr const char* kExactFp32Env = "EZRKNN_EMU_EXACT_FP32";

// RKNN_QUERY_CUSTOM_STRING has 1024 bytes including the terminating NUL.
inline constexpr size_t kMaxCustomStringBytes = 1023;

struct ModelMetadata {
    std::string custom_string;    // "" when absent; at most kMaxCustomStringBytes
    std::string target_platform;  // lower case; "" when absent
    bool exact_fp32 = false;
    bool remove_weight = false;
    std::vector<std::vector<float>> mean_values;  // per input, per channel; empty when absent
    std::vector<std::vector<float>> std_values;
    std::vector<std::vector<std::vector<int64_t>>> dynamic_input;  // sets × inputs × dims; empty when static
};

// Throws RknnError(RKNN_ERR_MODEL_INVALID) naming the key when a list value is malformed.
ModelMetadata read_model_metadata(const onnx::Model& model);

// "1", "true", "yes", "on" in any case.
bool is_truthy(const std::string& value);

// Whether EZRKNN_EMU_EXACT_FP32 asks for exact fp32.
bool exact_fp32_from_environment();

}  // namespace ezemu::npu
