// Native attrs and buffer conversions of the NPU model (rknn-api.md §7.5–§7.7, §7.10), each checked against a
// scalar reference of the layout written out here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "npu/io_conversion.hpp"
#include "npu/platform.hpp"
#include "npu/rknn_error.hpp"
#include "npu/tensor_attrs.hpp"
#include "numerics/fp16.hpp"

namespace {

using ezemu::TensorInfo;
using ezemu::npu::BufferLayout;
using ezemu::npu::IoTensor;
using ezemu::npu::Platform;
using ezemu::npu::RknnError;
using ezemu::npu::TensorRole;
using DT = ezemu::onnx::DataType;

const Platform& platform(const char* name) { return *ezemu::npu::find_platform(name); }

IoTensor tensor(DT dtype, std::vector<int64_t> shape, TensorRole role = TensorRole::Input, bool exact = false,
                const char* soc = "rk3588")
{
    TensorInfo info;
    info.name = "t";
    info.dtype = dtype;
    info.shape = std::move(shape);
    return ezemu::npu::describe_tensor(info, role, 0, exact, platform(soc));
}

size_t nchw_index(const IoTensor& t, size_t n, size_t c, size_t h, size_t w)
{
    const auto& s = *t.nchw;
    return ((n * s.c + c) * s.h + h) * s.w + w;
}

// §7.6: element (c,h,w) at ((c/C2·H + h)·w_stride + w)·C2 + c%C2 within a batch of C1·H·w_stride·C2.
size_t nc1hwc2_index(const IoTensor& t, size_t c2, size_t w_stride, size_t n, size_t c, size_t h, size_t w)
{
    const auto& s = *t.nchw;
    const size_t c1 = (s.c + c2 - 1) / c2;
    return n * c1 * s.h * w_stride * c2 + ((c / c2 * s.h + h) * w_stride + w) * c2 + c % c2;
}

size_t nhwc_index(const IoTensor& t, size_t w_stride, size_t n, size_t c, size_t h, size_t w)
{
    const auto& s = *t.nchw;
    return ((n * s.h + h) * w_stride + w) * s.c + c;
}

// Values k/8 in [-8, 8): exact in fp16, so rounding cannot hide a misplaced element.
float value_at(size_t i) { return static_cast<float>(static_cast<int>(i % 128) - 64) / 8.0f; }

TEST(NativeAttrs, ThreeChannelInputIsNhwcWithPaddedRows)
{
    const IoTensor t = tensor(DT::Float, {1, 3, 4, 5});
    const rknn_tensor_attr& a = t.native;
    EXPECT_EQ(a.fmt, RKNN_TENSOR_NHWC);
    EXPECT_EQ(a.type, RKNN_TENSOR_FLOAT16);
    EXPECT_EQ(a.n_dims, 4u);
    EXPECT_EQ(a.dims[0], 1u);
    EXPECT_EQ(a.dims[1], 4u);
    EXPECT_EQ(a.dims[2], 5u);
    EXPECT_EQ(a.dims[3], 3u);
    EXPECT_EQ(a.w_stride, 16u);
    EXPECT_EQ(a.size, 60u * 2);
    EXPECT_EQ(a.size_with_stride, 1u * 4 * 16 * 3 * 2);
    const IoTensor rk3566 = tensor(DT::Float, {1, 3, 4, 5}, TensorRole::Input, false, "rk3566");
    EXPECT_EQ(rk3566.native.w_stride, 8u);
    EXPECT_EQ(rk3566.native.size_with_stride, 1u * 4 * 8 * 3 * 2);
}

TEST(NativeAttrs, OtherChannelCountsAreNc1hwc2WithThePlatformC2)
{
    const IoTensor fp16 = tensor(DT::Float, {1, 13, 4, 4});
    EXPECT_EQ(fp16.native.fmt, RKNN_TENSOR_NC1HWC2);
    EXPECT_EQ(fp16.native.n_dims, 5u);
    const uint32_t dims[5] = {1, 2, 4, 4, 8};  // rk3588 fp16: C2 = 8
    for (int i = 0; i < 5; ++i) EXPECT_EQ(fp16.native.dims[i], dims[i]) << i;
    EXPECT_EQ(fp16.native.size_with_stride, 1u * 2 * 4 * 16 * 8 * 2);
    // The rk3568 int8 example of §7.6: (1,13,4,4) → (1,2,4,4,8).
    const IoTensor int8 = tensor(DT::Int8, {1, 13, 4, 4}, TensorRole::Input, false, "rk3568");
    const uint32_t int8_dims[5] = {1, 2, 4, 4, 8};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(int8.native.dims[i], int8_dims[i]) << i;
    EXPECT_EQ(int8.native.type, RKNN_TENSOR_INT8);
    EXPECT_EQ(int8.native.size_with_stride, 1u * 2 * 4 * 8 * 8);
    const IoTensor int8_rk3588 = tensor(DT::Int8, {1, 13, 4, 4});
    EXPECT_EQ(int8_rk3588.native.dims[4], 16u);
}

TEST(NativeAttrs, BoolInt64AndNon4dTensors)
{
    for (DT dtype : {DT::Bool, DT::Int64}) {
        const IoTensor t = tensor(dtype, {1, 3, 2, 2});
        EXPECT_EQ(t.native.fmt, RKNN_TENSOR_NCHW);
        EXPECT_EQ(t.native.size_with_stride, t.attr.size);
    }
    const IoTensor flat = tensor(DT::Float, {2, 3});
    EXPECT_EQ(flat.native.fmt, RKNN_TENSOR_UNDEFINED);
    EXPECT_EQ(flat.native.size_with_stride, 16u);  // 12 bytes, total size aligned to 16 on rk3588
    const IoTensor flat_out = tensor(DT::Float, {2, 3}, TensorRole::Output);
    EXPECT_EQ(flat_out.native.size_with_stride, 12u);
}

TEST(NativeAttrs, OutputsAreNc1hwc2AndTheNhwcVariantIsDense)
{
    const IoTensor t = tensor(DT::Float, {1, 3, 4, 5}, TensorRole::Output);
    EXPECT_EQ(t.native.fmt, RKNN_TENSOR_NC1HWC2);
    EXPECT_EQ(t.native.dims[1], 1u);
    EXPECT_EQ(t.native.dims[4], 8u);
    EXPECT_EQ(t.native.size_with_stride, 1u * 1 * 4 * 16 * 8 * 2);
    EXPECT_EQ(t.native_nhwc.fmt, RKNN_TENSOR_NHWC);
    EXPECT_EQ(t.native_nhwc.size_with_stride, t.attr.size);
    const IoTensor exact = tensor(DT::Float, {1, 3, 4, 5}, TensorRole::Output, true);
    EXPECT_EQ(exact.native.fmt, RKNN_TENSOR_NCHW);  // no NC1HWC2 for float32
    EXPECT_EQ(exact.native.type, RKNN_TENSOR_FLOAT32);
}

TEST(BufferConversion, ImportsPaddedNhwcFloat16)
{
    const IoTensor t = tensor(DT::Float, {2, 3, 3, 5});
    const Platform& p = platform("rk3588");
    const BufferLayout layout = ezemu::npu::native_buffer(t, p, true);
    ASSERT_EQ(layout.w_stride, 16u);
    std::vector<uint16_t> buf(layout.bytes / 2, ezemu::numerics::float_to_half(99.0f));  // padding: junk
    const auto& s = *t.nchw;
    for (size_t n = 0; n < s.n; ++n)
        for (size_t c = 0; c < s.c; ++c)
            for (size_t h = 0; h < s.h; ++h)
                for (size_t w = 0; w < s.w; ++w)
                    buf[nhwc_index(t, 16, n, c, h, w)] = ezemu::numerics::float_to_half(value_at(nchw_index(t, n, c, h, w)));
    std::vector<float> out(t.attr.n_elems);
    std::vector<unsigned char> scratch;
    ezemu::npu::import_tensor(t, layout, buf.data(), out.data(), scratch);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], value_at(i)) << i;
}

