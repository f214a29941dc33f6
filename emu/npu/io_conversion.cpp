#include "npu/io_conversion.hpp"

#include <array>
#include <cmath>
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

// One element of a float input's caller data (FLOAT32/FLOAT16/UINT8/INT8) as float.
float float_value_at(const IoTensor& t, const void* src, int src_type, size_t i)
{
    switch (src_type) {
    case RKNN_TENSOR_FLOAT32: return load<float>(src, i);
    case RKNN_TENSOR_FLOAT16: return numerics::half_to_float(load<uint16_t>(src, i));
    case RKNN_TENSOR_UINT8: return load<uint8_t>(src, i);
    case RKNN_TENSOR_INT8: return load<int8_t>(src, i);
    default: invalid(t, std::string("cannot convert ") + rknn_type_name(src_type) + " data");
    }
}

// Quantization of a quantized tensor's data as the NPU does it (rknn-api.md §7.7): q = clamp(round(D / scale) + zp)
// to the range of q.type (8 or 16 bits), rounding half to even like QuantizeLinear; D = (q - zp) * scale back,
// rounded once to float like DequantizeLinear. Every value of both widths is exact in float.
int32_t quantize_value(const IoQuantization& q, float d)
{
    const float lo = static_cast<float>(q.lowest()), hi = static_cast<float>(q.highest());
    float v = d == d ? std::nearbyint(d / q.scale) + static_cast<float>(q.zero_point) : static_cast<float>(q.zero_point);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return static_cast<int32_t>(v);
}

float dequantize_value(const IoQuantization& q, int32_t value)
{
    return static_cast<float>(static_cast<double>(value - q.zero_point) * static_cast<double>(q.scale));
}

// Quantized data of q.type (INT8/UINT8/INT16/UINT16) at element i.
int32_t load_quantized(int type, const void* src, size_t i)
{
    switch (type) {
    case RKNN_TENSOR_INT8: return load<int8_t>(src, i);
    case RKNN_TENSOR_UINT8: return load<uint8_t>(src, i);
    case RKNN_TENSOR_INT16: return load<int16_t>(src, i);
    default: return load<uint16_t>(src, i);
    }
}

// `value` (within the limits of `type`) stored as element i of quantized data of `type`.
void store_quantized(int type, void* dst, size_t i, int32_t value)
{
    switch (type) {
    case RKNN_TENSOR_INT8: store<int8_t>(dst, i, static_cast<int8_t>(value)); return;
    case RKNN_TENSOR_UINT8: store<uint8_t>(dst, i, static_cast<uint8_t>(value)); return;
    case RKNN_TENSOR_INT16: store<int16_t>(dst, i, static_cast<int16_t>(value)); return;
    default: store<uint16_t>(dst, i, static_cast<uint16_t>(value)); return;
    }
}

// Caller data of a quantized input -> the executor's float32: data of the tensor's own type (INT8/UINT8/INT16/
// UINT16) is already quantized; any other type holds values, which are quantized first. Either way the executor
// sees the dequantized value, which the model's QuantizeLinear maps back to the same q.
// Float32 values of a quantized input: quantize_value then dequantize_value per element, written branch-free so
// that the loop vectorizes (cloned per ISA); the same bits.
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void quantize_floats_to_executor(
    const float* src, float* out, size_t count, float scale, int32_t zero_point, float lo, float hi)
{
    const float zp = static_cast<float>(zero_point);
    for (size_t i = 0; i < count; ++i) {
        float d;
        std::memcpy(&d, src + i, sizeof d);  // caller buffers carry no alignment promise
        float v = std::nearbyint(d / scale) + zp;
        v = d == d ? v : zp;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[i] = static_cast<float>(static_cast<double>(static_cast<int32_t>(v) - zero_point) *
                                    static_cast<double>(scale));
    }
}

void quantized_to_executor(const IoTensor& t, const void* src, int src_type, float* out)
{
    const IoQuantization& q = *t.quant;
    const size_t count = t.attr.n_elems;
    if (src_type == RKNN_TENSOR_FLOAT32 && src_type != t.attr.type) {
        quantize_floats_to_executor(static_cast<const float*>(src), out, count, q.scale, q.zero_point,
                                    static_cast<float>(q.lowest()), static_cast<float>(q.highest()));
        return;
    }
    const bool bytes = q.type == RKNN_TENSOR_INT8 || q.type == RKNN_TENSOR_UINT8;
    if (src_type == t.attr.type && bytes && count >= 1024) {
        // 8-bit codes: dequantize_value of each of the 256 codes once, then look them up.
        std::array<float, 256> table;
        for (int32_t c = 0; c < 256; ++c)
            table[static_cast<size_t>(c)] =
                dequantize_value(q, q.type == RKNN_TENSOR_INT8 ? static_cast<int8_t>(static_cast<uint8_t>(c)) : c);
        const auto* codes = static_cast<const uint8_t*>(src);
        for (size_t i = 0; i < count; ++i) out[i] = table[codes[i]];
        return;
    }
    for (size_t i = 0; i < count; ++i) {
        const int32_t value = src_type == t.attr.type ? load_quantized(q.type, src, i)
                                                      : quantize_value(q, float_value_at(t, src, src_type, i));
        out[i] = dequantize_value(q, value);
    }
}

