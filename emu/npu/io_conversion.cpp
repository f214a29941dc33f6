#include "npu/io_conversion.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "numerics/fp16.hpp"
#include "npu/c_enum.hpp"
#include "npu/layout.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {
namespace {

using numerics::float_to_half;

// Caller buffers carry no alignment promise, so every element goes through memcpy (one mov on x86 and arm64).
template <typename T>
T load(const void* base, size_t i)
{
    T value;
    std::memcpy(&value, static_cast<const unsigned char*>(base) + i * sizeof(T), sizeof(T));
    return value;
}

template <typename T>
void store(void* base, size_t i, T value)
{
    std::memcpy(static_cast<unsigned char*>(base) + i * sizeof(T), &value, sizeof(T));
}

[[noreturn]] void invalid(const IoTensor& t, const std::string& why)
{
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    "input " + std::to_string(t.attr.index) + " ('" + t.info.name + "'): " + why);
}

bool is_accepted_float_source(int type)
{
    return type == RKNN_TENSOR_FLOAT32 || type == RKNN_TENSOR_FLOAT16 || type == RKNN_TENSOR_UINT8 ||
           type == RKNN_TENSOR_INT8;
}

// Integer and bool inputs take their own type; an INT64 input also takes INT32 (widened).
bool is_accepted_integer_source(const IoTensor& t, int type)
{
    return type == t.attr.type || (t.attr.type == RKNN_TENSOR_INT64 && type == RKNN_TENSOR_INT32);
}

std::string accepted_types(const IoTensor& t)
{
    if (t.is_float) return "RKNN_TENSOR_FLOAT32, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_UINT8 or RKNN_TENSOR_INT8";
    if (t.attr.type == RKNN_TENSOR_INT64) return "RKNN_TENSOR_INT64 or RKNN_TENSOR_INT32";
    return rknn_type_name(t.attr.type);
}

// 8-bit values are exact in fp16, so they need no rounding on the way to the executor's float32.
template <typename Src>
void small_integers_to_float32(const void* src, float* dst, size_t count)
{
    for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<Src>(src, i));
}

template <typename Src>
void to_float16(const void* src, uint16_t* dst, size_t count)
{
    for (size_t i = 0; i < count; ++i) dst[i] = float_to_half(static_cast<float>(load<Src>(src, i)));
}

void convert_to_executor(const IoTensor& t, const void* src, int src_type, void* dst)
{
    const size_t count = t.attr.n_elems;
    if (count == 0) return;  // an empty tensor may have no storage: memcpy from/to null is undefined
    if (t.info.dtype == onnx::DataType::Float) {
        float* out = static_cast<float*>(dst);
        switch (src_type) {
        case RKNN_TENSOR_FLOAT32:
            if (t.rounds_through_fp16)
                numerics::round_floats_to_half(static_cast<const float*>(src), out, count);
            else
                std::memcpy(dst, src, count * sizeof(float));
            return;
        case RKNN_TENSOR_FLOAT16: numerics::halves_to_floats(static_cast<const uint16_t*>(src), out, count); return;
        case RKNN_TENSOR_UINT8: small_integers_to_float32<uint8_t>(src, out, count); return;
        case RKNN_TENSOR_INT8: small_integers_to_float32<int8_t>(src, out, count); return;
        default: break;
        }
    } else if (t.info.dtype == onnx::DataType::Float16) {
        uint16_t* out = static_cast<uint16_t*>(dst);
        switch (src_type) {
        case RKNN_TENSOR_FLOAT32: numerics::floats_to_halves(static_cast<const float*>(src), out, count); return;
        case RKNN_TENSOR_FLOAT16: std::memcpy(dst, src, count * 2); return;
        case RKNN_TENSOR_UINT8: to_float16<uint8_t>(src, out, count); return;
        case RKNN_TENSOR_INT8: to_float16<int8_t>(src, out, count); return;
        default: break;
        }
    } else if (src_type == t.attr.type) {
        std::memcpy(dst, src, count * t.onnx_element_size);
        return;
    } else if (t.attr.type == RKNN_TENSOR_INT64 && src_type == RKNN_TENSOR_INT32) {
        int64_t* out = static_cast<int64_t*>(dst);
        for (size_t i = 0; i < count; ++i) out[i] = load<int32_t>(src, i);
        return;
    }
    invalid(t, std::string("cannot convert ") + rknn_type_name(src_type) + " data");
}

}  // namespace

