// The initializer data of a loaded model, owned apart from its kernels: RKNN_FLAG_SHARE_WEIGHT_MEM slaves look
// weights up here by name and keep them alive (reference-counted) after the master context is destroyed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/onnx_model.hpp"
#include "kernels/aligned_buffer.hpp"
#include "npu/model_bytes.hpp"

namespace ezemu::npu {

class ModelWeights {
public:
    // A model with its own weights. Initializers whose raw_data sits at an offset that is not a multiple of the
    // element size are copied once to aligned memory and the model's tensors repointed there, so that the graph
    // (and any slave) reads them in place instead of each making its own aligned copy.
    static std::shared_ptr<const ModelWeights> own(std::shared_ptr<onnx::Model> model,
                                                   std::shared_ptr<const ModelBytes> bytes);

    // A weight-less (remove_weight) model: each initializer stored as external data is repointed at the master's
    // initializer of the same name. Throws RknnError(RKNN_ERR_MODEL_INVALID) naming the first weight the master
    // lacks or holds with another dtype or dims. Initializers with data of their own stay the slave's.
    static std::shared_ptr<const ModelWeights> borrow(std::shared_ptr<onnx::Model> model,
                                                      std::shared_ptr<const ModelBytes> bytes,
                                                      std::shared_ptr<const ModelWeights> master);

    const onnx::Model& model() const { return *model_; }
    std::shared_ptr<const onnx::Model> shared_model() const { return model_; }
    // The initializer called `name` in this model (with data, own or borrowed), or nullptr.
    const onnx::Tensor* find(const std::string& name) const;
    // Bytes of initializers this model holds itself, and of those it reads from its master.
    size_t own_bytes() const { return own_bytes_; }
    size_t borrowed_bytes() const { return borrowed_bytes_; }
    size_t borrowed_count() const { return borrowed_count_; }

private:
    ModelWeights() = default;
    void index_initializers();

    std::shared_ptr<const onnx::Model> model_;
    std::shared_ptr<const ModelBytes> bytes_;           // what the model's raw views point into
    std::shared_ptr<const ModelWeights> master_;        // what borrowed tensors point into; null for a master
    std::vector<kernels::AlignedBuffer> realigned_;     // aligned copies of misaligned raw_data
    std::unordered_map<std::string, const onnx::Tensor*> by_name_;
    size_t own_bytes_ = 0;
    size_t borrowed_bytes_ = 0;
    size_t borrowed_count_ = 0;
};

}  // namespace ezemu::npu