void convert_to_executor(const IoTensor& t, const void* src, int src_type, void* dst)
{
    const size_t count = t.attr.n_elems;
    if (count == 0) return;  // an empty tensor may have no storage: memcpy from/to null is undefined
    if (t.quant && t.info.dtype == onnx::DataType::Float) {
        quantized_to_executor(t, src, src_type, static_cast<float*>(dst));
        return;
    }
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

// Whether the NPU normalizes this data: not pass_through data, nor data already quantized to the input's type.
bool normalizes(const IoTensor& t, const BufferLayout& layout)
{
    return t.norm && !layout.pass_through && !(t.quant && layout.type == t.attr.type);
}

// Dense caller data → (x - mean[c]) / std[c] as float32, computed in float like the NPU's preprocessing.
void normalize(const IoTensor& t, const void* src, int src_type, float* out)
{
    const InputNormalization& n = *t.norm;
    const size_t count = t.attr.n_elems;
    const size_t channels = n.mean.size();
    const size_t plane = t.nchw ? t.nchw->h * t.nchw->w : count;
    for (size_t i = 0; i < count; ++i) {
        const size_t c = channels == 1 || plane == 0 ? 0 : (i / plane) % channels;
        out[i] = (float_value_at(t, src, src_type, i) - n.mean[c]) / n.std_dev[c];
    }
}

// What pass_through=1 data is: the native layout, with padded rows or (a tolerance the vendor text does not
// forbid) dense rows; the size tells which.
BufferLayout pass_through_buffer(const IoTensor& t, const Platform& platform, uint32_t size)
{
    BufferLayout padded = native_buffer(t, platform, true);
    padded.pass_through = true;
    if (size == padded.bytes) return padded;
    BufferLayout dense = native_buffer(t, platform, false);
    dense.pass_through = true;
    if (size == dense.bytes) return dense;
    const std::string padded_text =
        padded.bytes == dense.bytes
            ? std::string()
            : " or " + std::to_string(padded.bytes) +
              (t.nchw ? " (rows of w_stride " + std::to_string(padded.w_stride) + ")" : " (size aligned)");
    invalid(t, "pass_through size is " + std::to_string(size) + " bytes, expected " + std::to_string(dense.bytes) +
                   padded_text + ": native " + rknn_format_name(padded.fmt) + " " + rknn_type_name(padded.type) +
                   " data, see RKNN_QUERY_NATIVE_INPUT_ATTR");
}

}  // namespace

bool is_accepted_input_type(const IoTensor& t, int type)
{
    if (t.is_float) return is_accepted_float_source(type) || (t.quant && type == t.attr.type);
    return is_accepted_integer_source(t, type);
}

std::string accepted_input_types(const IoTensor& t)
{
    if (t.is_float && t.quant && !is_accepted_float_source(t.attr.type)) {
        return std::string(rknn_type_name(t.attr.type)) +
               " (quantized values), RKNN_TENSOR_FLOAT32, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_UINT8 or RKNN_TENSOR_INT8";
    }
    if (t.is_float) return "RKNN_TENSOR_FLOAT32, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_UINT8 or RKNN_TENSOR_INT8";
    if (t.attr.type == RKNN_TENSOR_INT64) return "RKNN_TENSOR_INT64 or RKNN_TENSOR_INT32";
    return rknn_type_name(t.attr.type);
}

bool is_accepted_output_type(const IoTensor& t, int type)
{
    return type == RKNN_TENSOR_FLOAT32 || type == t.attr.type || (t.is_float && type == RKNN_TENSOR_FLOAT16);
}

