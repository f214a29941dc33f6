// Batch splitting and output concatenation.
#include "batch_splitter.hpp"

#include <cstring>
#include <new>

namespace ezrknn::detail {

std::vector<std::vector<TensorView>> split_batch(const std::vector<TensorView>& inputs,
                                                 const std::vector<TensorDesc>& model_inputs) {
    if (inputs.size() != model_inputs.size()) {
        throw InvalidArgument("Input count mismatch: expected " + std::to_string(model_inputs.size()) + ", got " +
                              std::to_string(inputs.size()));
    }
    if (inputs.empty()) throw InvalidArgument("Batch mode needs at least one input");
    int64_t batch = -1;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const std::vector<int64_t>& model_shape = model_inputs[i].shape;
        if (model_shape.empty() || (model_shape[0] != 1 && model_shape[0] != 0)) {
            throw InvalidArgument("Batch mode requires model input batch dimension == 1 (input '" +
                                  model_inputs[i].name + "' has shape " + shape_to_string(model_shape) + ")");
        }
        if (inputs[i].shape.empty()) {
            throw InvalidArgument("Batch mode requires inputs with a batch axis; input '" + model_inputs[i].name +
                                  "' is a scalar");
        }
        const int64_t b = inputs[i].shape[0];
        if (batch < 0) batch = b;
        if (b != batch) {
            throw InvalidArgument("Batch size mismatch across inputs: input '" + model_inputs[0].name + "' has " +
                                  std::to_string(batch) + ", input '" + model_inputs[i].name + "' has " +
                                  std::to_string(b));
        }
    }
    if (batch <= 0) throw InvalidArgument("Batch size must be greater than 0");
    const size_t n = static_cast<size_t>(batch);
    std::vector<std::vector<TensorView>> samples(n, std::vector<TensorView>(inputs.size()));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].nbytes % n != 0) {
            throw InvalidArgument("Batch input bytes mismatch at input index " + std::to_string(i));
        }
        const size_t sample_bytes = inputs[i].nbytes / n;
        std::vector<int64_t> shape = inputs[i].shape;
        shape[0] = 1;
        for (size_t b = 0; b < n; ++b) {
            TensorView& v = samples[b][i];
            v.data = static_cast<const unsigned char*>(inputs[i].data) + b * sample_bytes;
            v.nbytes = sample_bytes;
            v.type = inputs[i].type;
            v.shape = shape;
        }
    }
    return samples;
}

std::vector<Tensor> concat_batch(const std::vector<RunOutcome>& samples, size_t& copied) {
    if (samples.empty()) throw Error("Inference failed in batch mode: no samples");
    const std::vector<Tensor>& first = samples[0].outputs;
    for (const RunOutcome& s : samples) {
        if (s.outputs.size() != first.size()) throw Error("Batch output attr count mismatch");
        for (size_t o = 0; o < first.size(); ++o) {
            if (s.outputs[o].shape.size() != first[o].shape.size()) throw Error("Batch output rank mismatch");
            if (s.outputs[o].shape != first[o].shape || s.outputs[o].nbytes != first[o].nbytes) {
                throw Error("Batch output shape mismatch: output " + std::to_string(o) + " is " +
                            shape_to_string(first[o].shape) + " in sample 0 and " +
                            shape_to_string(s.outputs[o].shape) + " in another sample");
            }
        }
    }
    const size_t batch = samples.size();
    std::vector<Tensor> result;
    result.reserve(first.size());
    copied = 0;
    for (size_t o = 0; o < first.size(); ++o) {
        const size_t sample_bytes = first[o].nbytes;
        Tensor t;
        t.type = first[o].type;
        t.shape = first[o].shape;
        if (t.shape.empty()) {
            t.shape = {static_cast<int64_t>(batch)};
        } else {
            t.shape[0] *= static_cast<int64_t>(batch);  // concatenation along axis 0, whatever the sample's dim 0
        }
        t.nbytes = sample_bytes * batch;
        std::shared_ptr<unsigned char[]> buf(new (std::nothrow) unsigned char[t.nbytes > 0 ? t.nbytes : 1]);
        if (!buf) throw Error("Failed to allocate output buffer for output " + std::to_string(o) + " in batch mode");
        for (size_t b = 0; b < batch; ++b) {
            if (sample_bytes > 0) std::memcpy(buf.get() + b * sample_bytes, samples[b].outputs[o].data, sample_bytes);
        }
        copied += t.nbytes;
        t.data = buf.get();
        t.storage = std::shared_ptr<void>(buf, buf.get());
        result.push_back(std::move(t));
    }
    return result;
}

}  // namespace ezrknn::detail
