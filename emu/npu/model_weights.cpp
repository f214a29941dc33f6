#include "npu/model_weights.hpp"

#include <cstdint>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

std::string describe(const onnx::Tensor& t)
{
    std::string text = std::string(onnx::data_type_name(t.data_type)) + " [";
    for (size_t i = 0; i < t.dims.size(); ++i) {
        if (i) text += ',';
        text += std::to_string(t.dims[i]);
    }
    return text + "]";
}

// Repoints misaligned raw_data views at aligned copies; kernels read whole elements.
void realign(onnx::Graph& graph, std::vector<kernels::AlignedBuffer>& copies)
{
    for (onnx::Tensor& t : graph.initializers) {
        const size_t esize = onnx::data_type_size(t.data_type);
        if (!t.raw || t.raw_size == 0 || esize == 0) continue;
        if (reinterpret_cast<uintptr_t>(t.raw) % esize == 0) continue;
        copies.emplace_back(t.raw, t.raw_size);
        t.raw = copies.back().data();
    }
}

}  // namespace

void ModelWeights::index_initializers()
{
    for (const onnx::Tensor& t : model_->graph.initializers) by_name_.emplace(t.name, &t);
}

const onnx::Tensor* ModelWeights::find(const std::string& name) const
{
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<const ModelWeights> ModelWeights::own(std::shared_ptr<onnx::Model> model,
                                                      std::shared_ptr<const ModelBytes> bytes)
{
    std::shared_ptr<ModelWeights> weights(new ModelWeights());
    realign(model->graph, weights->realigned_);
    for (const onnx::Tensor& t : model->graph.initializers) weights->own_bytes_ += t.byte_size();
    weights->model_ = std::move(model);
    weights->bytes_ = std::move(bytes);
    weights->index_initializers();
    return weights;
}

std::shared_ptr<const ModelWeights> ModelWeights::borrow(std::shared_ptr<onnx::Model> model,
                                                         std::shared_ptr<const ModelBytes> bytes,
                                                         std::shared_ptr<const ModelWeights> master)
{
    std::shared_ptr<ModelWeights> weights(new ModelWeights());
    realign(model->graph, weights->realigned_);
    for (onnx::Tensor& t : model->graph.initializers) {
        if (!t.external) {
            weights->own_bytes_ += t.byte_size();
            continue;
        }
        const onnx::Tensor* from = master->find(t.name);
        if (!from) {
            throw RknnError(RKNN_ERR_MODEL_INVALID,
                            "weight '" + t.name + "' (" + describe(t) +
                                ") is not in the master context's model: init the slave with the master it was "
                                "prepared from");
        }
        if (from->data_type != t.data_type || from->dims != t.dims) {
            throw RknnError(RKNN_ERR_MODEL_INVALID, "weight '" + t.name + "': the slave expects " + describe(t) +
                                                        " but the master context's model has " + describe(*from) +
                                                        ": init the slave with the master it was prepared from");
        }
        if (from->external || onnx::data_type_size(from->data_type) == 0) {
            throw RknnError(RKNN_ERR_MODEL_INVALID, "weight '" + t.name + "' (" + describe(t) +
                                                        ") has no data the master context can share");
        }
        t.raw = from->data();
        t.raw_size = from->byte_size();
        t.external = false;
        t.external_data.clear();
        weights->borrowed_bytes_ += t.raw_size;
        ++weights->borrowed_count_;
    }
    weights->model_ = std::move(model);
    weights->bytes_ = std::move(bytes);
    weights->master_ = std::move(master);
    weights->index_initializers();
    return weights;
}

}  // namespace ezemu::npu
