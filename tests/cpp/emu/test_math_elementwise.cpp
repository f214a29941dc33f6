// What the ONNX conformance suite leaves out for the math family: dtype rules per opset, old-opset forms (Max
// without broadcasting, Dropout's attribute form and T-typed mask), integer edge cases (Mod's sign rules, division
// by zero, Pow with negative exponents, wrapping), float16 through float32 (Gemm with constant weights) and the
// in-place fold of variadic Max/Min.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "numerics/fp16.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

template <class T>
std::vector<T> run_binary(const std::string& op, DT dtype, const std::vector<T>& a, const std::vector<T>& b,
                          int64_t opset = 14, std::vector<onnx::Attribute> attrs = {}) {
    ModelBuilder mb(opset);
    mb.input("a", dtype, {static_cast<int64_t>(a.size())}).input("b", dtype, {static_cast<int64_t>(b.size())});
    mb.node(op, {"a", "b"}, {"y"}, std::move(attrs), "n").output("y");
    return from_bytes<T>(run_bytes(*compile(mb), {to_bytes(a), to_bytes(b)})[0]);
}

std::vector<uint16_t> halves(const std::vector<float>& v) {
    std::vector<uint16_t> h;
    for (float x : v) h.push_back(numerics::float_to_half(x));
    return h;
}
std::vector<float> floats(const std::vector<uint16_t>& h) {
    std::vector<float> v;
    for (uint16_t x : h) v.push_back(numerics::half_to_float(x));
    return v;
}

TEST(MathDtypes, SmallIntegersJoinArithmeticAtOpset14AndWrap) {
    EXPECT_EQ(run_binary<int8_t>("Add", DT::Int8, {100, -100, 5}, {100, -100, -7}),
              (std::vector<int8_t>{-56, 56, -2}));
    EXPECT_EQ(run_binary<uint16_t>("Mul", DT::Uint16, {65535, 300}, {65535, 300}),
              (std::vector<uint16_t>{1, static_cast<uint16_t>(90000 % 65536)}));
    EXPECT_EQ(run_binary<uint32_t>("Div", DT::Uint32, {4000000000u, 7}, {2, 0xffffffffu}),
              (std::vector<uint32_t>{2000000000u, 0}));
    EXPECT_TRUE(throws_model_error([] { run_binary<uint8_t>("Add", DT::Uint8, {1}, {2}, 13); },
                                   {"Add node 'n'", "uint8", "from opset 14", "opset 13"}));
}

TEST(MathDtypes, Float16ComputesInFloatAndRoundsToNearestEven) {
    const std::vector<float> a{1.0f, 0.1f, 65504.0f, -3.5f}, b{0.0009765625f, 0.2f, 65504.0f, 2.0f};
    const auto got = floats(run_binary<uint16_t>("Add", DT::Float16, halves(a), halves(b)));
    for (size_t i = 0; i < a.size(); ++i) {
        const float want = numerics::round_to_half(numerics::round_to_half(a[i]) + numerics::round_to_half(b[i]));
        EXPECT_EQ(got[i], want) << i;
    }
    EXPECT_TRUE(std::isinf(got[2]));
}

TEST(Mod, IntegerSignRulesAndFmod) {
    const std::vector<int32_t> a{-7, 7, -7, 7, 6, std::numeric_limits<int32_t>::min()};
    const std::vector<int32_t> b{3, -3, -3, 3, 3, -1};
    // fmod = 0: the sign of the divisor (Python).
    EXPECT_EQ(run_binary<int32_t>("Mod", DT::Int32, a, b, 13), (std::vector<int32_t>{2, -2, -1, 1, 0, 0}));
    // fmod = 1: the sign of the dividend (C).
    EXPECT_EQ(run_binary<int32_t>("Mod", DT::Int32, a, b, 13, {attr_int("fmod", 1)}),
              (std::vector<int32_t>{-1, 1, -1, 1, 0, 0}));
    const auto f = run_binary<float>("Mod", DT::Float, {-7.5f, 7.5f}, {2.0f, -2.0f}, 13, {attr_int("fmod", 1)});
    EXPECT_EQ(f, (std::vector<float>{-1.5f, 1.5f}));
    EXPECT_TRUE(throws_model_error([] { run_binary<float>("Mod", DT::Float, {1.0f}, {2.0f}, 13); },
                                   {"Mod node 'n'", "fmod=1"}));
    try {
        run_binary<int64_t>("Mod", DT::Int64, {5}, {0}, 13);
        FAIL() << "no RunError";
    } catch (const RunError& e) {
        EXPECT_NE(std::string(e.what()).find("Mod node 'n': integer division by zero"), std::string::npos);
    }
}

