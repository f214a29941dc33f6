// The bytes of a model, kept alive as long as any context uses the model: a private copy of a caller's buffer
// (the caller may free it right after rknn_init) or a read-only mapping of a file (weights are viewed in place).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ezemu::npu {

class ModelBytes {
public:
    virtual ~ModelBytes() = default;
    virtual const uint8_t* data() const = 0;
    virtual size_t size() const = 0;
    // "file '/path/model.onnx'" or "buffer of N bytes", for messages.
    virtual std::string description() const = 0;
};

// Copies `size` bytes once.
std::shared_ptr<const ModelBytes> copy_model_buffer(const void* data, size_t size);

// Maps the file read-only. Throws RknnError(RKNN_ERR_MODEL_INVALID) for a missing or unreadable path, a
// directory or other non-regular file, and an empty file.
std::shared_ptr<const ModelBytes> map_model_file(const std::string& path);

}  // namespace ezemu::npu
