// A model as rknn_init leaves it: bytes, parsed graph, compiled executor, RKNN metadata and tensor attributes.
// Immutable once loaded and shared by every context created from it (rknn_dup_context), so destroying the
// first context keeps the others working.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/compiled_model.hpp"
#include "npu/model_bytes.hpp"
#include "npu/model_metadata.hpp"
#include "npu/model_weights.hpp"
#include "npu/platform.hpp"
#include "npu/tensor_attrs.hpp"

namespace ezemu::npu {

class LoadedModel;

// One compiled shape set: the only one of a static model, one per rknn.dynamic_input entry of a dynamic one
// (rknn-api.md §7.12). The executor plans static shapes, so each set has its own plan and kernels.
struct ShapeVariant {
    std::shared_ptr<const CompiledModel> compiled;
    std::vector<IoTensor> inputs;
    std::vector<IoTensor> outputs;
};

struct LoadOptions {
    const Platform* platform = nullptr;  // required
    bool exact_fp32 = false;             // forced on (EZRKNN_EMU_EXACT_FP32); the model's metadata may also ask
    // RKNN_FLAG_SHARE_WEIGHT_MEM: the master context's model, whose weights a remove_weight model uses by name.
    std::shared_ptr<const LoadedModel> weight_master;
};

class LoadedModel {
public:
    // Throws RknnError(RKNN_ERR_MODEL_INVALID) for anything that is not a runnable ONNX model, with the reason; also
    // for a remove_weight model without a weight master, a model with weights given one, and a weight the master
    // lacks or holds with another dtype or dims; and for mean/std or dynamic shape sets that do not fit the model.
    static std::shared_ptr<const LoadedModel> load(std::shared_ptr<const ModelBytes> bytes,
                                                   const LoadOptions& options);

    // The first shape set: what INPUT_ATTR / OUTPUT_ATTR report (the default shape of a dynamic model).
    const CompiledModel& compiled() const { return *variants_.front().compiled; }
    const Platform& platform() const { return *platform_; }
    const ModelMetadata& metadata() const { return metadata_; }
    bool exact_fp32() const { return exact_fp32_; }
    const std::vector<IoTensor>& inputs() const { return variants_.front().inputs; }
    const std::vector<IoTensor>& outputs() const { return variants_.front().outputs; }
    // Every shape set, in the order RKNN_QUERY_INPUT_DYNAMIC_RANGE lists them.
    const std::vector<ShapeVariant>& variants() const { return variants_; }
    bool is_dynamic() const { return !metadata_.dynamic_input.empty(); }
    // Peak intermediate bytes over the shape sets (what a context of any current shape needs).
    size_t internal_bytes() const;
    const std::string& source() const { return source_; }
    size_t model_bytes() const { return model_size_; }
    // Initializer data, shared with SHARE_WEIGHT_MEM slaves. weight_bytes() counts only what this model holds
    // itself: a slave's borrowed weights are the master's (RKNN_QUERY_MEM_SIZE reports them there).
    const std::shared_ptr<const ModelWeights>& weights() const { return weights_; }
    size_t weight_bytes() const { return compiled().weight_bytes() - weights_->borrowed_bytes(); }

private:
    LoadedModel() = default;

    std::shared_ptr<const ModelWeights> weights_;
    std::vector<ShapeVariant> variants_;
    const Platform* platform_ = nullptr;
    ModelMetadata metadata_;
    bool exact_fp32_ = false;
    std::string source_;
    size_t model_size_ = 0;
};

}  // namespace ezemu::npu