BufferLayout describe_buffer(const IoTensor& t, const Platform& platform, int type, int fmt, size_t w_stride,
                             const std::string& what)
{
    BufferLayout layout;
    layout.type = type;
    layout.fmt = fmt;
    const size_t element_size = rknn_type_size(type);
    if (element_size == 0) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        what + ": type " + std::to_string(type) + " is not a tensor type the emulator can move");
    }
    const size_t dense = static_cast<size_t>(t.attr.n_elems) * element_size;
    if (!t.nchw || fmt == RKNN_TENSOR_NCHW || fmt == RKNN_TENSOR_UNDEFINED) {
        if (fmt != RKNN_TENSOR_NCHW && fmt != RKNN_TENSOR_NHWC && fmt != RKNN_TENSOR_UNDEFINED) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            what + ": fmt " + rknn_format_name(fmt) + " (" + std::to_string(fmt) +
                                ") needs a 4-D tensor; this one has " + std::to_string(t.attr.n_dims) +
                                " dims: use RKNN_TENSOR_UNDEFINED (ONNX order)");
        }
        // Non-4-D data is ONNX order whatever fmt says, as rknn_inputs_set takes it.
        layout.fmt = t.nchw ? RKNN_TENSOR_NCHW : RKNN_TENSOR_UNDEFINED;
        layout.bytes = dense;
        return layout;
    }
    const Nchw& s = *t.nchw;
    const size_t stride = w_stride == 0 ? s.w : w_stride;
    if (stride < s.w) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + ": w_stride " + std::to_string(stride) +
                                                    " is smaller than the width " + std::to_string(s.w));
    }
    layout.w_stride = stride;
    if (fmt == RKNN_TENSOR_NHWC) {
        layout.bytes = nhwc_byte_size(s, stride, element_size);
        return layout;
    }
    if (fmt == RKNN_TENSOR_NC1HWC2) {
        size_t c2 = has_nc1hwc2_layout(type) ? platform.c2_for_element_size(element_size) : 0;
        // float32 in NC1HWC2 (UG Tables 5-4/5-5): the blocking of the tensor's native layout, converted to fp32.
        if (c2 == 0 && type == RKNN_TENSOR_FLOAT32 && t.native.fmt == RKNN_TENSOR_NC1HWC2) c2 = t.native.dims[4];
        if (c2 == 0) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, what + ": the NPU has no NC1HWC2 layout for " +
                                                        rknn_type_name(type) + "; use NCHW or NHWC");
        }
        layout.c2 = c2;
        layout.bytes = s.n * ((s.c + c2 - 1) / c2) * s.h * stride * c2 * element_size;
        return layout;
    }
    throw RknnError(RKNN_ERR_PARAM_INVALID, what + ": fmt " + std::to_string(fmt) +
                                                " is not a tensor format; use NCHW, NHWC or NC1HWC2");
}

BufferLayout native_buffer(const IoTensor& t, const Platform& platform, bool padded)
{
    const rknn_tensor_attr& n = t.native;
    BufferLayout layout = describe_buffer(t, platform, n.type, n.fmt, padded ? n.w_stride : 0, "native layout");
    // A non-4-D native buffer may carry the aligned total size (§7.6); its data is the dense prefix.
    if (padded && !t.nchw) layout.bytes = n.size_with_stride;
    return layout;
}

bool is_executor_layout(const IoTensor& t, const BufferLayout& layout)
{
    const bool dense = layout.fmt == RKNN_TENSOR_NCHW || layout.fmt == RKNN_TENSOR_UNDEFINED;
    if (!dense || t.rounds_through_fp16 || t.quant || normalizes(t, layout)) return false;
    switch (t.info.dtype) {
    case onnx::DataType::Float: return layout.type == RKNN_TENSOR_FLOAT32;
    case onnx::DataType::Float16: return layout.type == RKNN_TENSOR_FLOAT16;
    default: return layout.type == t.attr.type;
    }
}

void import_tensor(const IoTensor& t, const BufferLayout& layout, const void* src, void* dst,
                   std::vector<unsigned char>& scratch)
{
    const bool reorder = layout.fmt == RKNN_TENSOR_NHWC || layout.fmt == RKNN_TENSOR_NC1HWC2;
    const bool norm = normalizes(t, layout);
    if (!reorder && !norm) {
        convert_to_executor(t, src, layout.type, dst);
        return;
    }
    // Scratch holds the reordered data (in the buffer's own type), then the normalized float32 copy.
    const size_t element_size = rknn_type_size(layout.type);
    const size_t dense = reorder ? static_cast<size_t>(t.attr.n_elems) * element_size : 0;
    const size_t float_offset = (dense + 63) / 64 * 64;
    const size_t needed = norm ? float_offset + static_cast<size_t>(t.attr.n_elems) * sizeof(float) : dense;
    if (scratch.size() < needed) scratch.resize(needed);
    const void* data = src;
    if (reorder) {
        // Strided rows cannot be converted in one sweep: reorder first, then convert.
        if (layout.fmt == RKNN_TENSOR_NHWC)
            nhwc_strided_to_nchw(src, scratch.data(), *t.nchw, layout.w_stride, element_size);
        else
            nc1hwc2_to_nchw(src, scratch.data(), *t.nchw, layout.c2, layout.w_stride, element_size);
        data = scratch.data();
    }
    if (!norm) {
        convert_to_executor(t, data, layout.type, dst);
        return;
    }
    float* normalized = reinterpret_cast<float*>(scratch.data() + float_offset);
    normalize(t, data, layout.type, normalized);
    convert_to_executor(t, normalized, RKNN_TENSOR_FLOAT32, dst);
}

