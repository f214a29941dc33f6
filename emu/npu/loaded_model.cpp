#include "npu/loaded_model.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>

#include "npu/model_format.hpp"
#include "kernels/kernel.hpp"
#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

[[noreturn]] void refuse(const std::string& message) { throw RknnError(RKNN_ERR_MODEL_INVALID, message); }

// Threads one run may use inside a kernel. An NPU core runs one inference at a time, so the default is 1; the
// benchmarks raise it with EZRKNN_EMU_THREADS to compare with a multi-threaded CPU runtime.
int intra_op_threads_from_environment()
{
    const char* value = std::getenv("EZRKNN_EMU_THREADS");
    if (value == nullptr || *value == '\0') return 1;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*end != '\0' || n < 1 || n > 256) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        std::string("EZRKNN_EMU_THREADS must be an integer from 1 to 256, got '") + value + "'");
    }
    return static_cast<int>(n);
}

std::shared_ptr<onnx::Model> parse(const ModelBytes& bytes)
{
    std::shared_ptr<onnx::Model> model;
    try {
        model = std::make_shared<onnx::Model>(onnx::parse_model(bytes.data(), bytes.size()));
    } catch (const onnx::ParseError& e) {
        refuse(bytes.description() + " is not a valid ONNX model: " + e.what());
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        refuse(bytes.description() + " is not a valid ONNX model: " + e.what());
    }
    // Random bytes can happen to parse as a protobuf; a real ModelProto always has an IR version and outputs.
    if (model->ir_version <= 0) refuse(bytes.description() + " is not a valid ONNX model: it has no ir_version");
    if (model->graph.outputs.empty()) {
        refuse(bytes.description() + " is not a valid ONNX model: its graph has no outputs");
    }
    return model;
}

std::shared_ptr<const CompiledModel> compile(std::shared_ptr<const onnx::Model> model,
                                             std::shared_ptr<const ModelWeights> weights, const std::string& source)
{
    try {
        CompileOptions options;
        options.intra_op_threads = intra_op_threads_from_environment();
        return CompiledModel::compile(std::move(model), std::move(weights), options);
    } catch (const ModelError& e) {
        refuse(e.what());
    } catch (const onnx::ParseError& e) {
        refuse(source + " is not a valid ONNX model: " + e.what());
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const RknnError&) {
        throw;
    } catch (const std::exception& e) {
        refuse("the ezrknn emulator could not prepare " + source + ": " + e.what());
    }
}

// A copy of `model` whose graph inputs have the dims of shape set `s` (ONNX order); the initializers stay views
// of the same weights.
std::shared_ptr<const onnx::Model> pin_input_shapes(const onnx::Model& model,
                                                    const std::vector<std::vector<int64_t>>& shapes, size_t s,
                                                    const std::string& source)
{
    auto pinned = std::make_shared<onnx::Model>(model);
    std::vector<onnx::ValueInfo*> inputs;
    for (onnx::ValueInfo& vi : pinned->graph.inputs) {
        bool weight = false;
        for (const onnx::Tensor& t : pinned->graph.initializers) weight = weight || t.name == vi.name;
        if (!weight) inputs.push_back(&vi);
    }
    const std::string what = source + ": " + kMetaDynamicInput + " shape set " + std::to_string(s);
    if (shapes.size() != inputs.size()) {
        refuse(what + " has " + std::to_string(shapes.size()) + " shape(s) but the model has " +
               std::to_string(inputs.size()) + " input(s)");
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        onnx::ValueInfo& vi = *inputs[i];
        const std::vector<int64_t>& dims = shapes[i];
        if (vi.has_shape && vi.dims.size() != dims.size()) {
            refuse(what + " gives input '" + vi.name + "' the shape " + kernels::shape_to_string(dims) +
                   " but its rank is " + std::to_string(vi.dims.size()));
        }
        for (size_t d = 0; vi.has_shape && d < dims.size(); ++d) {
            if (vi.dims[d].is_static() && vi.dims[d].value != dims[d]) {
                refuse(what + " gives input '" + vi.name + "' the shape " + kernels::shape_to_string(dims) +
                       " but its dim " + std::to_string(d) + " is fixed at " + std::to_string(vi.dims[d].value));
            }
        }
        vi.has_shape = true;
        vi.dims.assign(dims.size(), onnx::Dim{});
        for (size_t d = 0; d < dims.size(); ++d) vi.dims[d].value = dims[d];
    }
    return pinned;
}

// Mean/std lists must come one per input (or not at all).
void check_list_count(const std::vector<std::vector<float>>& lists, const char* key, size_t inputs,
                      const std::string& source)
{
    if (!lists.empty() && lists.size() != inputs) {
        refuse(source + ": " + key + " has " + std::to_string(lists.size()) + " list(s) but the model has " +
               std::to_string(inputs) + " input(s)");
    }
}

