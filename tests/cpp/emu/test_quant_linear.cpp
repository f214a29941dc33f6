// QuantizeLinear / DequantizeLinear: rounding, saturation and the checks the conformance suite does not reach
// (old-opset limits, scale and zero-point shapes).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {8}).initializer<float>("s", DT::Float, {}, {0.5f});
    mb.initializer<int8_t>("z", DT::Int8, {}, {1});
    mb.node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y");
    auto m = compile(mb);
    // x / 0.5: 0.5, 1.5, 2.5, -0.5, -1.5, 1000, -1000, NaN-free 0.
    const auto out = run_bytes(*m, {to_bytes<float>({0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 500.0f, -500.0f, 0.0f})});
    EXPECT_EQ(from_bytes<int8_t>(out[0]), (std::vector<int8_t>{1, 3, 3, 1, -1, 127, -128, 1}));
}

// Long enough for the vectorized row (per-tensor float32): ties, NaN, infinities and huge values, int8 and uint8.
TEST(QuantizeLinear, VectorizedRowsRoundHalfToEvenAndSaturate) {
    std::vector<float> x;
    for (int k = -300; k < 300; ++k) x.push_back((static_cast<float>(k) + 0.5f) * 0.25f);  // exact ties of x / 0.25
    for (float v : random_floats(203, 81, -40.0f, 40.0f)) x.push_back(v);
    for (float v : {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, -0.0f}) x.push_back(v);
    const auto expect = [&](float lo, float hi, float zp) {
        std::vector<float> want;
        for (float v : x) {
            const float q = v == v ? std::nearbyint(v / 0.25f) + zp : zp;  // NaN quantizes to the zero point
            want.push_back(std::min(hi, std::max(lo, q)));
        }
        return want;
    };
    const auto dims = std::vector<int64_t>{static_cast<int64_t>(x.size())};
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, dims).initializer<float>("s", DT::Float, {}, {0.25f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {-3}).node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y");
        const auto got = from_bytes<int8_t>(run_bytes(*compile(mb), {to_bytes(x)})[0]);
        EXPECT_EQ(std::vector<float>(got.begin(), got.end()), expect(-128.0f, 127.0f, -3.0f));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, dims).initializer<float>("s", DT::Float, {}, {0.25f});
        mb.initializer<uint8_t>("z", DT::Uint8, {}, {131}).node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y");
        const auto got = from_bytes<uint8_t>(run_bytes(*compile(mb), {to_bytes(x)})[0]);
        EXPECT_EQ(std::vector<float>(got.begin(), got.end()), expect(0.0f, 255.0f, 131.0f));
    }
}

TEST(QuantizeLinear, DefaultsToUint8WithoutZeroPoint) {
    ModelBuilder mb(10);
    mb.input("x", DT::Float, {3}).initializer<float>("s", DT::Float, {}, {1.0f});
    mb.node("QuantizeLinear", {"x", "s"}, {"y"}).output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Uint8);
    EXPECT_EQ(from_bytes<uint8_t>(run_bytes(*m, {to_bytes<float>({-3.0f, 7.4f, 300.0f})})[0]),
              (std::vector<uint8_t>{0, 7, 255}));
}

TEST(QuantizeLinear, PerAxisScaleNeedsOpset13) {
    ModelBuilder mb(10);
    mb.input("x", DT::Float, {2, 3}).initializer<float>("s", DT::Float, {3}, {1.0f, 2.0f, 3.0f});
    mb.node("QuantizeLinear", {"x", "s"}, {"y"}, {}, "q").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QuantizeLinear node 'q'", "scalar before opset 13"}));
}

