// Add/Sub/Mul/Div with broadcasting in float32, int32 and int64; Relu, Sigmoid, Clip (attribute and input forms);
// Softmax before and after opset 13.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

// Index of the input element that output index `i` reads under numpy broadcasting.
int64_t broadcast_index(int64_t i, const std::vector<int64_t>& out, const std::vector<int64_t>& in) {
    int64_t idx = 0, stride = 1;
    for (size_t d = out.size(); d-- > 0;) {
        const int64_t coord = i % out[d];
        i /= out[d];
        const size_t off = out.size() - in.size();
        if (d >= off) {
            const int64_t dim = in[d - off];
            if (dim != 1) idx += coord * stride;
            stride *= dim;
        }
    }
    return idx;
}

struct BroadcastCase {
    std::vector<int64_t> a, b, y;
};

const std::vector<BroadcastCase> kBroadcasts = {
    {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},    // same shape
    {{2, 3, 4}, {}, {2, 3, 4}},           // scalar
    {{}, {5}, {5}},                       // scalar first
    {{2, 3, 4, 5}, {1, 3, 1, 1}, {2, 3, 4, 5}},  // per-channel
    {{3, 1}, {1, 4}, {3, 4}},             // outer product
    {{4}, {2, 3, 4}, {2, 3, 4}},          // row broadcast, lower rank
    {{2, 1, 4}, {3, 1}, {2, 3, 4}},
    {{1, 1}, {2, 1, 3}, {2, 1, 3}},
    {{2, 3, 1, 5}, {2, 1, 4, 1}, {2, 3, 4, 5}},
};

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed, bool nonzero) {
    std::mt19937 rng(seed);
    std::vector<T> v(n);
    for (T& x : v) {
        if constexpr (std::is_floating_point_v<T>) {
            x = std::uniform_real_distribution<T>(-2, 2)(rng);
            if (nonzero && std::abs(x) < T(0.1)) x = T(0.5);
        } else {
            x = static_cast<T>(std::uniform_int_distribution<int>(-50, 50)(rng));
            if (nonzero && x == 0) x = 7;
        }
    }
    return v;
}

template <class T>
void check_binary(DT dtype) {
    const char* ops[] = {"Add", "Sub", "Mul", "Div"};
    uint32_t seed = 1;
    for (const BroadcastCase& c : kBroadcasts)
        for (const char* op : ops) {
            SCOPED_TRACE(std::string(op) + " a" + std::to_string(c.a.size()) + " b" + std::to_string(c.b.size()));
            const auto a = random_values<T>(static_cast<size_t>(elements(c.a)), seed++, false);
            const auto b = random_values<T>(static_cast<size_t>(elements(c.b)), seed++, true);
            ModelBuilder mb(14);
            mb.input("a", dtype, c.a).input("b", dtype, c.b).node(op, {"a", "b"}, {"y"}).output("y");
            auto m = compile(mb);
            ASSERT_EQ(m->outputs()[0].shape, c.y);
            ASSERT_EQ(m->outputs()[0].dtype, dtype);
            const auto got = from_bytes<T>(run_bytes(*m, {to_bytes(a), to_bytes(b)})[0]);
            std::vector<T> want(static_cast<size_t>(elements(c.y)));
            for (size_t i = 0; i < want.size(); ++i) {
                const T x = a[static_cast<size_t>(broadcast_index(static_cast<int64_t>(i), c.y, c.a))];
                const T z = b[static_cast<size_t>(broadcast_index(static_cast<int64_t>(i), c.y, c.b))];
                const std::string o = op;
                want[i] = o == "Add" ? T(x + z) : o == "Sub" ? T(x - z) : o == "Mul" ? T(x * z) : T(x / z);
            }
            if constexpr (std::is_floating_point_v<T>) EXPECT_TRUE(all_close(got, want, 1e-6, 1e-6));
            else EXPECT_EQ(got, want);
        }
}

