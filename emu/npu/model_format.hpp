// Which kind of model a byte string holds, decided by content only (never by file name): an ONNX model saved
// as model.rknn loads, a compiled .rknn file is refused with a message that says where it can run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ezemu::npu {

enum class ModelFormat {
    MaybeOnnx,          // nothing else recognised; the ONNX reader decides
    CompiledRknn,       // "RKNN" at offset 0 (rknn-api.md §8)
    RknnLite,           // bare FlatBuffers with identifier "RKNN" at bytes 4..8
    EncryptedRknn,      // "CYPTRKNN" at offset 0
    OpenVxNbg,          // "VPMN" at offset 0: RKNN-Toolkit1 NBG
    TfLite,             // FlatBuffers identifier "TFL3"
    ZipArchive,         // "PK\x03\x04": e.g. a PyTorch checkpoint
};

ModelFormat detect_model_format(const uint8_t* data, size_t size);

// Throws RknnError(RKNN_ERR_MODEL_INVALID) explaining why the emulator cannot run a format other than
// MaybeOnnx and what to do instead. `source` names the buffer or file.
void refuse_non_onnx_format(ModelFormat format, const std::string& source);

}  // namespace ezemu::npu