ShapeVariant describe_variant(std::shared_ptr<const CompiledModel> compiled, const ModelMetadata& meta,
                              bool exact_fp32, const Platform& platform)
{
    ShapeVariant v;
    v.compiled = std::move(compiled);
    const CompiledModel& c = *v.compiled;
    for (size_t i = 0; i < c.inputs().size(); ++i) {
        v.inputs.push_back(describe_tensor(c.inputs()[i], TensorRole::Input, static_cast<uint32_t>(i), exact_fp32,
                                           platform));
        if (auto q = input_quantization(c.model(), c.inputs()[i].name))
            mark_quantized(v.inputs.back(), TensorRole::Input, platform, *q);
        const std::vector<float> none;
        const std::vector<float>& mean = meta.mean_values.empty() ? none : meta.mean_values[i];
        const std::vector<float>& std_dev = meta.std_values.empty() ? none : meta.std_values[i];
        if (!mean.empty() || !std_dev.empty()) set_normalization(v.inputs.back(), mean, std_dev);
    }
    for (size_t i = 0; i < c.outputs().size(); ++i) {
        v.outputs.push_back(describe_tensor(c.outputs()[i], TensorRole::Output, static_cast<uint32_t>(i), exact_fp32,
                                            platform));
        if (auto q = output_quantization(c.model(), c.outputs()[i].name))
            mark_quantized(v.outputs.back(), TensorRole::Output, platform, *q);
    }
    return v;
}

}  // namespace

std::shared_ptr<const LoadedModel> LoadedModel::load(std::shared_ptr<const ModelBytes> bytes,
                                                     const LoadOptions& options)
{
    refuse_non_onnx_format(detect_model_format(bytes->data(), bytes->size()), bytes->description());

    std::shared_ptr<LoadedModel> loaded(new LoadedModel());
    loaded->platform_ = options.platform;
    loaded->source_ = bytes->description();
    loaded->model_size_ = bytes->size();

    std::shared_ptr<onnx::Model> model = parse(*bytes);
    loaded->metadata_ = read_model_metadata(*model);
    loaded->exact_fp32_ = options.exact_fp32 || loaded->metadata_.exact_fp32;
    if (loaded->metadata_.remove_weight && !options.weight_master) {
        refuse(loaded->source_ + ": this model has no weights (" + kMetaRemoveWeight +
               "); init it with RKNN_FLAG_SHARE_WEIGHT_MEM and extend->ctx = the master context");
    }
    if (options.weight_master && !loaded->metadata_.remove_weight) {
        refuse(loaded->source_ + " carries its own weights (no " + kMetaRemoveWeight +
               " = 1 in its metadata): RKNN_FLAG_SHARE_WEIGHT_MEM needs a model prepared with remove_weight; init "
               "this one without the flag");
    }
    if (loaded->is_dynamic() && (options.weight_master || loaded->metadata_.remove_weight)) {
        // The vendor runtime: "RKNN_FLAG_SHARE_WEIGHT_MEM is invalid, dynamic shape rknn model is not supported!"
        refuse(loaded->source_ + ": RKNN_FLAG_SHARE_WEIGHT_MEM and remove_weight are not supported for a dynamic "
                                 "shape model (" + kMetaDynamicInput + ")");
    }
    loaded->weights_ = options.weight_master
                           ? ModelWeights::borrow(std::move(model), std::move(bytes), options.weight_master->weights_)
                           : ModelWeights::own(std::move(model), std::move(bytes));

    const ModelMetadata& meta = loaded->metadata_;
    std::vector<std::shared_ptr<const CompiledModel>> plans;
    if (meta.dynamic_input.empty()) {
        plans.push_back(compile(loaded->weights_->shared_model(), loaded->weights_, loaded->source_));
    } else {
        if (meta.dynamic_input.size() > RKNN_MAX_DYNAMIC_SHAPE_NUM) {
            refuse(loaded->source_ + ": " + kMetaDynamicInput + " lists " + std::to_string(meta.dynamic_input.size()) +
                   " shape sets; RKNN allows at most " + std::to_string(RKNN_MAX_DYNAMIC_SHAPE_NUM));
        }
        for (size_t s = 0; s < meta.dynamic_input.size(); ++s) {
            plans.push_back(compile(pin_input_shapes(loaded->weights_->model(), meta.dynamic_input[s], s,
                                                     loaded->source_),
                                    loaded->weights_, loaded->source_));
        }
    }
    for (const auto& plan : plans) {
        if (plan->outputs().empty()) refuse(loaded->source_ + " has no graph outputs");
        check_list_count(meta.mean_values, kMetaMeanValues, plan->inputs().size(), loaded->source_);
        check_list_count(meta.std_values, kMetaStdValues, plan->inputs().size(), loaded->source_);
        loaded->variants_.push_back(describe_variant(plan, meta, loaded->exact_fp32_, *loaded->platform_));
    }
    return loaded;
}

size_t LoadedModel::internal_bytes() const
{
    size_t bytes = 0;
    for (const ShapeVariant& v : variants_) bytes = std::max(bytes, v.compiled->internal_bytes());
    return bytes;
}

}  // namespace ezemu::npu