TEST(BufferConversion, ImportsNc1hwc2Int8)
{
    const IoTensor t = tensor(DT::Int8, {1, 13, 4, 5}, TensorRole::Input, false, "rk3568");
    const Platform& p = platform("rk3568");
    const BufferLayout layout = ezemu::npu::describe_buffer(t, p, RKNN_TENSOR_INT8, RKNN_TENSOR_NC1HWC2, 8, "test");
    ASSERT_EQ(layout.c2, 8u);
    ASSERT_EQ(layout.bytes, 1u * 2 * 4 * 8 * 8);
    std::vector<int8_t> buf(layout.bytes, 77);
    const auto& s = *t.nchw;
    for (size_t c = 0; c < s.c; ++c)
        for (size_t h = 0; h < s.h; ++h)
            for (size_t w = 0; w < s.w; ++w)
                buf[nc1hwc2_index(t, 8, 8, 0, c, h, w)] = static_cast<int8_t>(nchw_index(t, 0, c, h, w) % 120);
    std::vector<int8_t> out(t.attr.n_elems);
    std::vector<unsigned char> scratch;
    ezemu::npu::import_tensor(t, layout, buf.data(), out.data(), scratch);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<int8_t>(i % 120)) << i;
}

TEST(BufferConversion, ImportsUint8NchwAsNumbers)
{
    const IoTensor t = tensor(DT::Float, {1, 2, 3, 3});
    const BufferLayout layout =
        ezemu::npu::describe_buffer(t, platform("rk3588"), RKNN_TENSOR_UINT8, RKNN_TENSOR_NCHW, 0, "test");
    std::vector<uint8_t> buf(t.attr.n_elems);
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(200 + i);
    std::vector<float> out(t.attr.n_elems);
    std::vector<unsigned char> scratch;
    ezemu::npu::import_tensor(t, layout, buf.data(), out.data(), scratch);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(200 + i));
}

