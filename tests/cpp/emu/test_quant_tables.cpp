// The table kernels of the QDQ fusion (QLinearLookup, QLinearMaxPool, QLinearConcat), checked over all 256 codes of
// int8 and uint8 against scalar references written here: dequantize in float, apply the activation with <cmath>
// (in double, rounded once to float), quantize with round half to even.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/quant/code_table.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

using Fn = std::function<double(double)>;

template <class Q>
std::vector<Q> all_codes() {
    std::vector<Q> v;
    for (int c = std::numeric_limits<Q>::min(); c <= std::numeric_limits<Q>::max(); ++c) v.push_back(static_cast<Q>(c));
    return v;
}

float reference_dequantize(int32_t q, float s, int32_t zp) { return static_cast<float>(q - zp) * s; }

template <class Q>
Q reference_quantize(float v, float s, int32_t zp) {
    const double r = std::nearbyint(static_cast<double>(v / s)) + zp;  // default rounding: half to even
    return static_cast<Q>(std::clamp(r, double(std::numeric_limits<Q>::min()), double(std::numeric_limits<Q>::max())));
}

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

struct ActivationCase {
    std::string op;
    std::vector<onnx::Attribute> attrs;
    Fn f;
    float x_scale, y_scale;
    int32_t y_zp_offset;  // the output zero point, steps above the type's middle
};

std::vector<ActivationCase> activation_cases() {
    const auto clamp01 = [](double v) { return std::clamp(v, 0.0, 1.0); };
    return {
        {"Sigmoid", {}, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 0.031f, 1.0f / 256, -128},
        {"HardSigmoid", {attr_float("alpha", 0.25f), attr_float("beta", 0.4f)},
         [=](double x) { return clamp01(double(0.25f) * x + double(0.4f)); }, 0.029f, 1.0f / 256, -128},
        {"LeakyRelu", {attr_float("alpha", 0.1f)}, [](double x) { return x < 0 ? double(0.1f) * x : x; }, 0.021f,
         0.017f, -3},
        {"Tanh", {}, [](double x) { return std::tanh(x); }, 0.023f, 1.0f / 128, 0},
        {"HardSwish", {}, [=](double x) { return x * clamp01(x / 6.0 + 0.5); }, 0.047f, 0.031f, -40},
        {"Relu", {}, [](double x) { return std::max(x, 0.0); }, 0.013f, 0.011f, -7},
        {"Elu", {attr_float("alpha", 0.7f)}, [](double x) { return x < 0 ? double(0.7f) * std::expm1(x) : x; },
         0.021f, 0.017f, -20},
        {"Softplus", {}, softplus, 0.043f, 0.029f, -120},
        {"Mish", {}, [](double x) { return x * std::tanh(softplus(x)); }, 0.043f, 0.027f, -90},
    };
}

template <class Q>
int32_t middle_plus(int32_t steps) {
    return (std::is_signed_v<Q> ? 0 : 128) + steps;
}

// DQ(x) -> op -> Q(y) over x [256], opset 18; returns the compiled model.
template <class Q>
std::shared_ptr<const CompiledModel> activation_model(const ActivationCase& c, bool reference) {
    constexpr DT dt = std::is_signed_v<Q> ? DT::Int8 : DT::Uint8;
    ModelBuilder mb(18);
    mb.input("x", dt, {256}).initializer<float>("xs", DT::Float, {}, {c.x_scale});
    mb.initializer<Q>("xz", dt, {}, {static_cast<Q>(middle_plus<Q>(5))});
    mb.initializer<float>("ys", DT::Float, {}, {c.y_scale});
    mb.initializer<Q>("yz", dt, {}, {static_cast<Q>(middle_plus<Q>(c.y_zp_offset))});
    mb.node("DequantizeLinear", {"x", "xs", "xz"}, {"d"}).node(c.op, {"d"}, {"a"}, c.attrs, "act");
    mb.node("QuantizeLinear", {"a", "ys", "yz"}, {"y"}).output("y");
    return compile(mb, reference);
}

