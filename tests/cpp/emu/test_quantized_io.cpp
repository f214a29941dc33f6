// Quantized graph inputs and outputs (rknn-api.md §7.6, §7.7): the attrs of 8- and 16-bit quantized tensors, and
// the one quantization rule of both widths, checked against a scalar statement of it written out here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "npu/io_conversion.hpp"
#include "npu/platform.hpp"
#include "npu/quantized_io.hpp"
#include "npu/tensor_attrs.hpp"
#include "numerics/fp16.hpp"

namespace {

using ezemu::TensorInfo;
using ezemu::npu::IoQuantization;
using ezemu::npu::IoTensor;
using ezemu::npu::TensorRole;

const ezemu::npu::Platform& platform(const char* name) { return *ezemu::npu::find_platform(name); }

IoTensor quantized(std::vector<int64_t> shape, TensorRole role, IoQuantization q, const char* soc = "rk3588")
{
    TensorInfo info;
    info.name = "t";
    info.dtype = ezemu::onnx::DataType::Float;
    info.shape = std::move(shape);
    IoTensor t = ezemu::npu::describe_tensor(info, role, 0, false, platform(soc));
    ezemu::npu::mark_quantized(t, role, platform(soc), q);
    return t;
}

// round(x) with ties to the even neighbour, stated without the FPU's rounding mode.
double round_half_even(double x)
{
    const double f = std::floor(x);
    const double rest = x - f;
    if (rest != 0.5) return rest < 0.5 ? f : f + 1;
    return std::fmod(f, 2.0) == 0 ? f : f + 1;
}

int32_t expected_q(const IoQuantization& q, float d, int32_t lo, int32_t hi)
{
    if (std::isnan(d)) return q.zero_point;
    const float ratio = d / q.scale;  // the division is float32, as in QuantizeLinear
    if (std::isinf(ratio)) return ratio > 0 ? hi : lo;
    const double v = round_half_even(ratio) + q.zero_point;
    return static_cast<int32_t>(v < lo ? lo : v > hi ? hi : v);
}

template <typename T>
int32_t read_as(const std::vector<unsigned char>& bytes, size_t i)
{
    T v;
    std::memcpy(&v, &bytes[i * sizeof v], sizeof v);
    return v;
}

int32_t element(int type, const std::vector<unsigned char>& bytes, size_t i)
{
    switch (type) {
    case RKNN_TENSOR_INT8: return read_as<int8_t>(bytes, i);
    case RKNN_TENSOR_UINT8: return read_as<uint8_t>(bytes, i);
    case RKNN_TENSOR_INT16: return read_as<int16_t>(bytes, i);
    default: return read_as<uint16_t>(bytes, i);
    }
}

TEST(QuantizedIo, SixteenBitTensorsHaveTwoByteSizesAndTheInt16C2)
{
    const IoQuantization q16{RKNN_TENSOR_INT16, -3, 0.25f};
    const IoTensor out = quantized({1, 4, 6, 6}, TensorRole::Output, q16);
    EXPECT_EQ(out.attr.type, RKNN_TENSOR_INT16);
    EXPECT_EQ(out.attr.qnt_type, RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC);
    EXPECT_EQ(out.attr.zp, -3);
    EXPECT_EQ(out.attr.scale, 0.25f);
    EXPECT_EQ(out.attr.size, 4u * 36 * 2);
    EXPECT_EQ(out.attr.size_with_stride, 1u * 1 * 6 * 16 * 8 * 2);  // rk3588 int16 C2 = 8, rows of 16
    EXPECT_EQ(out.native.fmt, RKNN_TENSOR_NC1HWC2);
    EXPECT_EQ(out.native.dims[4], 8u);
    EXPECT_EQ(out.native.type, RKNN_TENSOR_INT16);
    const IoTensor rk3568 = quantized({1, 5, 6, 6}, TensorRole::Output, q16, "rk3568");
    EXPECT_EQ(rk3568.native.dims[1], 2u);
    EXPECT_EQ(rk3568.native.dims[4], 4u);  // rk3566/8 int16 C2 = 4, rows of 8
    EXPECT_EQ(rk3568.attr.size_with_stride, 1u * 2 * 6 * 8 * 4 * 2);
    const IoTensor in = quantized({1, 3, 6, 6}, TensorRole::Input, q16);
    EXPECT_EQ(in.attr.size, 3u * 36 * 2);
    EXPECT_EQ(in.attr.size_with_stride, in.attr.size);
    EXPECT_EQ(in.native.fmt, RKNN_TENSOR_NC1HWC2);  // no NHWC native layout for int16 (§7.5)
    EXPECT_EQ(in.native_nhwc.fmt, RKNN_TENSOR_NCHW);
    // uint16: no C2 in the reference, so dense NCHW.
    const IoTensor u16 = quantized({1, 4, 6, 6}, TensorRole::Output, {RKNN_TENSOR_UINT16, 100, 0.5f});
    EXPECT_EQ(u16.attr.size_with_stride, u16.attr.size);
    EXPECT_EQ(u16.native.fmt, RKNN_TENSOR_NCHW);
    // int8 keeps its 1-byte sizes and C2 16.
    const IoTensor q8 = quantized({1, 4, 6, 6}, TensorRole::Output, {RKNN_TENSOR_INT8, 1, 0.5f});
    EXPECT_EQ(q8.attr.size, 4u * 36);
    EXPECT_EQ(q8.native.dims[4], 16u);
}

TEST(QuantizedIo, OneRuleServesBothWidthsFromFloat32AndFloat16)
{
    struct Case {
        IoQuantization q;
        int32_t lo, hi;
    };
    const Case cases[] = {{{RKNN_TENSOR_INT8, -5, 0.125f}, -128, 127},
                          {{RKNN_TENSOR_UINT8, 130, 0.125f}, 0, 255},
                          {{RKNN_TENSOR_INT16, -300, 0.125f}, -32768, 32767},
                          {{RKNN_TENSOR_UINT16, 40000, 0.125f}, 0, 65535}};
    // Ties, both ends and beyond, inf and NaN; all exact in fp16 so both source types carry the same values.
    std::vector<float> values;
    for (int k = -40; k <= 40; ++k) values.push_back((static_cast<float>(k) + 0.5f) * 0.125f);
    for (float v : {-4200.0f, -4060.0f, -4096.0f, -16.0f, 15.875f, 3800.0f, 4096.0f, 4100.0f, 8192.0f, 65504.0f})
        values.push_back(v);
    values.push_back(std::numeric_limits<float>::infinity());
    values.push_back(-std::numeric_limits<float>::infinity());
    values.push_back(std::numeric_limits<float>::quiet_NaN());
    const size_t n = values.size();
    std::vector<uint16_t> halves(n);
    for (size_t i = 0; i < n; ++i) halves[i] = ezemu::numerics::float_to_half(values[i]);

    for (const Case& c : cases) {
        const IoTensor t = quantized({1, static_cast<int64_t>(n)}, TensorRole::Input, c.q);
        const size_t width = ezemu::npu::rknn_type_size(c.q.type);
        for (int src_type : {RKNN_TENSOR_FLOAT32, RKNN_TENSOR_FLOAT16}) {
            rknn_input in{};
            in.index = 0;
            in.buf = src_type == RKNN_TENSOR_FLOAT32 ? static_cast<void*>(values.data()) : halves.data();
            in.size = static_cast<uint32_t>(n * (src_type == RKNN_TENSOR_FLOAT32 ? 4 : 2));
            in.type = static_cast<rknn_tensor_type>(src_type);
            in.fmt = RKNN_TENSOR_UNDEFINED;
            ezemu::npu::check_input(t, platform("rk3588"), in);
            std::vector<float> executor(n);
            std::vector<unsigned char> scratch;
            ezemu::npu::write_input(t, platform("rk3588"), in, executor.data(), scratch);
            std::vector<unsigned char> out(n * width);
            ezemu::npu::read_output(t, executor.data(), false, out.data());
            for (size_t i = 0; i < n; ++i) {
                const int32_t want = expected_q(c.q, values[i], c.lo, c.hi);
                EXPECT_EQ(element(c.q.type, out, i), want) << "type " << c.q.type << " src " << src_type << " value "
                                                          << values[i];
                EXPECT_EQ(executor[i], static_cast<float>((want - c.q.zero_point) * double(c.q.scale))) << i;
            }
        }
        EXPECT_EQ(c.q.lowest(), c.lo);
        EXPECT_EQ(c.q.highest(), c.hi);
    }
}

// 8-bit codes in the input's own type become (code - zp) * scale, short tensors element by element and long ones
// (>= 1024 codes) through a table of the 256 codes: both give the rule's float for every code.
TEST(QuantizedIo, OwnTypeEightBitCodesDequantizeByTheRuleShortAndLong)
{
    const IoQuantization cases[] = {{RKNN_TENSOR_INT8, -7, 0.0371f}, {RKNN_TENSOR_UINT8, 131, 0.0093f}};
    for (const IoQuantization& q : cases) {
        for (size_t n : {size_t{256}, size_t{4096 + 17}}) {
            const IoTensor t = quantized({1, static_cast<int64_t>(n)}, TensorRole::Input, q);
            std::vector<unsigned char> codes(n);
            for (size_t i = 0; i < n; ++i) codes[i] = static_cast<unsigned char>((i * 37 + i / 256) & 0xFF);
            rknn_input in{};
            in.buf = codes.data();
            in.size = static_cast<uint32_t>(n);
            in.type = static_cast<rknn_tensor_type>(q.type);
            in.fmt = RKNN_TENSOR_UNDEFINED;
            ezemu::npu::check_input(t, platform("rk3588"), in);
            std::vector<float> executor(n, -1.0f);
            std::vector<unsigned char> scratch;
            ezemu::npu::write_input(t, platform("rk3588"), in, executor.data(), scratch);
            for (size_t i = 0; i < n; ++i) {
                const int32_t code = element(q.type, codes, i);
                ASSERT_EQ(executor[i], static_cast<float>((code - q.zero_point) * double(q.scale)))
                    << "type " << q.type << ", " << n << " codes, code " << code;
            }
        }
    }
}

TEST(QuantizedIo, OwnTypeIsAcceptedOnlyForQuantizedInputs)
{
    const IoTensor q16 = quantized({2, 3}, TensorRole::Input, {RKNN_TENSOR_INT16, 0, 1.0f});
    EXPECT_TRUE(ezemu::npu::is_accepted_input_type(q16, RKNN_TENSOR_INT16));
    EXPECT_TRUE(ezemu::npu::is_accepted_input_type(q16, RKNN_TENSOR_FLOAT32));
    EXPECT_FALSE(ezemu::npu::is_accepted_input_type(q16, RKNN_TENSOR_UINT16));
    EXPECT_FALSE(ezemu::npu::is_accepted_input_type(q16, RKNN_TENSOR_INT32));
    TensorInfo info;
    info.name = "f";
    info.dtype = ezemu::onnx::DataType::Float;
    info.shape = {2, 3};
    const IoTensor plain = ezemu::npu::describe_tensor(info, TensorRole::Input, 0, false, platform("rk3588"));
    EXPECT_FALSE(ezemu::npu::is_accepted_input_type(plain, RKNN_TENSOR_INT16));
}

}  // namespace