TEST(BufferConversion, ExportsNc1hwc2Float16WithZeroPadding)
{
    const IoTensor t = tensor(DT::Float, {1, 10, 3, 5}, TensorRole::Output);
    const BufferLayout layout = ezemu::npu::native_buffer(t, platform("rk3588"), true);
    ASSERT_EQ(layout.fmt, RKNN_TENSOR_NC1HWC2);
    ASSERT_EQ(layout.c2, 8u);
    ASSERT_EQ(layout.w_stride, 16u);
    std::vector<float> src(t.attr.n_elems);
    for (size_t i = 0; i < src.size(); ++i) src[i] = value_at(i);
    std::vector<uint16_t> buf(layout.bytes / 2, 0xffff);
    std::vector<unsigned char> scratch;
    ezemu::npu::export_tensor(t, src.data(), layout, buf.data(), scratch);
    std::vector<bool> written(buf.size(), false);
    const auto& s = *t.nchw;
    for (size_t c = 0; c < s.c; ++c)
        for (size_t h = 0; h < s.h; ++h)
            for (size_t w = 0; w < s.w; ++w) {
                const size_t k = nc1hwc2_index(t, 8, 16, 0, c, h, w);
                written[k] = true;
                ASSERT_EQ(ezemu::numerics::half_to_float(buf[k]), value_at(nchw_index(t, 0, c, h, w)));
            }
    for (size_t k = 0; k < buf.size(); ++k) {
        if (!written[k]) {
            ASSERT_EQ(buf[k], 0u) << "padding at " << k;
        }
    }
}

TEST(BufferConversion, ExportsNhwcFloat32OfAnExactModel)
{
    const IoTensor t = tensor(DT::Float, {1, 3, 2, 4}, TensorRole::Output, true);
    const BufferLayout layout =
        ezemu::npu::describe_buffer(t, platform("rk3588"), RKNN_TENSOR_FLOAT32, RKNN_TENSOR_NHWC, 6, "test");
    std::vector<float> src(t.attr.n_elems);
    for (size_t i = 0; i < src.size(); ++i) src[i] = 0.1f * static_cast<float>(i);  // not fp16-exact
    std::vector<float> buf(layout.bytes / 4, -1.0f);
    std::vector<unsigned char> scratch;
    ezemu::npu::export_tensor(t, src.data(), layout, buf.data(), scratch);
    const auto& s = *t.nchw;
    for (size_t c = 0; c < s.c; ++c)
        for (size_t h = 0; h < s.h; ++h)
            for (size_t w = 0; w < s.w; ++w)
                ASSERT_EQ(buf[nhwc_index(t, 6, 0, c, h, w)], src[nchw_index(t, 0, c, h, w)]);
    EXPECT_EQ(buf[nhwc_index(t, 6, 0, 0, 0, 5)], 0.0f);  // padding pixel
}

TEST(BufferConversion, ExecutorLayoutIsOnlyTheExactBytes)
{
    const Platform& p = platform("rk3588");
    const IoTensor exact = tensor(DT::Float, {1, 3, 2, 2}, TensorRole::Input, true);
    EXPECT_TRUE(is_executor_layout(exact, describe_buffer(exact, p, RKNN_TENSOR_FLOAT32, RKNN_TENSOR_NCHW, 0, "t")));
    EXPECT_FALSE(is_executor_layout(exact, describe_buffer(exact, p, RKNN_TENSOR_FLOAT32, RKNN_TENSOR_NHWC, 0, "t")));
    const IoTensor fp16 = tensor(DT::Float, {1, 3, 2, 2});
    EXPECT_FALSE(is_executor_layout(fp16, describe_buffer(fp16, p, RKNN_TENSOR_FLOAT32, RKNN_TENSOR_NCHW, 0, "t")));
}

TEST(BufferConversion, ImpossibleLayoutsAreParamInvalid)
{
    const Platform& p = platform("rk3588");
    const IoTensor flat = tensor(DT::Float, {2, 3});
    const IoTensor image = tensor(DT::Float, {1, 3, 4, 5});
    const IoTensor int64 = tensor(DT::Int64, {1, 3, 4, 5});
    auto code_of = [&](const IoTensor& t, int type, int fmt, size_t w_stride) {
        try {
            ezemu::npu::describe_buffer(t, p, type, fmt, w_stride, "test");
        } catch (const RknnError& e) {
            return e.code;
        }
        return 0;
    };
    EXPECT_EQ(code_of(flat, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_NC1HWC2, 0), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of(image, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_NHWC, 4), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of(int64, RKNN_TENSOR_INT64, RKNN_TENSOR_NC1HWC2, 0), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of(image, 99, RKNN_TENSOR_NCHW, 0), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of(image, RKNN_TENSOR_FLOAT16, 17, 0), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of(image, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_NC1HWC2, 0), 0);
}

}  // namespace