template <class Q>
void check_activations(bool reference, int allowed_differences) {
    const std::vector<Q> x = all_codes<Q>();
    int differences = 0;
    for (const ActivationCase& c : activation_cases()) {
        auto model = activation_model<Q>(c, reference);
        const std::vector<std::string> labels = model->step_labels();
        ASSERT_NE(std::find(labels.begin(), labels.end(), "QLinearLookup node 'act'"), labels.end()) << c.op;
        const auto got = from_bytes<Q>(run_bytes(*model, {to_bytes(x)})[0]);
        std::vector<Q> distinct;
        for (size_t i = 0; i < x.size(); ++i) {
            const float d = reference_dequantize(x[i], c.x_scale, middle_plus<Q>(5));
            const auto v = static_cast<float>(c.f(d));
            const Q want = reference_quantize<Q>(v, c.y_scale, middle_plus<Q>(c.y_zp_offset));
            if (got[i] != want) {
                ++differences;
                EXPECT_LE(std::abs(int(got[i]) - int(want)), 1) << c.op << " code " << int(x[i]);
            }
            if (std::find(distinct.begin(), distinct.end(), got[i]) == distinct.end()) distinct.push_back(got[i]);
        }
        EXPECT_GT(distinct.size(), 8u) << c.op << ": the table should span many codes";
    }
    EXPECT_LE(differences, allowed_differences);
}

// The reference kernels compute the activations in scalar float, as the references here do in double rounded to
// float: the same codes. The fast kernels (oneDNN's vectorized exp / tanh) may land one ULP away, which moves a
// value that lies that close to a rounding tie by one code (measured: no code moves, with oneDNN on AVX2 or AVX-512).
TEST(QdqTables, ActivationTablesMatchTheScalarReferenceOnEveryCode) {
    check_activations<int8_t>(true, 0);
    check_activations<uint8_t>(true, 0);
}

TEST(QdqTables, ActivationTablesOfTheFastKernelsStayWithinOneCode) {
    check_activations<int8_t>(false, 2);
    check_activations<uint8_t>(false, 2);
}