TEST(Pow, MixedDtypesAndIntegerExponents) {
    ModelBuilder mb(15);
    mb.input("a", DT::Int64, {5}).input("e", DT::Int8, {5}).node("Pow", {"a", "e"}, {"y"}).output("y");
    const std::vector<int64_t> base{2, -1, -1, 1, 3};
    const std::vector<int8_t> exponent{10, 3, -2, -5, -1};
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*compile(mb), {to_bytes(base), to_bytes(exponent)})[0]),
              (std::vector<int64_t>{1024, -1, 1, 1, 0}));

    ModelBuilder mf(15);
    mf.input("a", DT::Float, {3}).input("e", DT::Uint32, {3}).node("Pow", {"a", "e"}, {"y"}).output("y");
    const std::vector<uint32_t> ue{0, 2, 3};
    EXPECT_EQ(from_bytes<float>(run_bytes(*compile(mf), {to_bytes(std::vector<float>{5.0f, -1.5f, 2.0f}),
                                                        to_bytes(ue)})[0]),
              (std::vector<float>{1.0f, 2.25f, 8.0f}));

    ModelBuilder old(11);
    old.input("a", DT::Float, {3}).input("e", DT::Double, {3}).node("Pow", {"a", "e"}, {"y"}, {}, "p").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(old); }, {"Pow node 'p'", "same dtype", "opset 12"}));
}

TEST(MaxMin, VariadicBroadcastAndNaN) {
    ModelBuilder mb(13);
    mb.input("a", DT::Float, {3, 1}).input("b", DT::Float, {2}).input("c", DT::Float, {1, 1, 2});
    mb.node("Max", {"a", "b", "c"}, {"mx"}).node("Min", {"a", "b", "c"}, {"mn"}).node("Max", {"b"}, {"one"});
    mb.output("mx").output("mn").output("one");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto out = run_float(*compile(mb), {{1.0f, 5.0f, nan}, {2.0f, 3.0f}, {0.0f, 4.0f}});
    ASSERT_EQ(out[0].size(), 6u);
    const std::vector<float> mx{2, 4, 5, 5}, mn{0, 1, 0, 3};
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out[0][i], mx[i]) << i;
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out[1][i], mn[i]) << i;
    EXPECT_TRUE(std::isnan(out[0][4]) && std::isnan(out[0][5]) && std::isnan(out[1][4]));
    EXPECT_EQ(out[2], (std::vector<float>{2.0f, 3.0f}));

    ModelBuilder old(7);
    old.input("a", DT::Float, {3, 1}).input("b", DT::Float, {3, 2}).node("Min", {"a", "b"}, {"y"}, {}, "m").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(old); }, {"Min node 'm'", "same shape before opset 8"}));
    ModelBuilder ints(11);
    ints.input("a", DT::Int32, {2}).input("b", DT::Int32, {2}).node("Max", {"a", "b"}, {"y"}, {}, "m").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(ints); }, {"Max node 'm'", "int32", "from opset 12"}));
}

TEST(Dropout, AttributeFormMaskTypesAndTraining) {
    const std::vector<float> x{1.0f, -2.0f, 3.0f, 4.0f};
    // Opset 7: mask of the data's dtype, all ones in inference.
    ModelBuilder m7(7);
    m7.input("x", DT::Float, {4}).node("Dropout", {"x"}, {"y", "mask"}, {attr_float("ratio", 0.3f)}).output("y");
    m7.output("mask");
    auto o7 = compile(m7);
    EXPECT_EQ(o7->outputs()[1].dtype, DT::Float);
    const auto r7 = run_float(*o7, {x});
    EXPECT_EQ(r7[0], x);
    EXPECT_EQ(r7[1], (std::vector<float>{1, 1, 1, 1}));

    // Opset 12: training_mode true with ratio 0 keeps everything; a positive ratio drops and rescales.
    ModelBuilder m12(13);
    m12.input("x", DT::Float, {4}).input("r", DT::Float, {}).input("t", DT::Bool, {});
    m12.node("Dropout", {"x", "r", "t"}, {"y", "mask"}).output("y").output("mask");
    auto c12 = compile(m12);
    EXPECT_EQ(c12->outputs()[1].dtype, DT::Bool);
    auto run12 = [&](float ratio, bool training) {
        return run_bytes(*c12, {to_bytes(x), to_bytes(std::vector<float>{ratio}),
                                to_bytes(std::vector<uint8_t>{static_cast<uint8_t>(training)})});
    };
    auto zero = run12(0.0f, true);
    EXPECT_EQ(from_bytes<float>(zero[0]), x);
    EXPECT_EQ(zero[1], (std::vector<uint8_t>{1, 1, 1, 1}));
    auto half = run12(0.5f, true);
    const auto y = from_bytes<float>(half[0]);
    for (size_t i = 0; i < x.size(); ++i)
        EXPECT_EQ(y[i], half[1][i] ? 2.0f * x[i] : 0.0f) << i;
    EXPECT_EQ(run12(0.5f, true), half);  // the same mask on every run
    EXPECT_EQ(from_bytes<float>(run12(0.5f, false)[0]), x);
}

