// The public C++ API of the engine: an ONNX Runtime-style session over one RKNN model.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/options.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn {

class RknnLibrary;

// Which RKNN library a session runs on, and the versions it reported (RKNN_QUERY_SDK_VERSION).
struct RuntimeInfo {
    std::string kind;         // "vendor" or "emulator"
    std::string library_path;
    std::string api_version;  // e.g. "2.3.2 (ezrknn emulator 0.1.0)"; "" when the query failed
    std::string drv_version;
    std::string chosen_by;    // why this library: "the default search order", "EZRKNN_RUNTIME='emulator'", ...
    // "emulator: librknnrt_emu.so 2.3.2 (ezrknn emulator 0.1.0), driver ezrknn emulator 0.1.0"
    std::string describe() const;
};

struct SessionConfig {
    ProviderOptions options;
    // Non-null: share this session's weights (RKNN_FLAG_SHARE_WEIGHT_MEM); the slave keeps the master alive.
    std::shared_ptr<class Session> weight_master;
    // Receives warnings (e.g. an outdated vendor runtime); Python turns them into UserWarning. When empty,
    // warnings go to stderr.
    std::function<void(const std::string&)> warning_sink;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    // Loads a model from a file: the path goes to rknn_init as is, so the runtime maps the weights, not copies.
    // A missing file, a directory or an empty file is reported before any runtime is loaded.
    static std::shared_ptr<Session> from_file(const std::string& path, SessionConfig config = {});
    // Loads a model from memory; the runtime copies it once, so the caller may free `data` afterwards.
    static std::shared_ptr<Session> from_bytes(const void* data, size_t size, SessionConfig config = {});

    virtual ~Session();

    // As the user passes them (the `layout` option decides NCHW or NHWC for 4-D inputs).
    const std::vector<TensorDesc>& inputs() const;
    const std::vector<TensorDesc>& outputs() const;
    const RuntimeInfo& runtime() const;
    const ProviderOptions& options() const;
    // RKNN_QUERY_CUSTOM_STRING of the model ("" when it has none).
    const std::string& custom_string() const;

    // Index of a tensor by name; throws InvalidArgument "Unknown input name: x" / "Unknown output name: y".
    size_t input_index(const std::string& name) const;
    size_t output_index(const std::string& name) const;

    // Checks one input against inputs()[index] (dtype, rank, shape); throws InvalidArgument naming the tensor.
    void validate_input(size_t index, const TensorView& view) const;

    // Runs once, synchronously, on the calling thread. `inputs` are in model order and are validated first.
    // Returns float32 outputs for `output_indices` (all outputs, in model order, when empty; an index may repeat,
    // and repeats share one buffer). Thread-safe: concurrent calls each lease their own RKNN context and wait
    // when every context is busy.
    std::vector<Tensor> run(const std::vector<TensorView>& inputs, const std::vector<size_t>& output_indices = {});

    // Bytes copied by the engine on the data path since the session was created (input staging, transposes).
    uint64_t copied_bytes() const;

    // RKNN contexts this session created (threads_per_core × the distinct cores of `schedule`, or of one route).
    size_t context_count() const;

private:
    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace ezrknn
