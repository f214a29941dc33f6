#include "npu/tensor_attrs.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

#include "npu/c_string.hpp"
#include "npu/rknn_error.hpp"

namespace ezemu::npu {

using onnx::DataType;

std::optional<rknn_tensor_type> rknn_type_for(DataType dtype, bool exact_fp32)
{
    switch (dtype) {
    case DataType::Float: return exact_fp32 ? RKNN_TENSOR_FLOAT32 : RKNN_TENSOR_FLOAT16;
    case DataType::Float16: return RKNN_TENSOR_FLOAT16;
    case DataType::Int8: return RKNN_TENSOR_INT8;
    case DataType::Uint8: return RKNN_TENSOR_UINT8;
    case DataType::Int16: return RKNN_TENSOR_INT16;
    case DataType::Uint16: return RKNN_TENSOR_UINT16;
    case DataType::Int32: return RKNN_TENSOR_INT32;
    case DataType::Uint32: return RKNN_TENSOR_UINT32;
    case DataType::Int64: return RKNN_TENSOR_INT64;
    case DataType::Bool: return RKNN_TENSOR_BOOL;
    default: return std::nullopt;
    }
}

namespace {

const char* role_name(TensorRole role) { return role == TensorRole::Input ? "input" : "output"; }

[[noreturn]] void refuse(TensorRole role, const TensorInfo& info, const std::string& why)
{
    throw RknnError(RKNN_ERR_MODEL_INVALID,
                    std::string("model ") + role_name(role) + " '" + info.name + "' " + why);
}

// Types the NPU reads from a plain NHWC image buffer (§7.5: uint8/int8/fp16/fp32).
bool has_nhwc_layout(int type)
{
    return type == RKNN_TENSOR_UINT8 || type == RKNN_TENSOR_INT8 || type == RKNN_TENSOR_FLOAT16 ||
           type == RKNN_TENSOR_FLOAT32;
}

enum class NativeKind { Nchw, Nhwc, Nc1hwc2 };

// The native layout of a 4-D tensor (§7.5): NHWC for 1/3/4-channel images, NC1HWC2 for other channel counts and
// for outputs, dense NCHW for types the NPU does not block (bool, int64, ...). `nhwc_variant` is the
// NATIVE_NHWC_* query, which asks for NHWC wherever the type allows it.
NativeKind native_kind(const IoTensor& t, TensorRole role, size_t c2, bool nhwc_variant)
{
    const int type = t.attr.type;
    const size_t channels = t.nchw->c;
    if (nhwc_variant) return has_nhwc_layout(type) ? NativeKind::Nhwc : NativeKind::Nchw;
    if (role == TensorRole::Input && has_nhwc_layout(type) && (channels == 1 || channels == 3 || channels == 4))
        return NativeKind::Nhwc;
    return c2 ? NativeKind::Nc1hwc2 : NativeKind::Nchw;
}

rknn_tensor_attr native_attr(const IoTensor& t, TensorRole role, const Platform& platform, bool nhwc_variant)
{
    constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
    rknn_tensor_attr a = t.attr;
    const size_t element_size = rknn_type_size(a.type);
    const size_t alignment = platform.width_alignment;
    std::fill(std::begin(a.dims), std::end(a.dims), 0u);
    if (!t.nchw) {
        // ONNX order; a zero-copy input buffer's total size is aligned like a row (§7.6).
        for (size_t i = 0; i < t.info.shape.size(); ++i) a.dims[i] = static_cast<uint32_t>(t.info.shape[i]);
        a.fmt = RKNN_TENSOR_UNDEFINED;
        a.w_stride = 0;
        const uint64_t padded = role == TensorRole::Input ? align_up(a.size, alignment) : a.size;
        if (padded > kMax) refuse(role, t.info, "is too large for the NPU's native layout");
        a.size_with_stride = static_cast<uint32_t>(padded);
        return a;
    }
    const Nchw& s = *t.nchw;
    const size_t c2 = has_nc1hwc2_layout(a.type) ? platform.c2_for_element_size(element_size) : 0;
    uint64_t with_stride = a.size;
    switch (native_kind(t, role, c2, nhwc_variant)) {
    case NativeKind::Nchw:
        a.fmt = RKNN_TENSOR_NCHW;
        for (int i = 0; i < 4; ++i) a.dims[i] = static_cast<uint32_t>(t.info.shape[i]);
        a.w_stride = 0;
        break;
    case NativeKind::Nhwc: {
        a.fmt = RKNN_TENSOR_NHWC;
        const uint32_t nhwc[4] = {uint32_t(s.n), uint32_t(s.h), uint32_t(s.w), uint32_t(s.c)};
        for (int i = 0; i < 4; ++i) a.dims[i] = nhwc[i];
        // Inputs are read with padded rows; an NHWC output is written dense.
        const size_t w_stride = role == TensorRole::Input ? align_up(s.w, alignment) : s.w;
        a.w_stride = static_cast<uint32_t>(w_stride);
        with_stride = nhwc_byte_size(s, w_stride, element_size);
        break;
    }
    case NativeKind::Nc1hwc2: {
        const size_t c1 = (s.c + c2 - 1) / c2;
        const uint64_t elements = uint64_t(s.n) * c1 * s.h * s.w * c2;
        if (elements * element_size > kMax) refuse(role, t.info, "is too large for the NPU's native layout");
        a.fmt = RKNN_TENSOR_NC1HWC2;
        a.n_dims = 5;
        const uint32_t dims[5] = {uint32_t(s.n), uint32_t(c1), uint32_t(s.h), uint32_t(s.w), uint32_t(c2)};
        for (int i = 0; i < 5; ++i) a.dims[i] = dims[i];
        a.n_elems = static_cast<uint32_t>(elements);
        a.size = static_cast<uint32_t>(elements * element_size);
        a.w_stride = static_cast<uint32_t>(align_up(s.w, alignment));
        with_stride = nc1hwc2_byte_size(s, c2, element_size, alignment);
        break;
    }
    }
    if (with_stride > kMax) refuse(role, t.info, "is too large for the NPU's native layout");
    a.size_with_stride = static_cast<uint32_t>(with_stride);
    return a;
}

// size and size_with_stride of t.attr for its type (a 4-D output's size_with_stride is its NC1HWC2 native size),
// then the native attrs. describe_tensor has checked that every byte count fits the ABI's uint32_t.
void set_sizes(IoTensor& t, TensorRole role, const Platform& platform)
{
    constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
    rknn_tensor_attr& a = t.attr;
    const size_t type_size = rknn_type_size(a.type);
    a.size = static_cast<uint32_t>(uint64_t(a.n_elems) * type_size);
    a.size_with_stride = a.size;
    if (t.nchw && role == TensorRole::Output && has_nc1hwc2_layout(a.type)) {
        const size_t c2 = platform.c2_for_element_size(type_size);
        const uint64_t native = c2 ? nc1hwc2_byte_size(*t.nchw, c2, type_size, platform.width_alignment) : a.size;
        if (native > kMax) refuse(role, t.info, "is too large for the NPU's native layout");
        a.size_with_stride = static_cast<uint32_t>(native);
    }
    t.native = native_attr(t, role, platform, false);
    t.native_nhwc = native_attr(t, role, platform, true);
}

}  // namespace

bool has_nc1hwc2_layout(int type)
{
    return type == RKNN_TENSOR_INT8 || type == RKNN_TENSOR_UINT8 || type == RKNN_TENSOR_FLOAT16 ||
           type == RKNN_TENSOR_INT16;
}

size_t rknn_type_size(int type)
{
    switch (type) {
    case RKNN_TENSOR_FLOAT32: return 4;
    case RKNN_TENSOR_FLOAT16: return 2;
    case RKNN_TENSOR_INT8: return 1;
    case RKNN_TENSOR_UINT8: return 1;
    case RKNN_TENSOR_INT16: return 2;
    case RKNN_TENSOR_UINT16: return 2;
    case RKNN_TENSOR_INT32: return 4;
    case RKNN_TENSOR_UINT32: return 4;
    case RKNN_TENSOR_INT64: return 8;
    case RKNN_TENSOR_BOOL: return 1;
    case RKNN_TENSOR_BFLOAT16: return 2;
    default: return 0;
    }
}

const char* rknn_type_name(int type)
{
    switch (type) {
    case RKNN_TENSOR_FLOAT32: return "RKNN_TENSOR_FLOAT32";
    case RKNN_TENSOR_FLOAT16: return "RKNN_TENSOR_FLOAT16";
    case RKNN_TENSOR_INT8: return "RKNN_TENSOR_INT8";
    case RKNN_TENSOR_UINT8: return "RKNN_TENSOR_UINT8";
    case RKNN_TENSOR_INT16: return "RKNN_TENSOR_INT16";
    case RKNN_TENSOR_UINT16: return "RKNN_TENSOR_UINT16";
    case RKNN_TENSOR_INT32: return "RKNN_TENSOR_INT32";
    case RKNN_TENSOR_UINT32: return "RKNN_TENSOR_UINT32";
    case RKNN_TENSOR_INT64: return "RKNN_TENSOR_INT64";
    case RKNN_TENSOR_BOOL: return "RKNN_TENSOR_BOOL";
    case RKNN_TENSOR_INT4: return "RKNN_TENSOR_INT4";
    case RKNN_TENSOR_BFLOAT16: return "RKNN_TENSOR_BFLOAT16";
    default: return "unknown rknn_tensor_type";
    }
}

const char* rknn_format_name(int fmt)
{
    switch (fmt) {
    case RKNN_TENSOR_NCHW: return "RKNN_TENSOR_NCHW";
    case RKNN_TENSOR_NHWC: return "RKNN_TENSOR_NHWC";
    case RKNN_TENSOR_NC1HWC2: return "RKNN_TENSOR_NC1HWC2";
    case RKNN_TENSOR_UNDEFINED: return "RKNN_TENSOR_UNDEFINED";
    default: return "unknown rknn_tensor_format";
    }
}

IoTensor describe_tensor(const TensorInfo& info, TensorRole role, uint32_t index, bool exact_fp32,
                         const Platform& platform)
{
    IoTensor t;
    t.info = info;

    const auto type = rknn_type_for(info.dtype, exact_fp32);
    if (!type) {
        refuse(role, info,
               std::string("has ONNX type ") + onnx::data_type_name(info.dtype) +
                   ", which the RKNN API cannot carry; change it to float32, float16 or an integer type of at "
                   "most 64 bits (e.g. insert a Cast at the graph boundary)");
    }
    if (info.shape.size() > RKNN_MAX_DIMS) {
        refuse(role, info, "has " + std::to_string(info.shape.size()) + " dims; RKNN tensors have at most " +
                               std::to_string(RKNN_MAX_DIMS));
    }
    for (int64_t d : info.shape) {
        if (d < 0) refuse(role, info, "has a dimension that is not static");
    }

    t.onnx_element_size = onnx::data_type_size(info.dtype);
    t.is_float = info.dtype == onnx::DataType::Float || info.dtype == onnx::DataType::Float16;
    t.rounds_through_fp16 = info.dtype == onnx::DataType::Float && *type == RKNN_TENSOR_FLOAT16;

    uint64_t elements = 1;
    for (int64_t d : info.shape) elements *= static_cast<uint64_t>(d);
    const size_t type_size = rknn_type_size(*type);
    constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
    // Every byte count the ABI reports (size, size_with_stride, a float32 copy) must fit its uint32_t fields.
    if (elements * 4 > kMax || elements * type_size > kMax || elements * t.onnx_element_size > kMax) {
        refuse(role, info, "holds " + std::to_string(elements) +
                               " elements, more than the 32-bit byte sizes of the RKNN API can describe");
    }
    t.executor_bytes = static_cast<size_t>(elements) * t.onnx_element_size;

    rknn_tensor_attr& a = t.attr;
    a.index = index;
    a.n_dims = static_cast<uint32_t>(info.shape.size());
    copy_c_string(a.name, RKNN_MAX_NAME_LEN, info.name);
    a.n_elems = static_cast<uint32_t>(elements);
    a.type = *type;
    a.qnt_type = RKNN_TENSOR_QNT_NONE;
    a.fl = 0;
    a.zp = 0;
    a.scale = 1.0f;
    a.pass_through = 0;
    a.h_stride = 0;

    if (info.shape.size() == 4) {
        const Nchw s{static_cast<size_t>(info.shape[0]), static_cast<size_t>(info.shape[1]),
                     static_cast<size_t>(info.shape[2]), static_cast<size_t>(info.shape[3])};
        t.nchw = s;
        if (role == TensorRole::Input) {
            a.fmt = RKNN_TENSOR_NHWC;
            const uint32_t nhwc[4] = {uint32_t(s.n), uint32_t(s.h), uint32_t(s.w), uint32_t(s.c)};
            for (int i = 0; i < 4; ++i) a.dims[i] = nhwc[i];
            a.w_stride = static_cast<uint32_t>(s.w);
        } else {
            a.fmt = RKNN_TENSOR_NCHW;
            for (int i = 0; i < 4; ++i) a.dims[i] = static_cast<uint32_t>(info.shape[i]);
            a.w_stride = 0;
        }
    } else {
        a.fmt = RKNN_TENSOR_UNDEFINED;
        for (size_t i = 0; i < info.shape.size(); ++i) a.dims[i] = static_cast<uint32_t>(info.shape[i]);
        a.w_stride = 0;
    }
    set_sizes(t, role, platform);
    return t;
}

void mark_quantized(IoTensor& t, TensorRole role, const Platform& platform, const IoQuantization& q)
{
    t.quant = q;
    t.rounds_through_fp16 = false;
    rknn_tensor_attr& a = t.attr;
    a.type = static_cast<rknn_tensor_type>(q.type);
    a.qnt_type = RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC;
    a.zp = q.zero_point;
    a.scale = q.scale;
    set_sizes(t, role, platform);
}

void set_normalization(IoTensor& t, const std::vector<float>& mean, const std::vector<float>& std_dev)
{
    const size_t channels = t.nchw ? t.nchw->c : 1;
    const auto check_length = [&](const std::vector<float>& values, const char* key) {
        if (values.empty() || values.size() == 1 || values.size() == channels) return;
        refuse(TensorRole::Input, t.info,
               std::string("has ") + std::to_string(channels) + " channel(s) but its " + key + " list has " +
                   std::to_string(values.size()) + " values; give one value or one per channel");
    };
    check_length(mean, "rknn.mean_values");
    check_length(std_dev, "rknn.std_values");
    const size_t n = std::max({mean.size(), std_dev.size(), size_t{1}});
    InputNormalization norm;
    for (size_t c = 0; c < n; ++c) {
        norm.mean.push_back(mean.empty() ? 0.0f : mean[mean.size() == 1 ? 0 : c]);
        norm.std_dev.push_back(std_dev.empty() ? 1.0f : std_dev[std_dev.size() == 1 ? 0 : c]);
        if (norm.std_dev.back() == 0.0f) refuse(TensorRole::Input, t.info, "has a std value of 0 in rknn.std_values");
    }
    bool identity = true;
    for (size_t c = 0; c < n; ++c) identity = identity && norm.mean[c] == 0.0f && norm.std_dev[c] == 1.0f;
    if (identity) return;
    if (!t.is_float) {
        refuse(TensorRole::Input, t.info,
               std::string("has type ") + rknn_type_name(t.attr.type) +
                   "; the NPU normalizes float inputs only, so its mean/std must be 0/1");
    }
    t.norm = std::move(norm);
}

}  // namespace ezemu::npu