TEST(QuantizeLinear, RefusesMismatchedParameters) {
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2, 3}).initializer<float>("s", DT::Float, {2}, {1.0f, 2.0f});
        mb.node("QuantizeLinear", {"x", "s"}, {"y"}, {}, "q").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"per-axis scale", "3 elements", "[2]"}));
    }
    {
        ModelBuilder mb(21);
        mb.input("x", DT::Float, {2, 5}).initializer<float>("s", DT::Float, {2, 2}, {1.0f, 1.0f, 1.0f, 1.0f});
        mb.node("QuantizeLinear", {"x", "s"}, {"y"}, {attr_int("block_size", 2)}, "q").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"block_size 2", "[2,3]", "[2,2]"}));
    }
    {
        ModelBuilder mb(21);
        mb.input("x", DT::Float, {2}).initializer<float>("s", DT::Float, {}, {1.0f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.node("QuantizeLinear", {"x", "s", "z"}, {"y"}, {attr_int("output_dtype", 2)}, "q").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"output_dtype uint8", "int8"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2}).initializer<float>("s", DT::Float, {}, {1.0f});
        mb.initializer<int16_t>("z", DT::Int16, {}, {0});
        mb.node("QuantizeLinear", {"x", "s", "z"}, {"y"}, {}, "q").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"16-bit", "opset 21"}));
    }
}

TEST(QuantizeLinear, BlockedWithARemainderBlock) {
    ModelBuilder mb(21);
    mb.input("x", DT::Float, {5}).initializer<float>("s", DT::Float, {3}, {1.0f, 2.0f, 4.0f});
    mb.node("QuantizeLinear", {"x", "s"}, {"y"}, {attr_int("block_size", 2), attr_int("axis", 0)}).output("y");
    auto m = compile(mb);
    EXPECT_EQ(from_bytes<uint8_t>(run_bytes(*m, {to_bytes<float>({8.0f, 8.0f, 8.0f, 8.0f, 8.0f})})[0]),
              (std::vector<uint8_t>{8, 8, 4, 4, 2}));
}

TEST(DequantizeLinear, Int32AndZeroPointAreExact) {
    ModelBuilder mb(13);
    mb.input("x", DT::Int32, {2}).initializer<float>("s", DT::Float, {}, {1.0f});
    mb.initializer<int32_t>("z", DT::Int32, {}, {-16777216});
    mb.node("DequantizeLinear", {"x", "s", "z"}, {"y"}).output("y");
    auto m = compile(mb);
    // 16777217 is not a float, but x - zero_point is computed before the conversion.
    const auto out = run_bytes(*m, {to_bytes<int32_t>({-16777215, -16777216})});
    EXPECT_EQ(from_bytes<float>(out[0]), (std::vector<float>{1.0f, 0.0f}));
}

TEST(DequantizeLinear, PerAxisAndFloat16Output) {
    ModelBuilder mb(19);
    mb.input("x", DT::Uint8, {2, 2}).initializer<uint16_t>("s", DT::Float16, {2}, {0x3800, 0x4000});  // 0.5, 2
    mb.initializer<uint8_t>("z", DT::Uint8, {2}, {128, 0});
    mb.node("DequantizeLinear", {"x", "s", "z"}, {"y"}, {attr_int("axis", 1)}).output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Float16);
    const auto out = run_bytes(*m, {std::vector<uint8_t>{130, 3, 0, 255}});
    // 1, 6, -64, 510 in half precision.
    EXPECT_EQ(from_bytes<uint16_t>(out[0]), (std::vector<uint16_t>{0x3C00, 0x4600, 0xD400, 0x5FF8}));
}

TEST(DequantizeLinear, RefusesZeroPointOfAnotherType) {
    ModelBuilder mb(13);
    mb.input("x", DT::Uint8, {2}).initializer<float>("s", DT::Float, {}, {1.0f});
    mb.initializer<int8_t>("z", DT::Int8, {}, {0});
    mb.node("DequantizeLinear", {"x", "s", "z"}, {"y"}, {}, "dq").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"DequantizeLinear node 'dq'", "int8", "uint8"}));
}

}  // namespace
}  // namespace ezemu::testing
