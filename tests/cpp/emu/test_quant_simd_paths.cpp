// The vectorized paths of the 8-bit kernels against their scalar rules, bit for bit: the QLinearAdd / QLinearMul rows
// (AVX-512, every code pair, either input broadcast), the code-table lookup (VBMI), the requantization of int32 rows
// (the flat pass for channel counts that are no multiple of 16), over tails of every length 0..64; and
// DQ -> activation -> MaxPool -> Q on the codes against the same graph run in float.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/quant/code_table.hpp"
#include "kernels/quant/integer_output.hpp"
#include "kernels/quant/qlinear_binary_rows.hpp"
#include "kernels/quant/requantize_rows.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

namespace q = kernels::quant;
constexpr uint8_t kSentinel = 0xA5;

template <class Q>
std::vector<Q> random_codes(size_t n, std::mt19937& rng) {
    std::uniform_int_distribution<int> d(std::numeric_limits<Q>::min(), std::numeric_limits<Q>::max());
    std::vector<Q> v(n);
    for (Q& c : v) c = static_cast<Q>(d(rng));
    return v;
}

// One row both ways: the AVX-512 row must write exactly the first n codes, each as the rule gives it.
template <class Rule, class Q>
void compare_row(const Rule& rule, const std::vector<Q>& a, bool a_scalar, const std::vector<Q>& b, bool b_scalar,
                 int64_t n) {
    std::vector<Q> fast(static_cast<size_t>(n) + 16, static_cast<Q>(kSentinel)), slow = fast;
    ASSERT_TRUE(q::binary_row_avx512(rule, a.data(), a_scalar, b.data(), b_scalar, fast.data(), n));
    q::binary_row_scalar(rule, a.data(), a_scalar, b.data(), b_scalar, slow.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        const Q expect = rule.template apply<Q>(a[a_scalar ? 0 : size_t(i)], b[b_scalar ? 0 : size_t(i)]);
        ASSERT_EQ(int(slow[size_t(i)]), int(expect)) << "scalar, element " << i << " of " << n;
        ASSERT_EQ(int(fast[size_t(i)]), int(expect)) << "AVX-512, element " << i << " of " << n << " (a "
                                                     << int(a[a_scalar ? 0 : size_t(i)]) << ", b "
                                                     << int(b[b_scalar ? 0 : size_t(i)]) << ")";
    }
    for (size_t i = size_t(n); i < fast.size(); ++i) ASSERT_EQ(uint8_t(fast[i]), kSentinel) << "wrote past " << n;
}

template <class Rule, class Q>
void check_binary_rows() {
    if (!q::has_avx512_core()) GTEST_SKIP() << "the CPU has no AVX-512";
    std::mt19937 rng(11);
    const int32_t mid = std::is_signed_v<Q> ? 0 : 128;
    // Scales that tie often (powers of two), ordinary ones, and ones that saturate.
    const struct { float sa, sb, sy; int32_t za, zb, zy; } sets[] = {
        {0.5f, 0.25f, 1.0f, mid, mid + 3, mid},        {0.021f, 0.0078f, 0.013f, mid - 7, mid + 60, mid + 11},
        {0.047f, 1.0f / 256, 0.031f, mid - 40, mid - 128, mid - 110}, {0.3f, 0.2f, 0.001f, mid + 5, mid - 9, mid + 100},
    };
    std::vector<Q> codes(256);
    for (int c = 0; c < 256; ++c) codes[size_t(c)] = static_cast<Q>(c + std::numeric_limits<Q>::min());
    for (const auto& s : sets) {
        const Rule rule(s.sa, s.za, s.sb, s.zb, s.sy, s.zy);
        for (int c = 0; c < 256; ++c) {  // every (a, b) pair, b broadcast, then a broadcast, then neither
            const std::vector<Q> one{codes[size_t(c)]};
            compare_row(rule, codes, false, one, true, 256);
            compare_row(rule, one, true, codes, false, 256);
            std::vector<Q> rotated(codes.begin() + c, codes.end());
            rotated.insert(rotated.end(), codes.begin(), codes.begin() + c);
            compare_row(rule, codes, false, rotated, false, 256);
        }
        for (int64_t n = 0; n <= 64; ++n) {
            const std::vector<Q> a = random_codes<Q>(size_t(n) + 1, rng), b = random_codes<Q>(size_t(n) + 1, rng);
            compare_row(rule, a, false, b, false, n);
            compare_row(rule, a, true, b, false, n);
            compare_row(rule, a, false, b, true, n);
            compare_row(rule, a, true, b, true, n);
        }
    }
}

TEST(QuantSimdPaths, AddRowsMatchTheScalarRuleOnEveryCodePair) {
    check_binary_rows<q::AddRule, int8_t>();
    check_binary_rows<q::AddRule, uint8_t>();
}