TEST(ElementwiseBinary, Float32Broadcasting) { check_binary<float>(DT::Float); }
TEST(ElementwiseBinary, Int32Broadcasting) { check_binary<int32_t>(DT::Int32); }
TEST(ElementwiseBinary, Int64Broadcasting) { check_binary<int64_t>(DT::Int64); }

TEST(ElementwiseBinary, IntegerDivisionEdgeCases) {
    ModelBuilder mb(14);
    mb.input("a", DT::Int32, {3}).input("b", DT::Int32, {3}).node("Div", {"a", "b"}, {"y"}, {}, "div").output("y");
    auto m = compile(mb);
    const std::vector<int32_t> a{-7, std::numeric_limits<int32_t>::min(), 9}, b{2, -1, -4};
    EXPECT_EQ(from_bytes<int32_t>(run_bytes(*m, {to_bytes(a), to_bytes(b)})[0]),
              (std::vector<int32_t>{-3, std::numeric_limits<int32_t>::min(), -2}));
    const std::vector<int32_t> zero{1, 1, 0};
    try {
        run_bytes(*m, {to_bytes(a), to_bytes(zero)});
        FAIL() << "no RunError";
    } catch (const RunError& e) {
        EXPECT_NE(std::string(e.what()).find("Div node 'div': integer division by zero"), std::string::npos) << e.what();
    }
}

TEST(ElementwiseBinary, RefusesIncompatibleShapesAndMixedTypes) {
    ModelBuilder mb(14);
    mb.input("a", DT::Float, {2, 3}).input("b", DT::Float, {4}).node("Add", {"a", "b"}, {"y"}, {}, "add").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Add node 'add'", "[2,3]", "[4]", "do not broadcast"}));
    ModelBuilder mb2(14);
    mb2.input("a", DT::Float, {2}).input("b", DT::Int64, {2}).node("Mul", {"a", "b"}, {"y"}, {}, "mul").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb2); }, {"Mul node 'mul'", "float32", "int64"}));
    ModelBuilder mb3(13);
    mb3.input("a", DT::Int8, {2}).input("b", DT::Int8, {2}).node("Sub", {"a", "b"}, {"y"}, {}, "sub").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb3); }, {"Sub node 'sub'", "int8", "from opset 14"}));
}

std::vector<float> run_unary(const std::string& op, const std::vector<float>& x, int64_t opset,
                             std::vector<onnx::Attribute> attrs = {}) {
    ModelBuilder mb(opset);
    mb.input("x", DT::Float, {static_cast<int64_t>(x.size())}).node(op, {"x"}, {"y"}, std::move(attrs)).output("y");
    return run_float(*compile(mb), {x})[0];
}

TEST(Activation, ReluAndSigmoid) {
    const auto x = random_floats(257, 3, -30.0f, 30.0f);
    std::vector<double> relu(x.size()), sig(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        relu[i] = std::max(0.0f, x[i]);
        sig[i] = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    }
    EXPECT_TRUE(all_close(run_unary("Relu", x, 14), relu, 0, 0));
    EXPECT_TRUE(all_close(run_unary("Sigmoid", x, 13), sig, 1e-7, 1e-6));
    const auto extreme = run_unary("Sigmoid", {-1000.0f, 1000.0f, 0.0f}, 6);
    EXPECT_EQ(extreme, (std::vector<float>{0.0f, 1.0f, 0.5f}));

    ModelBuilder mb(14);
    mb.input("x", DT::Int64, {4}).node("Relu", {"x"}, {"y"}).output("y");
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*compile(mb), {to_bytes(std::vector<int64_t>{-5, 3, 0, -1})})[0]),
              (std::vector<int64_t>{0, 3, 0, 0}));
}