TEST(Gemm, Float16WithConstantWeightsRunsInFloat) {
    const std::vector<float> a{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}, w{0.5f, -1.0f, 0.25f, 2.0f, 1.0f, 0.0f};
    ModelBuilder mb(13);
    mb.input("a", DT::Float16, {2, 3}).initializer("w", DT::Float16, {3, 2}, halves(w));
    mb.initializer("c", DT::Float16, {2}, halves({0.5f, -0.5f}));
    mb.node("Gemm", {"a", "w", "c"}, {"y"}, {attr_float("alpha", 2.0f)}).output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Float16);
    const auto got = floats(from_bytes<uint16_t>(run_bytes(*m, {to_bytes(halves(a))})[0]));
    EXPECT_EQ(got, (std::vector<float>{2.0f * (0.5f + 0.5f + 3.0f) + 0.5f, 2.0f * (-1.0f + 4.0f) - 0.5f,
                                       2.0f * (2.0f + 1.25f + 6.0f) + 0.5f, 2.0f * (-4.0f + 10.0f) - 0.5f}));
}

TEST(MatMul, IntegersWrap) {
    ModelBuilder mb(13);
    mb.input("a", DT::Int32, {1, 2}).input("b", DT::Int32, {2, 1}).node("MatMul", {"a", "b"}, {"y"}).output("y");
    const std::vector<int32_t> a{std::numeric_limits<int32_t>::max(), 1}, b{2, 3};
    EXPECT_EQ(from_bytes<int32_t>(run_bytes(*compile(mb), {to_bytes(a), to_bytes(b)})[0]),
              (std::vector<int32_t>{1}));  // 2 * INT32_MAX + 3 wraps to 1
}

TEST(Activation, ClipTakesIntegersFromOpset12) {
    ModelBuilder mb(12);
    mb.input("x", DT::Uint8, {4}).initializer("hi", DT::Uint8, {}, std::vector<uint8_t>{9});
    mb.node("Clip", {"x", "", "hi"}, {"y"}).output("y");
    EXPECT_EQ(run_bytes(*compile(mb), {{0, 5, 10, 255}})[0], (std::vector<uint8_t>{0, 5, 9, 9}));
    ModelBuilder old(11);
    old.input("x", DT::Int32, {4}).node("Clip", {"x"}, {"y"}, {}, "c").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(old); }, {"Clip node 'c'", "int32", "from opset 12"}));
}

TEST(Activation, LargeInputsStayFinite) {
    const std::vector<float> x{-100.0f, -20.0f, 0.0f, 20.0f, 100.0f};
    auto run = [&](const std::string& op) {
        ModelBuilder mb(18);
        mb.input("x", DT::Float, {5}).node(op, {"x"}, {"y"}).output("y");
        return run_float(*compile(mb), {x})[0];
    };
    const auto sp = run("Softplus"), mish = run("Mish"), hs = run("HardSwish");
    EXPECT_TRUE(all_close(sp, std::vector<double>{0.0, 2.0611536e-9, std::log(2.0), 20.0, 100.0}, 1e-7, 1e-6));
    EXPECT_TRUE(all_close(mish, std::vector<double>{0.0, -4.1223e-8, 0.0, 20.0, 100.0}, 1e-7, 1e-4));
    EXPECT_EQ(hs, (std::vector<float>{0.0f, 0.0f, 0.0f, 20.0f, 100.0f}));
}

}  // namespace
}  // namespace ezemu::testing
