// What the ONNX conformance suite leaves out for the logic family: Cast's edge values (NaN, out of range, bool,
// float16), comparison dtype rules per opset, NaN comparisons, and Where over three different broadcasts.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "numerics/fp16.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

template <class From, class To>
std::vector<To> run_cast(DT from, DT to, const std::vector<From>& x, int64_t opset = 13) {
    ModelBuilder mb(opset);
    mb.input("x", from, {static_cast<int64_t>(x.size())});
    mb.node("Cast", {"x"}, {"y"}, {attr_int("to", static_cast<int64_t>(to))}).output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, to);
    return from_bytes<To>(run_bytes(*m, {to_bytes(x)})[0]);
}

TEST(Cast, FloatToIntegerTruncatesAndNeverTraps) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ((run_cast<float, int32_t>(DT::Float, DT::Int32, {2.9f, -2.9f, 0.5f, -0.0f})),
              (std::vector<int32_t>{2, -2, 0, 0}));
    // Out of range wraps from int64 as numpy's astype does on x86; NaN and infinities become INT64_MIN first.
    EXPECT_EQ((run_cast<float, uint8_t>(DT::Float, DT::Uint8, {300.0f, -1.0f, 255.0f})),
              (std::vector<uint8_t>{44, 255, 255}));
    EXPECT_EQ((run_cast<float, int64_t>(DT::Float, DT::Int64, {nan, inf, -inf})),
              (std::vector<int64_t>(3, std::numeric_limits<int64_t>::min())));
    EXPECT_EQ((run_cast<float, uint64_t>(DT::Float, DT::Uint64, {1.0e19f})), (std::vector<uint64_t>{
                                                                                 static_cast<uint64_t>(1.0e19f)}));
}

TEST(Cast, BoolAndFloat16) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ((run_cast<float, uint8_t>(DT::Float, DT::Bool, {0.0f, -0.0f, 0.1f, nan})),
              (std::vector<uint8_t>{0, 0, 1, 1}));
    EXPECT_EQ((run_cast<uint8_t, int64_t>(DT::Bool, DT::Int64, {0, 1})), (std::vector<int64_t>{0, 1}));
    const auto h = run_cast<float, uint16_t>(DT::Float, DT::Float16, {1.0f / 3.0f, 70000.0f, -2.5f});
    EXPECT_EQ(h, (std::vector<uint16_t>{numerics::float_to_half(1.0f / 3.0f), 0x7c00, numerics::float_to_half(-2.5f)}));
    EXPECT_EQ((run_cast<uint16_t, int8_t>(DT::Float16, DT::Int8, {numerics::float_to_half(-7.75f)})),
              (std::vector<int8_t>{-7}));
    EXPECT_EQ((run_cast<int32_t, uint16_t>(DT::Int32, DT::Float16, {2049})),
              (std::vector<uint16_t>{numerics::float_to_half(2048.0f)}));  // ties to even
    // saturate (opset 19) is accepted: it only concerns float8 targets.
    ModelBuilder mb(19);
    mb.input("x", DT::Float, {1}).node("Cast", {"x"}, {"y"}, {attr_int("to", 6), attr_int("saturate", 0)}).output("y");
    EXPECT_EQ(from_bytes<int32_t>(run_bytes(*compile(mb), {to_bytes(std::vector<float>{3.5f})})[0]),
              (std::vector<int32_t>{3}));
}

TEST(Cast, RefusesUncarriedTargets) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1}).node("Cast", {"x"}, {"y"}, {attr_int("to", 8)}, "c").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Cast node 'c'", "'to'", "string"}));
    ModelBuilder none(13);
    none.input("x", DT::Float, {1}).node("Cast", {"x"}, {"y"}, {}, "c").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(none); }, {"Cast node 'c'", "'to' is required"}));
}

TEST(Comparison, DtypesPerOpsetAndNaN) {
    ModelBuilder eq7(7);
    eq7.input("a", DT::Float, {2}).input("b", DT::Float, {2}).node("Equal", {"a", "b"}, {"y"}, {}, "e").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(eq7); }, {"Equal node 'e'", "float32", "from opset 11"}));
    ModelBuilder gt8(8);
    gt8.input("a", DT::Int32, {2}).input("b", DT::Int32, {2}).node("Greater", {"a", "b"}, {"y"}, {}, "g").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(gt8); }, {"Greater node 'g'", "int32", "from opset 9"}));

    const float nan = std::numeric_limits<float>::quiet_NaN();
    ModelBuilder mb(16);
    mb.input("a", DT::Float, {3}).input("b", DT::Float, {3});
    for (const char* op : {"Equal", "Less", "GreaterOrEqual"}) mb.node(op, {"a", "b"}, {op}).output(op);
    const auto out = run_bytes(*compile(mb), {to_bytes(std::vector<float>{nan, 1.0f, 2.0f}),
                                              to_bytes(std::vector<float>{nan, 1.0f, 3.0f})});
    EXPECT_EQ(out[0], (std::vector<uint8_t>{0, 1, 0}));
    EXPECT_EQ(out[1], (std::vector<uint8_t>{0, 0, 1}));
    EXPECT_EQ(out[2], (std::vector<uint8_t>{0, 1, 0}));
}

TEST(Where, ThreeWayBroadcastOfWideValues) {
    ModelBuilder mb(16);
    mb.input("c", DT::Bool, {2, 1, 3}).input("x", DT::Int64, {4, 1}).input("y", DT::Int64, {});
    mb.node("Where", {"c", "x", "y"}, {"z"}).output("z");
    auto m = compile(mb);
    ASSERT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{2, 4, 3}));
    const std::vector<uint8_t> c{1, 0, 1, 0, 1, 1};
    const std::vector<int64_t> x{10, 20, 30, 40}, y{-1};
    const auto z = from_bytes<int64_t>(run_bytes(*m, {c, to_bytes(x), to_bytes(y)})[0]);
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 4; ++j)
            for (int64_t k = 0; k < 3; ++k)
                EXPECT_EQ(z[static_cast<size_t>((i * 4 + j) * 3 + k)], c[static_cast<size_t>(i * 3 + k)] ? x[static_cast<size_t>(j)] : -1);
    ModelBuilder bad(16);
    bad.input("c", DT::Float, {2}).input("x", DT::Float, {2}).input("y", DT::Float, {2});
    bad.node("Where", {"c", "x", "y"}, {"z"}, {}, "w").output("z");
    EXPECT_TRUE(throws_model_error([&] { compile(bad); }, {"Where node 'w'", "input 0", "float32"}));
}

TEST(Logical, NotAndXor) {
    ModelBuilder mb(7);
    mb.input("a", DT::Bool, {2, 2}).input("b", DT::Bool, {2});
    mb.node("Xor", {"a", "b"}, {"x"}).node("Not", {"a"}, {"n"}).node("And", {"a", "b"}, {"and"});
    mb.output("x").output("n").output("and");
    const auto out = run_bytes(*compile(mb), {{1, 0, 1, 1}, {1, 0}});
    EXPECT_EQ(out[0], (std::vector<uint8_t>{0, 0, 0, 1}));
    EXPECT_EQ(out[1], (std::vector<uint8_t>{0, 1, 0, 0}));
    EXPECT_EQ(out[2], (std::vector<uint8_t>{1, 0, 1, 0}));
}

}  // namespace
}  // namespace ezemu::testing