TEST(Activation, ClipBeforeAndAfterOpset11) {
    const std::vector<float> x{-3.0f, -0.5f, 0.0f, 2.5f, 7.0f};
    // Opset 6: bounds are attributes (Relu6 as exported by older converters).
    EXPECT_EQ(run_unary("Clip", x, 6, {attr_float("min", 0.0f), attr_float("max", 6.0f)}),
              (std::vector<float>{0.0f, 0.0f, 0.0f, 2.5f, 6.0f}));
    EXPECT_EQ(run_unary("Clip", x, 6, {attr_float("max", 1.0f)}), (std::vector<float>{-3.0f, -0.5f, 0.0f, 1.0f, 1.0f}));
    // Opset 11+: optional inputs, constant or not, either may be absent.
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {5}).initializer("lo", DT::Float, {}, std::vector<float>{-1.0f});
    mb.input("hi", DT::Float, {});
    mb.node("Clip", {"x", "lo", "hi"}, {"y"}).node("Clip", {"x", "", "hi"}, {"z"}).node("Clip", {"x", "lo"}, {"w"});
    mb.node("Clip", {"x"}, {"v"});
    mb.output("y").output("z").output("w").output("v");
    auto out = run_float(*compile(mb), {x, {2.0f}});
    EXPECT_EQ(out[0], (std::vector<float>{-1.0f, -0.5f, 0.0f, 2.0f, 2.0f}));
    EXPECT_EQ(out[1], (std::vector<float>{-3.0f, -0.5f, 0.0f, 2.0f, 2.0f}));
    EXPECT_EQ(out[2], (std::vector<float>{-1.0f, -0.5f, 0.0f, 2.5f, 7.0f}));
    EXPECT_EQ(out[3], x);
}

std::vector<double> softmax_naive(const std::vector<float>& x, int64_t outer, int64_t len, int64_t inner) {
    std::vector<double> y(x.size());
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            double sum = 0;
            for (int64_t a = 0; a < len; ++a) sum += std::exp(static_cast<double>(x[static_cast<size_t>((o * len + a) * inner + i)]));
            for (int64_t a = 0; a < len; ++a) {
                const size_t k = static_cast<size_t>((o * len + a) * inner + i);
                y[k] = std::exp(static_cast<double>(x[k])) / sum;
            }
        }
    return y;
}

TEST(Softmax, SingleAxisFromOpset13AndCoercedBefore) {
    const std::vector<int64_t> shape{2, 3, 4};
    const auto x = random_floats(24, 77, -5.0f, 5.0f);
    auto run = [&](int64_t opset, std::vector<onnx::Attribute> attrs) {
        ModelBuilder mb(opset);
        mb.input("x", DT::Float, shape).node("Softmax", {"x"}, {"y"}, std::move(attrs)).output("y");
        return run_float(*compile(mb), {x})[0];
    };
    EXPECT_TRUE(all_close(run(13, {}), softmax_naive(x, 6, 4, 1), 1e-6, 1e-5));                        // axis -1
    EXPECT_TRUE(all_close(run(13, {attr_int("axis", 1)}), softmax_naive(x, 2, 3, 4), 1e-6, 1e-5));     // one axis
    EXPECT_TRUE(all_close(run(13, {attr_int("axis", -3)}), softmax_naive(x, 1, 2, 12), 1e-6, 1e-5));
    EXPECT_TRUE(all_close(run(11, {}), softmax_naive(x, 2, 12, 1), 1e-6, 1e-5));                       // [2, 12]
    EXPECT_TRUE(all_close(run(11, {attr_int("axis", 2)}), softmax_naive(x, 6, 4, 1), 1e-6, 1e-5));
    EXPECT_TRUE(all_close(run(1, {attr_int("axis", 0)}), softmax_naive(x, 1, 24, 1), 1e-6, 1e-5));
    const auto big = run(13, {attr_int("axis", 0)});  // large logits stay finite
    for (float v : big) EXPECT_TRUE(std::isfinite(v));

    ModelBuilder mb(13);
    mb.input("x", DT::Float, shape).node("Softmax", {"x"}, {"y"}, {attr_int("axis", 3)}, "sm").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Softmax node 'sm'", "axis 3", "rank 3"}));
}

}  // namespace
}  // namespace ezemu::testing