TEST(QdqTables, ClipBoundsComeFromItsConstantInputs) {
    ModelBuilder mb(18);
    mb.input("x", DT::Int8, {256}).initializer<float>("xs", DT::Float, {}, {0.013f});
    mb.initializer<int8_t>("xz", DT::Int8, {}, {5}).initializer<float>("lo", DT::Float, {}, {-0.4f});
    mb.initializer<float>("hi", DT::Float, {}, {1.1f}).initializer<float>("ys", DT::Float, {}, {0.009f});
    mb.initializer<int8_t>("yz", DT::Int8, {}, {2});
    mb.node("DequantizeLinear", {"x", "xs", "xz"}, {"d"}).node("Clip", {"d", "lo", "hi"}, {"a"}, {}, "clip");
    mb.node("QuantizeLinear", {"a", "ys", "yz"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    ASSERT_NE(std::find(labels.begin(), labels.end(), "QLinearLookup node 'clip'"), labels.end());
    const std::vector<int8_t> x = all_codes<int8_t>();
    const auto got = from_bytes<int8_t>(run_bytes(*model, {to_bytes(x)})[0]);
    for (size_t i = 0; i < x.size(); ++i) {
        const float d = std::clamp(reference_dequantize(x[i], 0.013f, 5), -0.4f, 1.1f);
        ASSERT_EQ(got[i], reference_quantize<int8_t>(d, 0.009f, 2)) << "code " << int(x[i]);
    }
}

TEST(QdqTables, PowByAConstantExponentIsTabulated) {
    ModelBuilder mb(13);
    mb.input("x", DT::Uint8, {256}).initializer<float>("xs", DT::Float, {}, {0.021f});
    mb.initializer<uint8_t>("xz", DT::Uint8, {}, {120}).initializer<float>("e", DT::Float, {1}, {2.0f});
    mb.initializer<float>("ys", DT::Float, {}, {0.031f}).initializer<uint8_t>("yz", DT::Uint8, {}, {3});
    mb.node("DequantizeLinear", {"x", "xs", "xz"}, {"d"}).node("Pow", {"d", "e"}, {"a"}, {}, "square");
    mb.node("QuantizeLinear", {"a", "ys", "yz"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    ASSERT_NE(std::find(labels.begin(), labels.end(), "QLinearLookup node 'square'"), labels.end());
    const std::vector<uint8_t> x = all_codes<uint8_t>();
    const auto got = from_bytes<uint8_t>(run_bytes(*model, {to_bytes(x)})[0]);
    for (size_t i = 0; i < x.size(); ++i) {
        const double d = reference_dequantize(x[i], 0.021f, 120);
        ASSERT_EQ(got[i], reference_quantize<uint8_t>(static_cast<float>(d * d), 0.031f, 3)) << "code " << int(x[i]);
    }
}

// DQ(x) -> MaxPool 2x2/2 over all 256 codes -> Q: the max on the codes, then the requantization table if any.
template <class Q>
void check_max_pool(float ys, int32_t yz_offset) {
    constexpr DT dt = std::is_signed_v<Q> ? DT::Int8 : DT::Uint8;
    const float xs = 0.021f;
    const int32_t xz = middle_plus<Q>(-3), yz = middle_plus<Q>(yz_offset);
    ModelBuilder mb(13);
    mb.input("x", dt, {1, 1, 16, 16}).initializer<float>("xs", DT::Float, {}, {xs});
    mb.initializer<Q>("xz", dt, {}, {static_cast<Q>(xz)});
    mb.initializer<float>("ys", DT::Float, {}, {ys});
    mb.initializer<Q>("yz", dt, {}, {static_cast<Q>(yz)});
    mb.node("DequantizeLinear", {"x", "xs", "xz"}, {"d"});
    mb.node("MaxPool", {"d"}, {"p"}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, "pool");
    mb.node("QuantizeLinear", {"p", "ys", "yz"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    ASSERT_NE(std::find(labels.begin(), labels.end(), "QLinearMaxPool node 'pool'"), labels.end());
    const std::vector<Q> x = all_codes<Q>();
    const auto got = from_bytes<Q>(run_bytes(*model, {to_bytes(x)})[0]);
    ASSERT_EQ(got.size(), 64u);
    for (int64_t oy = 0; oy < 8; ++oy)
        for (int64_t ox = 0; ox < 8; ++ox) {
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t ky = 0; ky < 2; ++ky)
                for (int64_t kx = 0; kx < 2; ++kx)
                    m = std::max(m, reference_dequantize(x[size_t((oy * 2 + ky) * 16 + ox * 2 + kx)], xs, xz));
            ASSERT_EQ(got[size_t(oy * 8 + ox)], reference_quantize<Q>(m, ys, yz)) << oy << "," << ox;
        }
}

TEST(QdqTables, MaxPoolRunsOnTheCodesAndRequantizesOnlyWhenTheParametersDiffer) {
    check_max_pool<int8_t>(0.021f, -3);  // the same parameters: no table
    check_max_pool<uint8_t>(0.021f, -3);
    check_max_pool<int8_t>(0.037f, 11);
    check_max_pool<uint8_t>(0.0093f, -60);  // saturates at both ends
}

// DQ(a), DQ(b), DQ(constant) -> Concat -> Q: a is quantized like y (copied), b and the constant are requantized.
TEST(QdqTables, ConcatCopiesOrRequantizesEachInput) {
    const std::vector<uint8_t> a = all_codes<uint8_t>(), b = a;
    std::vector<uint8_t> c(64);
    for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 4 + 1);
    ModelBuilder mb(13);
    mb.input("a", DT::Uint8, {1, 256}).input("b", DT::Uint8, {1, 256});
    mb.initializer<uint8_t>("c", DT::Uint8, {1, 64}, c);
    mb.initializer<float>("s", DT::Float, {}, {0.02f}).initializer<uint8_t>("z", DT::Uint8, {}, {128});
    mb.initializer<float>("bs", DT::Float, {}, {0.033f}).initializer<uint8_t>("bz", DT::Uint8, {}, {100});
    mb.initializer<float>("cs", DT::Float, {}, {0.011f}).initializer<uint8_t>("cz", DT::Uint8, {}, {140});
    mb.node("DequantizeLinear", {"a", "s", "z"}, {"ad"}).node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"});
    mb.node("DequantizeLinear", {"c", "cs", "cz"}, {"cd"});
    mb.node("Concat", {"ad", "bd", "cd"}, {"cat"}, {attr_int("axis", 1)}, "concat");
    mb.node("QuantizeLinear", {"cat", "s", "z"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    ASSERT_NE(std::find(labels.begin(), labels.end(), "QLinearConcat node 'concat'"), labels.end());
    const auto got = from_bytes<uint8_t>(run_bytes(*model, {to_bytes(a), to_bytes(b)})[0]);
    ASSERT_EQ(got.size(), 576u);
    for (size_t i = 0; i < 256; ++i) {
        ASSERT_EQ(got[i], a[i]);
        ASSERT_EQ(got[256 + i], reference_quantize<uint8_t>(reference_dequantize(b[i], 0.033f, 100), 0.02f, 128));
    }
    for (size_t i = 0; i < 64; ++i)
        ASSERT_EQ(got[512 + i], reference_quantize<uint8_t>(reference_dequantize(c[i], 0.011f, 140), 0.02f, 128));
}

TEST(QdqTables, CodeTableIdentityAndApply) {
    kernels::quant::CodeTable t;
    for (size_t i = 0; i < 256; ++i) t.code[i] = static_cast<uint8_t>(i);
    EXPECT_TRUE(t.identity());
    t.code[200] = 3;
    EXPECT_FALSE(t.identity());
    const std::vector<int8_t> x{-56, 0, 127, -128};  // -56 is byte 200
    std::vector<int8_t> y(4);
    t.apply(x.data(), y.data(), 4);
    EXPECT_EQ(y, (std::vector<int8_t>{3, 0, 127, -128}));
}

// A QLinearLookup node written by hand: its checks name the node.
TEST(QdqTables, LookupNodesCheckTheirInputs) {
    const auto model = [](const std::string& op, bool constant_scale) {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {4});
        if (constant_scale) mb.initializer<float>("xs", DT::Float, {}, {0.1f});
        else mb.input("xs", DT::Float, {});
        mb.initializer<int8_t>("xz", DT::Int8, {}, {0}).initializer<float>("ys", DT::Float, {}, {0.1f});
        mb.initializer<int8_t>("yz", DT::Int8, {}, {0});
        mb.node("QLinearLookup", {"x", "xs", "xz", "ys", "yz"}, {"y"}, {attr_string("lookup_op", op)}, "lut")
            .output("y");
        return mb;
    };
    EXPECT_TRUE(throws_model_error([&] { compile(model("Softmax", true)); }, {"QLinearLookup node 'lut'", "Softmax"}));
    EXPECT_TRUE(
        throws_model_error([&] { compile(model("Sigmoid", false)); }, {"QLinearLookup node 'lut'", "constant"}));
    EXPECT_NO_THROW(compile(model("Sigmoid", true)));
}

// QLinearConcat / QLinear<op> / QLinearSplit nodes written by hand: refused with the node's name, never a crash.
TEST(QdqTables, ConcatAndCodeOpNodesCheckTheirInputs) {
    const auto params = [](ModelBuilder& mb) {
        mb.initializer<float>("s", DT::Float, {}, {0.1f}).initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.initializer<uint8_t>("uz", DT::Uint8, {}, {0});
    };
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3});
        params(mb);
        mb.node("QLinearConcat", {"s", "z", "x", "s"}, {"y"}, {attr_int("axis", 0)}, "cat").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearConcat node 'cat'", "per input"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3}).input("w", DT::Uint8, {2, 3});
        params(mb);
        mb.node("QLinearConcat", {"s", "z", "x", "s", "z", "w", "s", "uz"}, {"y"}, {attr_int("axis", 0)}, "cat2")
            .output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearConcat node 'cat2'", "dtype"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3}).initializer<int64_t>("shape", DT::Int64, {1}, {6});
        params(mb);
        mb.node("QLinearReshape", {"x", "s", "uz", "s", "z", "shape"}, {"y"}, {}, "rs").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearReshape node 'rs'", "dtype"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2, 3}).initializer<int64_t>("shape", DT::Int64, {1}, {6});
        params(mb);
        mb.node("QLinearReshape", {"x", "s", "z", "s", "z", "shape"}, {"y"}, {}, "rs2").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearReshape node 'rs2'", "float"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3}).initializer<float>("zero", DT::Float, {}, {0.0f});
        params(mb);
        mb.node("QLinearTranspose", {"x", "zero", "z", "s", "z"}, {"y"}, {}, "tr").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearTranspose node 'tr'", "positive and finite"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 4});
        params(mb);
        mb.node("QLinearSplit", {"x", "s", "z", "", "s", "z"}, {"a", "b"}, {attr_int("axis", 1)}, "sp")
            .output("a")
            .output("b");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearSplit node 'sp'", "per output"}));
    }
}

}  // namespace
}  // namespace ezemu::testing
