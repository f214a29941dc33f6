#include "npu/model_format.hpp"

#include <cstring>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

bool has_bytes_at(const uint8_t* data, size_t size, size_t offset, const char* magic)
{
    const size_t n = std::strlen(magic);
    return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

// A FlatBuffers file starts with a little-endian uint32 root offset, small in practice, so its bytes 2..3 are zero.
// An ONNX file has a protobuf field tag there (never zero), so a producer name starting with "RKNN" is not
// mistaken for a FlatBuffers identifier.
bool is_flatbuffer_with_identifier(const uint8_t* data, size_t size, const char* identifier)
{
    return has_bytes_at(data, size, 4, identifier) && data[2] == 0 && data[3] == 0;
}

}  // namespace

ModelFormat detect_model_format(const uint8_t* data, size_t size)
{
    if (has_bytes_at(data, size, 0, "CYPTRKNN")) return ModelFormat::EncryptedRknn;
    if (has_bytes_at(data, size, 0, "RKNN")) return ModelFormat::CompiledRknn;
    if (is_flatbuffer_with_identifier(data, size, "RKNN")) return ModelFormat::RknnLite;
    if (has_bytes_at(data, size, 0, "VPMN")) return ModelFormat::OpenVxNbg;
    if (is_flatbuffer_with_identifier(data, size, "TFL3")) return ModelFormat::TfLite;
    if (has_bytes_at(data, size, 0, "PK\x03\x04")) return ModelFormat::ZipArchive;
    return ModelFormat::MaybeOnnx;
}

void refuse_non_onnx_format(ModelFormat format, const std::string& source)
{
    std::string what;
    switch (format) {
    case ModelFormat::MaybeOnnx: return;
    case ModelFormat::CompiledRknn: what = "is a compiled .rknn model"; break;
    case ModelFormat::RknnLite: what = "is a compiled RKNN Lite model"; break;
    case ModelFormat::EncryptedRknn: what = "is an encrypted compiled .rknn model"; break;
    case ModelFormat::OpenVxNbg:
        throw RknnError(RKNN_ERR_MODEL_INVALID,
                        source + " is an RKNN-Toolkit1 (OpenVX NBG) model; the ezrknn emulator runs ONNX models");
    case ModelFormat::TfLite:
        throw RknnError(RKNN_ERR_MODEL_INVALID,
                        source + " is a TensorFlow Lite model; the ezrknn emulator runs ONNX models (convert it "
                                 "to ONNX, e.g. with tf2onnx)");
    case ModelFormat::ZipArchive:
        throw RknnError(RKNN_ERR_MODEL_INVALID,
                        source + " is a zip archive (a PyTorch checkpoint?); the ezrknn emulator runs ONNX models "
                                 "(export it with torch.onnx.export)");
    }
    throw RknnError(RKNN_ERR_MODEL_INVALID,
                    source + " " + what +
                        ": its NPU program can only run in the vendor runtime librknnrt.so on a Rockchip board. "
                        "The ezrknn emulator runs ONNX models (also when saved under a .rknn name): give it the "
                        "ONNX model the .rknn file was converted from");
}

}  // namespace ezemu::npu