void check_input(const IoTensor& t, const Platform& platform, const rknn_input& input)
{
    if (input.buf == nullptr) invalid(t, "buf is NULL");
    // pass_through=1: the buffer is the native tensor as is (NATIVE_INPUT_ATTR); like the vendor runtime, the
    // type and fmt fields are not consulted, the size tells padded rows from dense ones.
    if (input.pass_through) {
        pass_through_buffer(t, platform, input.size);
        return;
    }
    const int type = raw_enum(input.type);
    if (!is_accepted_input_type(t, type)) {
        invalid(t, std::string("type ") + rknn_type_name(type) + " (" + std::to_string(type) +
                       ") is not accepted for a model input of type " + rknn_type_name(t.attr.type) + "; use " +
                       accepted_input_types(t));
    }
    const int fmt = raw_enum(input.fmt);
    if (t.nchw && fmt != RKNN_TENSOR_NCHW && fmt != RKNN_TENSOR_NHWC) {
        invalid(t, std::string("fmt ") + rknn_format_name(fmt) + " (" + std::to_string(fmt) +
                       ") is not accepted for a 4-D input; use RKNN_TENSOR_NCHW or RKNN_TENSOR_NHWC (NC1HWC2 data "
                       "needs pass_through=1)");
    }

    const size_t expected = static_cast<size_t>(t.attr.n_elems) * rknn_type_size(type);
    if (input.size != expected) {
        invalid(t, "size is " + std::to_string(input.size) + " bytes, expected " + std::to_string(expected) + " (" +
                       std::to_string(t.attr.n_elems) + " elements of " + rknn_type_name(type) + ")");
    }
}

void write_input(const IoTensor& t, const Platform& platform, const rknn_input& input, void* dst,
                 std::vector<unsigned char>& scratch)
{
    const BufferLayout layout =
        input.pass_through
            ? pass_through_buffer(t, platform, input.size)
            // Non-4-D data is ONNX order whatever fmt says (check_input does not look at it either).
            : describe_buffer(t, platform, raw_enum(input.type), t.nchw ? raw_enum(input.fmt) : RKNN_TENSOR_UNDEFINED,
                              0, "rknn_inputs_set");
    import_tensor(t, layout, input.buf, dst, scratch);
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
        if (t.quant && !want_float) {
            for (size_t i = 0; i < count; ++i) store_quantized(t.quant->type, dst, i, quantize_value(*t.quant, in[i]));
            return;
        }
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

namespace {

// Executor data → dense ONNX-order data of `type`.
void convert_from_executor(const IoTensor& t, const void* src, int type, void* dst)
{
    if (type == RKNN_TENSOR_FLOAT32) {
        read_output(t, src, true, dst);
    } else if (type == t.attr.type) {
        read_output(t, src, false, dst);
    } else if (type == RKNN_TENSOR_FLOAT16 && t.info.dtype == onnx::DataType::Float) {
        // An exact-fp32 tensor asked for as FLOAT16.
        if (t.attr.n_elems)
            numerics::floats_to_halves(static_cast<const float*>(src), static_cast<uint16_t*>(dst), t.attr.n_elems);
    } else {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "output '" + t.info.name + "' cannot be written as " +
                                                    rknn_type_name(type) + "; use RKNN_TENSOR_FLOAT32 or " +
                                                    rknn_type_name(t.attr.type));
    }
}

}  // namespace

void export_tensor(const IoTensor& t, const void* src, const BufferLayout& layout, void* dst,
                   std::vector<unsigned char>& scratch)
{
    if (layout.fmt != RKNN_TENSOR_NHWC && layout.fmt != RKNN_TENSOR_NC1HWC2) {
        convert_from_executor(t, src, layout.type, dst);
        return;
    }
    const size_t element_size = rknn_type_size(layout.type);
    const size_t dense = static_cast<size_t>(t.attr.n_elems) * element_size;
    if (scratch.size() < dense) scratch.resize(dense);
    convert_from_executor(t, src, layout.type, scratch.data());
    if (layout.fmt == RKNN_TENSOR_NHWC)
        nchw_to_nhwc_strided(scratch.data(), dst, *t.nchw, layout.w_stride, element_size);
    else
        nchw_to_nc1hwc2(scratch.data(), dst, *t.nchw, layout.c2, layout.w_stride, element_size);
}

}  // namespace ezemu::npu