void check_input(const IoTensor& t, const rknn_input& input)
{
    if (input.buf == nullptr) invalid(t, "buf is NULL");
    // pass_through=1: the buffer is the native tensor as is (attr type, NHWC for 4-D); like the vendor runtime,
    // the type and fmt fields are not consulted, the size check catches data of another element size.
    const int type = input.pass_through ? t.attr.type : raw_enum(input.type);
    if (!input.pass_through) {
        const bool accepted = t.is_float ? is_accepted_float_source(type) : is_accepted_integer_source(t, type);
        if (!accepted) {
            invalid(t, std::string("type ") + rknn_type_name(type) + " (" + std::to_string(type) +
                           ") is not accepted for a model input of type " + rknn_type_name(t.attr.type) +
                           "; use " + accepted_types(t));
        }
        const int fmt = raw_enum(input.fmt);
        if (t.nchw && fmt != RKNN_TENSOR_NCHW && fmt != RKNN_TENSOR_NHWC) {
            invalid(t, std::string("fmt ") + rknn_format_name(fmt) + " (" + std::to_string(fmt) +
                           ") is not accepted for a 4-D input; use RKNN_TENSOR_NCHW or RKNN_TENSOR_NHWC");
        }
    }

    const size_t expected = static_cast<size_t>(t.attr.n_elems) * rknn_type_size(type);
    if (input.size != expected) {
        invalid(t, "size is " + std::to_string(input.size) + " bytes, expected " + std::to_string(expected) + " (" +
                       std::to_string(t.attr.n_elems) + " elements of " + rknn_type_name(type) + ")");
    }
}

void write_input(const IoTensor& t, const rknn_input& input, void* dst, std::vector<unsigned char>& scratch)
{
    const int type = input.pass_through ? t.attr.type : raw_enum(input.type);
    // Native 4-D data is NHWC (the attr's fmt); the executor wants NCHW.
    const bool reorder = t.nchw && (input.pass_through || raw_enum(input.fmt) == RKNN_TENSOR_NHWC);
    if (!reorder) {
        convert_to_executor(t, input.buf, type, dst);
        return;
    }
    if (scratch.size() < t.executor_bytes) scratch.resize(t.executor_bytes);
    convert_to_executor(t, input.buf, type, scratch.data());
    nhwc_to_nchw(scratch.data(), dst, *t.nchw, t.onnx_element_size);
}

size_t output_byte_size(const IoTensor& t, bool want_float)
{
    return static_cast<size_t>(t.attr.n_elems) * (want_float ? 4 : rknn_type_size(t.attr.type));
}

namespace {

template <typename Src>
void integers_to_float32(const void* src, void* dst, size_t count)
{
    const Src* in = static_cast<const Src*>(src);
    for (size_t i = 0; i < count; ++i) store<float>(dst, i, static_cast<float>(in[i]));
}

}  // namespace

void read_output(const IoTensor& t, const void* src, bool want_float, void* dst)
{
    const size_t count = t.attr.n_elems;
    if (count == 0) return;  // an empty tensor may have no storage: memcpy from/to null is undefined
    switch (t.info.dtype) {
    case onnx::DataType::Float: {
        const float* in = static_cast<const float*>(src);
        if (want_float) {
            if (!t.rounds_through_fp16) {
                std::memcpy(dst, src, count * 4);
                return;
            }
            numerics::round_floats_to_half(in, static_cast<float*>(dst), count);
            return;
        }
        if (t.attr.type == RKNN_TENSOR_FLOAT16) {
            numerics::floats_to_halves(in, static_cast<uint16_t*>(dst), count);
            return;
        }
        std::memcpy(dst, src, count * 4);
        return;
    }
    case onnx::DataType::Float16: {
        if (!want_float) {
            std::memcpy(dst, src, count * 2);
            return;
        }
        numerics::halves_to_floats(static_cast<const uint16_t*>(src), static_cast<float*>(dst), count);
        return;
    }
    default: break;
    }
    if (!want_float) {
        std::memcpy(dst, src, count * t.onnx_element_size);
        return;
    }
    switch (t.info.dtype) {
    case onnx::DataType::Int8: integers_to_float32<int8_t>(src, dst, count); return;
    case onnx::DataType::Uint8: integers_to_float32<uint8_t>(src, dst, count); return;
    case onnx::DataType::Bool: integers_to_float32<uint8_t>(src, dst, count); return;
    case onnx::DataType::Int16: integers_to_float32<int16_t>(src, dst, count); return;
    case onnx::DataType::Uint16: integers_to_float32<uint16_t>(src, dst, count); return;
    case onnx::DataType::Int32: integers_to_float32<int32_t>(src, dst, count); return;
    case onnx::DataType::Uint32: integers_to_float32<uint32_t>(src, dst, count); return;
    case onnx::DataType::Int64: integers_to_float32<int64_t>(src, dst, count); return;
    default:
        throw RknnError(RKNN_ERR_OUTPUT_INVALID, "output '" + t.info.name + "' has a type the emulator cannot convert");
    }
}

}  // namespace ezemu::npu
