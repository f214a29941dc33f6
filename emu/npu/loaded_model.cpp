#include "npu/loaded_model.hpp"

#include <cstdlib>
#include <new>
#include <string>

#include "npu/model_format.hpp"
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

std::shared_ptr<const CompiledModel> compile(std::shared_ptr<const ModelWeights> weights, const std::string& source)
{
    try {
        CompileOptions options;
        options.intra_op_threads = intra_op_threads_from_environment();
        std::shared_ptr<const onnx::Model> model = weights->shared_model();
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
    loaded->weights_ = options.weight_master
                           ? ModelWeights::borrow(std::move(model), std::move(bytes), options.weight_master->weights_)
                           : ModelWeights::own(std::move(model), std::move(bytes));
    loaded->compiled_ = compile(loaded->weights_, loaded->source_);

    const CompiledModel& compiled = *loaded->compiled_;
    if (compiled.outputs().empty()) refuse(loaded->source_ + " has no graph outputs");
    for (size_t i = 0; i < compiled.inputs().size(); ++i) {
        loaded->inputs_.push_back(describe_tensor(compiled.inputs()[i], TensorRole::Input, static_cast<uint32_t>(i),
                                                  loaded->exact_fp32_, *loaded->platform_));
        if (auto q = input_quantization(compiled.model(), compiled.inputs()[i].name))
            mark_quantized(loaded->inputs_.back(), TensorRole::Input, *loaded->platform_, *q);
    }
    for (size_t i = 0; i < compiled.outputs().size(); ++i) {
        loaded->outputs_.push_back(describe_tensor(compiled.outputs()[i], TensorRole::Output,
                                                   static_cast<uint32_t>(i), loaded->exact_fp32_,
                                                   *loaded->platform_));
        if (auto q = output_quantization(compiled.model(), compiled.outputs()[i].name))
            mark_quantized(loaded->outputs_.back(), TensorRole::Output, *loaded->platform_, *q);
    }
    return loaded;
}

}  // namespace ezemu::npu
