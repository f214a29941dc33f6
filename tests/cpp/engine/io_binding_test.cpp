// Zero-copy io binding from C++: the NC1HWC2/NHWC converter against hand-computed offsets, and IoBinding runs on
// the emulator compared with the reference outputs of add_conv.onnx.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "engine/native_layout.hpp"
#include "ezrknn/io_binding.hpp"
#include "ezrknn/session.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

// IEEE half from float, round to nearest (values here are normal and small).
uint16_t to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const int exp = static_cast<int>((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (exp <= 0) return static_cast<uint16_t>(sign);
    uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
    if (mant & 0x1000u) ++h;
    return static_cast<uint16_t>(h);
}

float from_half(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) return sign ? -0.0f : 0.0f;
    const uint32_t x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

rknn_tensor_attr blocked_attr() {
    rknn_tensor_attr a{};
    a.n_dims = 5;
    const uint32_t dims[5] = {1, 2, 3, 5, 8};  // C = 13 in two blocks of 8, W = 5 stored in rows of 16
    std::memcpy(a.dims, dims, sizeof dims);
    a.fmt = RKNN_TENSOR_NC1HWC2;
    a.type = RKNN_TENSOR_FLOAT16;
    a.w_stride = 16;
    a.n_elems = 1 * 2 * 3 * 5 * 8;
    a.size = a.n_elems * 2;
    a.size_with_stride = 1 * 2 * 3 * 16 * 8 * 2;
    return a;
}

TEST(NativeLayout, Nc1hwc2HonoursC2AndRowStride) {
    const std::vector<int64_t> shape = {1, 13, 3, 5};
    const auto l = detail::describe_device_layout(blocked_attr(), shape, false, 2);
    ASSERT_EQ(l.device_bytes, 1536u);
    std::vector<uint16_t> logical(13 * 3 * 5);
    std::iota(logical.begin(), logical.end(), uint16_t{1});
    std::vector<uint16_t> device(l.device_bytes / 2, 0xffff);
    detail::pack_logical(l, false, logical.data(), device.data());
    for (size_t c = 0; c < 13; ++c)
        for (size_t h = 0; h < 3; ++h)
            for (size_t w = 0; w < 5; ++w) {
                const size_t at = (((c / 8) * 3 + h) * 16 + w) * 8 + c % 8;
                ASSERT_EQ(device[at], logical[(c * 3 + h) * 5 + w]) << "c" << c << " h" << h << " w" << w;
            }
    EXPECT_EQ(device[((1 * 3 + 0) * 16 + 0) * 8 + 7], 0) << "channel 15 is padding";
    EXPECT_EQ(device[(0 * 16 + 5) * 8], 0) << "pixel 5 of a row is padding";
    std::vector<uint16_t> back(logical.size());
    detail::unpack_logical(l, false, device.data(), back.data());
    EXPECT_EQ(back, logical);
}

TEST(NativeLayout, NhwcRowsFromNchwAndBadShapes) {
    rknn_tensor_attr a{};
    a.n_dims = 4;
    const uint32_t dims[4] = {1, 2, 3, 3};  // N H W C
    std::memcpy(a.dims, dims, sizeof dims);
    a.fmt = RKNN_TENSOR_NHWC;
    a.w_stride = 4;
    a.n_elems = 18;
    const auto l = detail::describe_device_layout(a, {1, 3, 2, 3}, false, 1);
    EXPECT_EQ(l.device_bytes, 24u);
    std::vector<uint8_t> nchw(18), device(24), back(18);
    std::iota(nchw.begin(), nchw.end(), uint8_t{1});
    detail::pack_logical(l, false, nchw.data(), device.data());
    EXPECT_EQ(device[(1 * 4 + 2) * 3 + 1], nchw[(1 * 2 + 1) * 3 + 2]);  // h1 w2 c1
    EXPECT_EQ(device[(0 * 4 + 3) * 3], 0);                              // row padding
    detail::unpack_logical(l, false, device.data(), back.data());
    EXPECT_EQ(back, nchw);
    EXPECT_THROW(detail::describe_device_layout(a, {1, 3, 2, 4}, false, 1), InvalidArgument);
    a.w_stride = 2;
    EXPECT_THROW(detail::describe_device_layout(a, {1, 3, 2, 3}, false, 1), InvalidArgument);
}

class IoBindingOnEmulator : public ::testing::Test {
protected:
    void SetUp() override { EZRKNN_REQUIRE_EMULATOR(); }

    static std::shared_ptr<Session> open(ZeroCopyLayout layout) {
        SessionConfig c;
        c.options.runtime = "emulator";
        c.options.zero_copy_layout = layout;
        c.warning_sink = [](const std::string&) {};
        return Session::from_file(testing::model_path("add_conv.onnx"), std::move(c));
    }

    static std::vector<uint16_t> halves(const std::vector<float>& v) {
        std::vector<uint16_t> out(v.size());
        for (size_t i = 0; i < v.size(); ++i) out[i] = to_half(v[i]);
        return out;
    }
};

TEST_F(IoBindingOnEmulator, RunWritesOutputsInPlaceForEveryLayout) {
    const std::vector<float> expected = testing::add_conv_expected();
    for (ZeroCopyLayout zl : {ZeroCopyLayout::NHWC, ZeroCopyLayout::Native}) {
        for (ValueLayout layout : {ValueLayout::Native, ValueLayout::Nhwc, ValueLayout::Onnx}) {
            SCOPED_TRACE(std::string(zero_copy_layout_name(zl)) + " / " + value_layout_name(layout));
            auto session = open(zl);
            const size_t contexts = session->context_count();
            IoBinding binding(session->zero_copy_backend());
            EXPECT_EQ(session->context_count(), contexts) << "the binding context is not a worker's";
            testing::AddConvInputs in;
            const std::vector<uint16_t> image = halves(in.image), offset = halves(in.offset);
            auto x = DeviceTensor::for_tensor(binding.backend(), IoKind::Input, "image", layout, 0);
            auto y = DeviceTensor::for_tensor(binding.backend(), IoKind::Input, "offset", layout, 0);
            x->write(image.data(), image.size() * 2);
            y->write(offset.data(), offset.size() * 2);
            binding.bind_input("image", x);
            binding.bind_input("offset", y);
            auto features = binding.bind_new_output("features", layout, RKNN_FLAG_MEMORY_NON_CACHEABLE);
            auto pooled = binding.bind_new_output("pooled", layout, 0);
            const void* where = features->data();
            binding.run();
            binding.run();
            EXPECT_EQ(features->data(), where);
            std::vector<uint16_t> f(256), p(4);
            features->read(f.data(), f.size() * 2);
            pooled->read(p.data(), p.size() * 2);
            for (size_t i = 0; i < 256; ++i) EXPECT_NEAR(from_half(f[i]), expected[i], 2e-2) << i;
            for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(from_half(p[i]), expected[256 + i], 2e-2) << i;
            EXPECT_EQ(session->copied_bytes(), 0u);
        }
    }
}

TEST_F(IoBindingOnEmulator, BadBindingsNameTheTensor) {
    auto session = open(ZeroCopyLayout::Native);
    IoBinding binding(session->zero_copy_backend());
    auto x = DeviceTensor::for_tensor(binding.backend(), IoKind::Input, "image", ValueLayout::Native, 0);
    EXPECT_NE(testing::message_of<InvalidArgument>([&] { binding.bind_input("nope", x); })
                  .find("Unknown input name: nope"),
              std::string::npos);
    EXPECT_NE(testing::message_of<InvalidArgument>([&] { binding.bind_input("offset", x); })
                  .find("OrtValue for input 'offset' shape mismatch"),
              std::string::npos);
    binding.bind_input("image", x);
    EXPECT_NE(testing::message_of<InvalidArgument>([&] { binding.run(); }).find("input 'offset' is not"),
              std::string::npos);
    EXPECT_THROW(DeviceTensor::for_tensor(binding.backend(), IoKind::Output, "pooled", ValueLayout::Native, 0,
                                          ElementType::Float32),
                 InvalidArgument);
    EXPECT_THROW(parse_mem_flags("fast"), InvalidArgument);
    EXPECT_EQ(parse_mem_flags(" Non_Cacheable "), uint64_t{RKNN_FLAG_MEMORY_NON_CACHEABLE});
    EXPECT_THROW(check_mem_flags(3), InvalidArgument);
}

// Two bindings of one session run at once (they take turns on the binding's context) while run() keeps the
// workers busy: every result stays right (run under ThreadSanitizer by scripts/test.sh).
TEST_F(IoBindingOnEmulator, ConcurrentBindingsAndRunsDoNotShareAContext) {
    auto session = open(ZeroCopyLayout::Native);
    const std::vector<float> expected = testing::add_conv_expected();
    testing::AddConvInputs in;
    const std::vector<uint16_t> image = halves(in.image), offset = halves(in.offset);
    auto zero_copy = [&](int rounds) {
        IoBinding binding(session->zero_copy_backend());
        auto x = DeviceTensor::for_tensor(binding.backend(), IoKind::Input, "image", ValueLayout::Native, 0);
        auto y = DeviceTensor::for_tensor(binding.backend(), IoKind::Input, "offset", ValueLayout::Native, 0);
        x->write(image.data(), image.size() * 2);
        y->write(offset.data(), offset.size() * 2);
        binding.bind_input("image", x);
        binding.bind_input("offset", y);
        auto pooled = binding.bind_new_output("pooled", ValueLayout::Onnx, 0);
        binding.bind_new_output("features", ValueLayout::Native, 0);
        for (int r = 0; r < rounds; ++r) {
            binding.run();
            std::vector<uint16_t> p(4);
            pooled->read(p.data(), p.size() * 2);
            for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(from_half(p[i]), expected[256 + i], 2e-2);
        }
    };
    std::thread a(zero_copy, 20), b(zero_copy, 20);
    for (int r = 0; r < 20; ++r) {
        auto out = session->run({testing::view_of(in.image, {1, 3, 8, 8}), testing::view_of(in.offset, {1, 4})});
        testing::expect_close(static_cast<const float*>(out[1].data), expected.data() + 256, 4, "pooled");
    }
    a.join();
    b.join();
}

// A vendor library without rknn_dup_context and rknn_create_mem2 (the fake forwards the rest to the emulator):
// each missing piece is a clear error, never a crash.
TEST_F(IoBindingOnEmulator, AnOlderVendorLibraryFailsWithTheMissingSymbol) {
    if (!testing::file_exists(testing::fake_vendor_path())) GTEST_SKIP() << "fake vendor library not built";
    SessionConfig c;
    c.options.runtime = testing::fake_vendor_path();
    c.warning_sink = [](const std::string&) {};
    auto dup_session = Session::from_file(testing::model_path("add_conv.onnx"), c);
    EXPECT_NE(testing::message_of<NotSupported>([&] { dup_session->zero_copy_backend(); }).find("rknn_dup_context"),
              std::string::npos);
    c.options.disable_dup_context = true;
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), c);
    auto backend = session->zero_copy_backend();  // rknn_init of its own context
    if (testing::file_exists("/dev/dma_heap/system")) GTEST_SKIP() << "this host has a dma-heap";
    const std::string msg = testing::message_of<Error>(
        [&] { DeviceTensor::for_tensor(backend, IoKind::Input, "image", ValueLayout::Native, 0); });
    EXPECT_NE(msg.find("/dev/dma_heap/system"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lacks rknn_create_mem2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ezrknn