TEST(QuantSimdPaths, MulRowsMatchTheScalarRuleOnEveryCodePair) {
    check_binary_rows<q::MulRule, int8_t>();
    check_binary_rows<q::MulRule, uint8_t>();
}

TEST(QuantSimdPaths, CodeTableLookupMatchesTheTableOnEveryCodeAndTail) {
    std::mt19937 rng(5);
    q::CodeTable t;
    for (uint8_t& c : t.code) c = static_cast<uint8_t>(rng());
    std::vector<uint8_t> all(256);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
    std::vector<uint8_t> y(256 + 64, kSentinel);
    t.apply(all.data(), y.data(), 256);
    for (size_t i = 0; i < 256; ++i) ASSERT_EQ(y[i], t.code[i]) << "code " << i;
    for (size_t i = 256; i < y.size(); ++i) ASSERT_EQ(y[i], kSentinel);
    std::vector<uint8_t> probe(1);
    if (!t.apply_vbmi(probe.data(), probe.data(), 0)) GTEST_SKIP() << "the CPU has no AVX-512 VBMI";
    for (int64_t n = 0; n <= 200; ++n) {
        std::vector<uint8_t> x(static_cast<size_t>(n));
        for (uint8_t& c : x) c = static_cast<uint8_t>(rng());
        std::vector<uint8_t> fast(size_t(n) + 64, kSentinel), slow = fast, in_place = x;
        ASSERT_TRUE(t.apply_vbmi(x.data(), fast.data(), n));
        t.apply_scalar(x.data(), slow.data(), n);
        ASSERT_EQ(fast, slow) << n << " codes";
        ASSERT_TRUE(t.apply_vbmi(in_place.data(), in_place.data(), n));
        ASSERT_EQ(in_place, std::vector<uint8_t>(slow.begin(), slow.begin() + n)) << n << " codes in place";
    }
}

// write_rows over every channel count up to 40 (the flat pass below 16 and between multiples of 16) and row counts
// around the flat pass's threshold, against product_output element by element.
template <class Q>
void check_write_rows() {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int32_t> acc_dist(-200000, 200000);
    std::uniform_real_distribution<float> mult_dist(1e-5f, 2e-3f);
    for (int64_t channels = 1; channels <= 40; ++channels)
        for (int64_t rows : {1, 2, 3, 17, 64}) {
            std::vector<int32_t> acc(static_cast<size_t>(rows * channels)), bias(static_cast<size_t>(channels));
            for (int32_t& v : acc) v = acc_dist(rng);
            acc[0] = std::numeric_limits<int32_t>::max();  // wraps with a positive bias
            for (int32_t& v : bias) v = acc_dist(rng) / 8 + 1;
            std::vector<float> mult(static_cast<size_t>(channels));
            for (float& m : mult) m = mult_dist(rng);
            const int32_t zp = std::is_signed_v<Q> ? -5 : 120;
            for (const int32_t* b : {static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(bias.data())}) {
                std::vector<Q> y(acc.size() + 16, static_cast<Q>(kSentinel));
                q::write_rows(acc.data(), b, mult.data(), zp, y.data(), rows, channels, 1);
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t c = 0; c < channels; ++c) {
                        const size_t i = size_t(r * channels + c);
                        ASSERT_EQ(int(y[i]), int(q::product_output<Q>(acc[i], b ? b[c] : 0, mult[size_t(c)], zp)))
                            << channels << " channels, " << rows << " rows, row " << r << " channel " << c;
                    }
                for (size_t i = acc.size(); i < y.size(); ++i) ASSERT_EQ(uint8_t(y[i]), kSentinel);
            }
        }
}

TEST(QuantSimdPaths, RequantizedRowsMatchTheScalarRuleForEveryChannelCount) {
    check_write_rows<int8_t>();
    check_write_rows<uint8_t>();
}

// QuantizeLinear per tensor from float32 (the AVX-512 row where the CPU has it) against the rule: the float32
// division, round half to even, + zero point, saturated; NaN gives the zero point. Ties, both ends, infinities and
// NaN, over every length 0..64.
template <class Q>
void check_quantize_rows() {
    constexpr DT dt = std::is_signed_v<Q> ? DT::Int8 : DT::Uint8;
    const float scale = 0.25f;
    const int32_t zp = std::is_signed_v<Q> ? -3 : 130;
    std::vector<float> specials{0.125f, -0.125f, 0.375f, -0.375f, 0.625f, 1.0f, -1.0f, 31.875f, -32.125f,
                                1e9f, -1e9f, 3e38f, std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> d(-40.0f, 40.0f);
    for (int64_t n = 0; n <= 64; ++n) {
        std::vector<float> x(static_cast<size_t>(n));
        for (size_t i = 0; i < x.size(); ++i)
            x[i] = i % 3 == 0 ? specials[(i / 3 + size_t(n)) % specials.size()] : d(rng);
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {n}).initializer<float>("s", DT::Float, {}, {scale});
        mb.initializer<Q>("z", dt, {}, {static_cast<Q>(zp)});
        mb.node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y");
        const auto got = from_bytes<Q>(run_bytes(*compile(mb), {to_bytes(x)})[0]);
        ASSERT_EQ(got.size(), x.size());
        for (size_t i = 0; i < x.size(); ++i) {
            const float ratio = x[i] / scale;
            const double r = (std::isnan(ratio) ? 0.0 : std::nearbyint(static_cast<double>(ratio))) + zp;
            const double want =
                std::clamp(r, double(std::numeric_limits<Q>::min()), double(std::numeric_limits<Q>::max()));
            ASSERT_EQ(double(got[i]), want) << "x " << x[i] << ", element " << i << " of " << n;
        }
    }
}

TEST(QuantSimdPaths, QuantizeLinearRowsFollowTheRuleOnEveryTail) {
    check_quantize_rows<int8_t>();
    check_quantize_rows<uint8_t>();
}

// DQ(x) -> activation -> MaxPool -> Q(y) runs as one QLinearMaxPool on the codes; with the activation's output also a
// graph output the same nodes run in float. Both must give the same codes.
void check_activation_max_pool(const std::string& activation, std::vector<onnx::Attribute> pool_attrs) {
    const auto build = [&](bool float_path) {
        ModelBuilder mb(14);  // HardSwish: opset 14
        mb.input("x", DT::Int8, {1, 2, 16, 16}).initializer<float>("xs", DT::Float, {}, {0.047f});
        mb.initializer<int8_t>("xz", DT::Int8, {}, {-9}).initializer<float>("ys", DT::Float, {}, {0.021f});
        mb.initializer<int8_t>("yz", DT::Int8, {}, {-110});
        mb.node("DequantizeLinear", {"x", "xs", "xz"}, {"d"}).node(activation, {"d"}, {"a"}, {}, "act");
        mb.node("MaxPool", {"a"}, {"p"}, pool_attrs, "pool");
        mb.node("QuantizeLinear", {"p", "ys", "yz"}, {"y"}).output("y");
        if (float_path) mb.output("a");
        return compile(mb);
    };
    const auto fused = build(false), unfused = build(true);
    const auto has_fused = [](const CompiledModel& m) {
        for (const std::string& label : m.step_labels())
            if (label.rfind("QLinearMaxPool", 0) == 0) return true;
        return false;
    };
    ASSERT_TRUE(has_fused(*fused)) << activation;
    ASSERT_FALSE(has_fused(*unfused)) << activation;
    std::mt19937 rng(9);
    std::vector<int8_t> x = random_codes<int8_t>(512, rng);
    for (int c = 0; c < 256; ++c) x[size_t(c)] = static_cast<int8_t>(c - 128);  // every code once
    const auto got = run_bytes(*fused, {to_bytes(x)})[0];
    const auto expect = run_bytes(*unfused, {to_bytes(x)})[0];
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got, expect) << activation;
}

TEST(QuantSimdPaths, ActivationThenMaxPoolRunsOnTheCodesWithTheFloatPathsBits) {
    const std::vector<onnx::Attribute> plain{attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})};
    const std::vector<onnx::Attribute> padded{attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                              attr_ints("pads", {1, 1, 1, 1}), attr_int("ceil_mode", 1)};
    for (const char* activation : {"HardSwish", "Relu", "Sigmoid"}) {
        check_activation_max_pool(activation, plain);
        check_activation_max_pool(activation, padded);
    }
}

// A QLinear<op> node with lookup_op written by hand: only a MaxPool after a tabulated activation; refused naming
// the node otherwise.
TEST(QuantSimdPaths, LookupBeforeACodeOpIsOnlyForMaxPool) {
    const auto model = [](const std::string& op, const std::string& lookup) {
        ModelBuilder mb(14);
        mb.input("x", DT::Int8, {1, 1, 4, 4}).initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0});
        std::vector<onnx::Attribute> attrs{attr_string("lookup_op", lookup)};
        if (op == "MaxPool") attrs.push_back(attr_ints("kernel_shape", {2, 2}));
        else attrs.push_back(attr_int("axis", 1));
        mb.node("QLinear" + op, {"x", "s", "z", "s", "z"}, {"y"}, attrs, "fused").output("y");
        return mb;
    };
    EXPECT_TRUE(throws_model_error([&] { compile(model("Flatten", "HardSwish")); },
                                   {"QLinearFlatten node 'fused'", "only for a MaxPool"}));
    EXPECT_TRUE(throws_model_error([&] { compile(model("MaxPool", "Softmax")); },
                                   {"QLinearMaxPool node 'fused'", "Softmax"}));
    EXPECT_NO_THROW(compile(model("MaxPool", "HardSwish")));
}

}  // namespace
}  // namespace ezemu::testing
